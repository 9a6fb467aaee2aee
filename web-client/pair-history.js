// History: every call of the pair, newest first, with what the server
// knows of it (how long both were in it, the talk-time balance, recording
// and transcript, how many notes you can read) and, for a recorded call, a
// link to its reflection page. What the server does not know shows as "—".

import { fmtDayTime, fmtDuration } from './pair-time.js';
import { el } from './ui.js';

const TRANSCRIPT = {
  off: 'no transcript',
  pending: 'transcript queued',
  running: 'transcript in progress',
  done: 'transcript ready',
  failed: 'transcript failed',
};

/**
 * "Grace 55 % · Alan 45 %": each person's share of the talking, from the
 * call's `talk_s` (seconds each spoke); "—" before anyone joined.
 */
function talkTime(h, name) {
  const t = h.call?.talk_s;
  if (!t || typeof t !== 'object') return '—';
  const a = Number(t.mentor);
  const b = Number(t.mentee);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return '—';
  if (a + b <= 0) return 'no speech measured';
  const pa = Math.round((a / (a + b)) * 100);
  return `${name('mentor')} ${pa} % · ${name('mentee')} ${100 - pa} %`;
}

/** How long both were in the call; "—" before anyone joined. */
function duration(h) {
  const s = h.call?.duration_s;
  return s === null || s === undefined ? '—' : fmtDuration(s);
}

export class PastCalls {
  constructor(ctx, { list, empty }) {
    Object.assign(this, { ctx, list, empty });
  }

  render() {
    const calls = this.ctx.pair.history ?? [];
    const key = JSON.stringify(calls);
    if (key === this.key) return;
    this.key = key;
    this.list.replaceChildren(...calls.map((h) => this.row(h)));
    this.empty.hidden = calls.length > 0;
  }

  row(h) {
    const rec = h.recording;
    const facts = el('dl', { class: 'facts-inline' });
    const fact = (k, v) => facts.append(el('div', {}, el('dt', {}, k), el('dd', {}, v)));
    fact('Length', duration(h));
    fact('Talk time', talkTime(h, this.ctx.name));
    fact('Recorded', rec ? `yes, ${TRANSCRIPT[rec.transcript] ?? 'no transcript'}` : 'no');
    const notes = Number(h.notes);
    fact('Notes', Number.isFinite(notes) ? (notes === 1 ? '1 note' : `${notes} notes`) : '—');
    const li = el('li', { class: 'history-item', dataset: { testid: 'history-item', sessionId: h.session_id } },
      el('p', { class: 'history-when' },
        el('time', { datetime: h.starts_at }, h.starts_at ? fmtDayTime(new Date(h.starts_at)) : '—')),
      facts);
    if (rec?.id) {
      const href = `/reflect#${this.ctx.api.token}&recording=${encodeURIComponent(rec.id)}`;
      li.append(el('a', { class: 'reflect-link', href, 'data-testid': 'reflect-link', rel: 'noreferrer' },
        'Watch and reflect'));
    }
    return li;
  }
}
