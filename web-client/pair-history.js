// History: every call of the pair, newest first, with what the server
// knows of it (length, talk-time balance, recording and transcript, how
// many notes you can read) and, for a recorded call, a link to its
// reflection page. Numbers the server does not give (yet) show as "—".

import { fmtDayTime, fmtDuration } from './pair-time.js';
import { el } from './ui.js';

const TRANSCRIPT = {
  off: 'no transcript',
  pending: 'transcript queued',
  running: 'transcript in progress',
  done: 'transcript ready',
  failed: 'transcript failed',
};

/** "Grace 55 % · Alan 45 %" from whatever shape of talk time the server gives. */
function talkTime(h, name) {
  const t = h.talk_time;
  if (!t || typeof t !== 'object') return '—';
  const secs = (r) => Number(t[r] ?? t[`${r}_s`] ?? t[r]?.seconds ?? NaN);
  const a = secs('mentor');
  const b = secs('mentee');
  if (!Number.isFinite(a) || !Number.isFinite(b) || a + b <= 0) return '—';
  const pa = Math.round((a / (a + b)) * 100);
  return `${name('mentor')} ${pa} % · ${name('mentee')} ${100 - pa} %`;
}

function duration(h) {
  if (Number.isFinite(Number(h.duration_s)) && h.duration_s !== null) return fmtDuration(h.duration_s);
  if (h.ended_at && h.started_at) return fmtDuration((new Date(h.ended_at) - new Date(h.started_at)) / 1000);
  return '—';
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
