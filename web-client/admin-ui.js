// DOM helpers and formatting for the admin console. Every value from the
// server (titles, names, details) goes in as text, never as HTML.

import { el } from './ui.js';

export { $, confirmAction, copyFrom, el } from './ui.js';

/** A Date from an RFC 3339 string or Unix milliseconds; null for neither. */
export function toDate(v) {
  if (v === null || v === undefined || v === '') return null;
  const d = typeof v === 'number' ? new Date(v) : new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeSec = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/** A short notice at the corner of the screen; a new one replaces the last. */
export function toast(text) {
  const box = document.getElementById('toasts');
  const note = el('div', { class: 'toast' }, el('span', {}, text));
  box.replaceChildren(note);
  setTimeout(() => note.remove(), 4000);
}

/** "23 Nov 2026, 07:40" in the viewer's locale and time zone; "—" for none. */
export function fmtDateTime(v, { seconds = false } = {}) {
  const d = toDate(v);
  if (!d) return '—';
  return (seconds ? dateTimeSec : dateTime).format(d);
}

/** Only the time for today, else date and time. */
export function fmtWhen(v) {
  const d = toDate(v);
  if (!d) return '—';
  return d.toDateString() === new Date().toDateString() ? timeOnly.format(d) : dateTime.format(d);
}

/** A `<time>` element showing `v`, with the exact UTC value in its tooltip. */
export function timeEl(v, opts) {
  const d = toDate(v);
  if (!d) return el('span', { class: 'muted' }, '—');
  return el('time', { datetime: d.toISOString(), title: d.toISOString() }, fmtDateTime(d, opts));
}

/** Seconds as "45 s", "12:05" or "1:02:09". */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** How long ago, roughly: "just now", "12 min", "3 h 5 min", "2 days". */
export function fmtSince(v, now = Date.now()) {
  const d = toDate(v);
  if (!d) return '';
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} days`;
}

/** Bytes as "812 KB", "1.4 GB". */
export function fmtBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return '—';
  let v = Number(n);
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** The first 8 characters of an id, the whole id in the tooltip. */
export function shortId(id) {
  return el('code', { class: 'short-id', title: id ?? '' }, id ? String(id).slice(0, 8) : '—');
}

export const ROLE_LABEL = { mentor: 'Mentor', mentee: 'Mentee' };

/** A small rounded label; `state` goes to `data-state` for its colour. */
export function pill(text, state, attrs = {}) {
  return el('span', { class: 'pill', dataset: { state: state ?? '' }, ...attrs }, text);
}

/** Replaces a table body's rows; shows `empty` (an element) when there are none. */
export function fillTable(tbody, rows, empty, emptyText) {
  tbody.replaceChildren(...rows);
  if (empty) {
    if (emptyText) empty.textContent = emptyText;
    empty.hidden = rows.length > 0;
  }
}

/** A table cell with the column name for the phone layout (`data-label`). */
export function td(label, ...children) {
  return el('td', { dataset: { label } }, ...children);
}

/**
 * Runs `fn` now and then every `ms` after each run finishes, skipping runs
 * while the tab is hidden. Returns a function that stops it.
 */
export function poll(fn, ms) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    timer = null;
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
      } catch {
        // `fn` reports its own errors; keep polling.
      }
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  const onVisible = () => {
    if (!document.hidden && timer !== null) {
      clearTimeout(timer);
      run();
    }
  };
  document.addEventListener('visibilitychange', onVisible);
  run();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}

/** The console-wide error line; empty text hides it. */
export function showError(text) {
  const banner = document.getElementById('console-error');
  banner.textContent = text || '';
  banner.hidden = !text;
}

/** Shows an error message from a failed call: the server's own words. */
export function reportError(err, what) {
  if (err?.status === 401) return; // the login screen says it
  showError(what ? `${what}: ${err.message}` : err.message);
}

/** A `<input type="date">` value as RFC 3339 (UTC, whole seconds) at the start or end of that local day. */
export function dayBoundary(value, end = false) {
  if (!value) return '';
  const [y, m, d] = value.split('-').map(Number);
  const date = end ? new Date(y, m - 1, d, 23, 59, 59) : new Date(y, m - 1, d, 0, 0, 0);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
