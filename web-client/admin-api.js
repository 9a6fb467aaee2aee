// The admin console's one way to the server: same-origin fetches that carry
// the `duet_admin` cookie, the CSRF token on every call that changes
// something, and one place that notices a lost login (401). The errors it
// makes are in the page's language: its own, and those of the server whose
// code it knows; other server messages are shown in the server's words.

import { t } from './i18n.js';
import { fmtUnit } from './intl-format.js';

let csrfToken = null;
let authLost = () => {};

/** An error answer from the API: `status`, and the body's `code` and `message`. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || t('admin/error.status', { status }));
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
    throw said(new Error(t('admin/error.unreachable')), () => t('admin/error.unreachable'));
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
  const message = errorText(res.status, err);
  // A token from before a sign-in in another tab: fetch the current one
  // and try once more.
  if (res.status === 403 && err.code === 'csrf_failed' && !retried && !login) {
    const me = await api('GET', '/api/v1/admin/me').catch(() => null);
    if (me?.csrf_token) {
      setCsrfToken(me.csrf_token);
      return api(method, path, body, { retried: true });
    }
  }
  const error = said(new ApiError(res.status, err.code, message, err.field), () => errorText(res.status, err));
  if (res.status === 401 && !login) authLost(error);
  throw error;
}

// `error.say()` gives the message again in the language of the moment, for
// an error that stays on screen while the person switches language.
function said(error, say) {
  error.say = say;
  return error;
}

/**
 * What to tell the person about an error answer: our words for the codes
 * that mean the same whatever was asked (a wrong login, a lockout, a busy
 * or failing server), the server's own (capitalized) for the rest, which
 * name the field or the thing at fault.
 */
function errorText(status, { code, message } = {}) {
  if (code === 'invalid_credentials') return t('admin/error.wrong-login');
  if (code === 'too_many_attempts') {
    // The server says how long: "… try again in 40 seconds" / "in 12 minutes".
    const wait = /(\d+) (second|minute)/.exec(message ?? '');
    if (!wait) return t('admin/error.too-many');
    return t('admin/error.locked', { wait: fmtUnit(Number(wait[1]), wait[2], 'long') });
  }
  if (code === 'busy') return t('admin/error.busy');
  if (code === 'internal') return t('admin/error.internal');
  if (message) return message.charAt(0).toUpperCase() + message.slice(1);
  if (status === 429) return t('admin/error.too-many');
  return t('admin/error.status', { status });
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
