// The pair pages' one way to the server: fetches to /api/v1/pairs/{id}/…
// carrying a token as `Authorization: Bearer` (the person's personal
// token on the pair home, the call's join token in the call's side panel).
// The token never goes into a URL, so it cannot reach a log or a Referer.
//
// Error sentences people read are in the page's language where the code
// says all there is to say; a refusal whose server sentence carries detail
// (which field is wrong and why) keeps the server's own words.

import { t } from './i18n.js';

/** Codes whose meaning the page says in its own words, whatever the server wrote. */
const OWN_WORDS = {
  unreachable: 'pair/api-unreachable',
  busy: 'pair/api-busy',
  internal: 'pair/api-internal',
  pair_ended: 'pair/api-pair-ended',
  cancelled: 'pair/api-cancelled',
  nothing_scheduled: 'pair/api-nothing-scheduled',
  too_many: 'pair/api-too-many',
  forbidden: 'pair/api-forbidden',
};

/** An error answer: HTTP `status`, the body's `code` and `message`. */
export class PairApiError extends Error {
  constructor(status, code, message) {
    const own = OWN_WORDS[code];
    super(own ? t(own) : (message || t('pair/api-status', { status })));
    this.status = status;
    this.code = code || '';
  }
}

/** The server's sentence, starting with a capital and ending with a stop. */
function sentence(message) {
  const s = String(message || '').trim();
  if (!s) return '';
  const first = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

export class PairApi {
  constructor(token, pairId = null) {
    this.token = token;
    this.pairId = pairId;
  }

  /** `/api/v1/pairs/{id}` + `rest`. */
  path(rest = '') {
    return `/api/v1/pairs/${encodeURIComponent(this.pairId)}${rest}`;
  }

  async fetch(method, url, body, accept = 'application/json') {
    const headers = { accept, authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new PairApiError(0, 'unreachable');
    }
    if (res.ok) return res;
    let err = {};
    try {
      err = (await res.json())?.error ?? {};
    } catch {
      // Not JSON (a proxy's page, say): the status says enough.
    }
    throw new PairApiError(res.status, err.code, sentence(err.message));
  }

  /** Calls the API; the parsed JSON body (null for an empty one), or throws a PairApiError. */
  async call(method, url, body) {
    const res = await this.fetch(method, url, body);
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  get(rest) {
    return this.call('GET', this.path(rest));
  }

  post(rest, body = {}) {
    return this.call('POST', this.path(rest), body);
  }

  patch(rest, body) {
    return this.call('PATCH', this.path(rest), body);
  }

  put(rest, body) {
    return this.call('PUT', this.path(rest), body);
  }

  del(rest) {
    return this.call('DELETE', this.path(rest));
  }

  /** The pairs this token opens (a personal token: its own one). */
  listPairs() {
    return this.call('GET', '/api/v1/pairs');
  }

  /**
   * Downloads `rest` (a calendar file, an export) and saves it as a file:
   * the bearer header rules out a plain link, so the answer goes through a
   * Blob URL. The server's file name wins over `fallbackName`.
   */
  async download(rest, fallbackName) {
    const res = await this.fetch('GET', this.path(rest), undefined, '*/*');
    const blob = await res.blob();
    const disposition = res.headers.get('content-disposition') || '';
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || fallbackName;
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    // Long enough for the browser to start saving it.
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
    return name;
  }
}
