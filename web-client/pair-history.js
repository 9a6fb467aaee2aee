// History: every call of the pair, newest first, with what the server
// knows of it (how long both were in it, the talk-time balance, recording
// and transcript, how many notes you can read) and, for a recorded call, a
// link to its reflection page. What the server does not know shows as "—".

import { t } from './i18n.js';
import { fmtDayTime, fmtDuration, fmtNumber, fmtPercent } from './pair-time.js';
import { el } from './ui.js';

// "Recorded: yes, transcript ready": one sentence per transcript state.
const RECORDED = {
  off: 'pair/recorded-no-transcript',
  pending: 'pair/recorded-transcript-pending',
  running: 'pair/recorded-transcript-running',
  done: 'pair/recorded-transcript-done',
  failed: 'pair/recorded-transcript-failed',
};

/**
 * "Grace 55% · Alan 45%": each person's share of the talking, from the
 * call's `talk_s` (seconds each spoke); "—" before anyone joined.
 */
function talkTime(h, name) {
  const talk = h.call?.talk_s;
  if (!talk || typeof talk !== 'object') return '—';
  const a = Number(talk.mentor);
  const b = Number(talk.mentee);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return '—';
  if (a + b <= 0) return t('pair/talk-none');
  const pa = Math.round((a / (a + b)) * 100);
  return t('pair/talk-shares', {
    mentor: name('mentor'), mentorShare: fmtPercent(pa / 100), mentee: name('mentee'), menteeShare: fmtPercent((100 - pa) / 100),
  });
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
    fact(t('pair/history-length'), duration(h));
    fact(t('pair/history-talk'), talkTime(h, this.ctx.name));
    fact(t('pair/history-recorded'), rec ? t(RECORDED[rec.transcript] ?? RECORDED.off) : t('pair/recorded-no'));
    const notes = Number(h.notes);
    fact(t('pair/history-notes'), Number.isFinite(notes)
      ? t(notes === 1 ? 'pair/notes-count-one' : 'pair/notes-count', { count: fmtNumber(notes) })
      : '—');
    const li = el('li', { class: 'history-item', dataset: { testid: 'history-item', sessionId: h.session_id } },
      el('p', { class: 'history-when' },
        el('time', { datetime: h.starts_at }, h.starts_at ? fmtDayTime(new Date(h.starts_at)) : '—')),
      facts);
    if (rec?.id) {
      const href = `/reflect#${this.ctx.api.token}&recording=${encodeURIComponent(rec.id)}`;
      li.append(el('a', { class: 'reflect-link', href, 'data-testid': 'reflect-link', rel: 'noreferrer' },
        t('pair/reflect-link')));
    }
    return li;
  }
}
