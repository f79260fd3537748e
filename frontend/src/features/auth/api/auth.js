import { api, fetchSession, resetCsrfToken } from '../../../lib/api-client.js';

/**
 * The signed-in user, or null when nobody is. Asked of the CSRF endpoint, which answers anonymous
 * visitors too: /api/me/ would answer them 401, which the browser logs as an error on the login page.
 */
export async function fetchMe() {
  const session = await fetchSession();
  return session.user ?? null;
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
