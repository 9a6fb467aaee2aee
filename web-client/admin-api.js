// The admin console's one way to the server: same-origin fetches that carry
// the `duet_admin` cookie, the CSRF token on every call that changes
// something, and one place that notices a lost login (401).

let csrfToken = null;
let authLost = () => {};

/** An error answer from the API: `status`, and the body's `code` and `message`. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || `the server answered ${status}`);
    this.status = status;
    this.code = code || '';
    this.field = field || null;
  }
}

/** Keeps the token from login or `/me`; `null` forgets it. */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** `fn()` runs when any call (but login's own) answers 401. */
export function onAuthLost(fn) {
  authLost = fn;
}

/**
 * Calls the API; resolves to the parsed JSON body (null for an empty one).
 * Rejects with an `ApiError` for any answer but 2xx, and with a plain
 * `Error` when the server cannot be reached. `{ login: true }` is for the
 * login call itself, whose 401 means "wrong password", not "signed out".
 */
export async function api(method, path, body, { login = false, retried = false } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new Error('Could not reach the server. Check your connection and try again.');
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (res.ok) return json;
  const err = json?.error ?? {};
  let message = err.message
    ? err.message.charAt(0).toUpperCase() + err.message.slice(1)
    : `The server answered ${res.status}.`;
  if (res.status === 429 && !err.message) message = 'Too many attempts. Wait a few minutes and try again.';
  // A token from before a sign-in in another tab: fetch the current one
  // and try once more.
  if (res.status === 403 && err.code === 'csrf_failed' && !retried && !login) {
    const me = await api('GET', '/api/v1/admin/me').catch(() => null);
    if (me?.csrf_token) {
      setCsrfToken(me.csrf_token);
      return api(method, path, body, { retried: true });
    }
  }
  const error = new ApiError(res.status, err.code, message, err.field);
  if (res.status === 401 && !login) authLost(error);
  throw error;
}

/** The query string for `params`, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
