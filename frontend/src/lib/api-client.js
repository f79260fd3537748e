// The one API client: same-origin JSON requests with the Django session, the CSRF token on writes,
// and errors turned into messages a person can read. A FormData body (a file upload) is sent as
// multipart, as the browser encodes it. `options.headers` adds headers (an Idempotency-Key).

export class ApiError extends Error {
  constructor(message, { status, body } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

let csrfToken = null;
// Server time minus client time, from the Date header of the last answer: websocket catch-up asks
// the server for what changed `?since=` an instant on the server's clock, not the browser's.
let serverClockOffsetMs = 0;

export function serverNow() {
  return new Date(Date.now() + serverClockOffsetMs);
}

export function resetCsrfToken() {
  csrfToken = null;
}

/**
 * The session as the server sees it, `{csrf_token, user}` (user null when nobody is signed in), from
 * the one endpoint anonymous visitors may call: no failing request just to find out. The token is
 * kept for the writes that follow.
 */
export async function fetchSession() {
  const body = await request('/api/auth/csrf/');
  csrfToken = body.csrf_token;
  return body;
}

async function csrf() {
  if (csrfToken === null) await fetchSession();
  return csrfToken;
}

// DRF answers {"detail": "..."} or {"field": ["message", ...], ...}; join whichever came into one line.
export function errorMessage(body, status) {
  if (body && typeof body === 'object') {
    if (typeof body.detail === 'string') return body.detail;
    const messages = Object.entries(body).flatMap(([field, value]) => {
      const texts = Array.isArray(value) ? value.flat().map(String) : [String(value)];
      return field === 'non_field_errors' ? texts : texts.map((text) => `${field}: ${text}`);
    });
    if (messages.length) return messages.join(' ');
  }
  if (status === 401) return 'Your session has ended: please sign in again.';
  if (status >= 500) return `The server had a problem (status ${status}). Please try again in a moment.`;
  return `The server answered with status ${status}.`;
}

function queryString(params) {
  if (!params) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function apiUrl(path, params) {
  return `${path}${queryString(params)}`;
}

async function request(path, { method = 'GET', params, body, signal, headers: extraHeaders } = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders };
  const multipart = body instanceof FormData;
  if (method !== 'GET') {
    // Multipart: the browser writes the Content-Type itself, with the boundary it chose.
    if (!multipart) headers['Content-Type'] = 'application/json';
    headers['X-CSRFToken'] = await csrf();
  }
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined || multipart ? body : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError('Could not reach the MaintainX server. Check the connection and try again.', { status: 0 });
  }
  const date = response.headers.get('Date');
  // A copy the service worker kept from an earlier visit carries that visit's Date, not now's.
  if (date && !response.headers.get('X-MaintainX-Offline-Copy')) {
    // The header has whole seconds: the server's time was within the second after it, so take its middle.
    const serverMs = Date.parse(date) + 500;
    if (!Number.isNaN(serverMs)) serverClockOffsetMs = serverMs - Date.now();
  }
  if (response.status === 204) return null;
  let payload = null;
  const text = await response.text();
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      if (response.ok) throw new ApiError('The server sent an answer that is not JSON.', { status: response.status });
    }
  }
  if (!response.ok) {
    // A rejected CSRF token (rotated at login) is fetched again on the next write.
    if (response.status === 403 && /CSRF/i.test(payload?.detail ?? '')) resetCsrfToken();
    throw new ApiError(errorMessage(payload, response.status), { status: response.status, body: payload });
  }
  return payload;
}

export const api = {
  get: (path, params, options) => request(path, { ...options, params }),
  post: (path, body, options) => request(path, { ...options, method: 'POST', body }),
  patch: (path, body, options) => request(path, { ...options, method: 'PATCH', body }),
  put: (path, body, options) => request(path, { ...options, method: 'PUT', body }),
  // A DELETE may carry a JSON body: what to delete when it has no id of its own (a push endpoint).
  delete: (path, body, options) => request(path, { ...options, method: 'DELETE', body }),
};
