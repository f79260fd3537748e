import { api, ApiError, resetCsrfToken } from '../../../lib/api-client.js';

/** The signed-in user, or null when nobody is (the API answers 401 or 403). */
export async function fetchMe() {
  try {
    return await api.get('/api/me/');
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null;
    throw error;
  }
}

export async function login({ username, password }) {
  // A fresh token for the login itself; Django rotates it again once signed in.
  resetCsrfToken();
  const user = await api.post('/api/auth/login/', { username, password });
  resetCsrfToken();
  return user;
}

export async function logout() {
  await api.post('/api/auth/logout/');
  resetCsrfToken();
}
