// The reflection page's way to the server: every call carries the person's
// token (join token or personal token) as `Authorization: Bearer`, never in
// a URL.

import { t } from './i18n.js';

/**
 * An error answer: HTTP `status`, the body's `code` and `message` (the
 * server's words; ours, in the page's language, when it sent none).
 */
export class ReflectApiError extends Error {
  constructor(status, code, message) {
    super(message || t('reflect/server-answered', { status }));
    this.status = status;
    this.code = code || '';
  }
}

export class ReflectApi {
  constructor(token) {
    this.token = token;
  }

  async fetch(method, url, accept = 'application/json', body = undefined) {
    let res;
    const headers = { accept, authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new ReflectApiError(0, 'unreachable', t('reflect/unreachable'));
    }
    if (res.ok) return res;
    let err = {};
    try {
      err = (await res.json())?.error ?? {};
    } catch {
      // Not JSON: the status says enough.
    }
    throw new ReflectApiError(res.status, err.code, err.message);
  }

  async json(method, url, body) {
    const res = await this.fetch(method, url, 'application/json', body);
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  /** Everything the page shows of one recording (the newest without an id). */
  reflect(recordingId) {
    const q = recordingId ? `?recording=${encodeURIComponent(recordingId)}` : '';
    return this.json('GET', `/api/v1/reflect${q}`);
  }

  transcript(url) {
    return this.json('GET', url);
  }

  /** A file's body as a Blob (transcript downloads, the captions). */
  async blob(url, accept) {
    return (await this.fetch('GET', url, accept)).blob();
  }

  /** A bookmark or a note at `at_s` on the recording's clock. */
  addMoment(recordingId, moment) {
    return this.json('POST', `/api/v1/recordings/${encodeURIComponent(recordingId)}/moments`, moment);
  }

  changeMoment(id, change) {
    return this.json('PATCH', `/api/v1/moments/${encodeURIComponent(id)}`, change);
  }

  deleteMoment(id) {
    return this.json('DELETE', `/api/v1/moments/${encodeURIComponent(id)}`);
  }

  deleteMedia(id) {
    return this.json('DELETE', `/api/v1/recordings/${encodeURIComponent(id)}/media`);
  }

  deleteAll(id) {
    return this.json('DELETE', `/api/v1/recordings/${encodeURIComponent(id)}`);
  }
}
