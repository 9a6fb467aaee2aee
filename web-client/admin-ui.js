// DOM helpers and formatting for the admin console. Every value from the
// server (titles, names, details) goes in as text, never as HTML. Dates,
// durations, sizes and numbers are formatted with `Intl` in the page's
// language (`intlLocale()`), so they follow the language-select.

import { onLanguageChange, t } from './i18n.js';
import {
  cachedIntl, fmtNumber, fmtPercent as fmtShare, fmtUnit,
} from './intl-format.js';
import { el } from './ui.js';

export { $, confirmAction, el } from './ui.js';
export { fmtList, fmtNumber } from './intl-format.js';

/** A Date from an RFC 3339 string or Unix milliseconds; null for neither. */
export function toDate(v) {
  if (v === null || v === undefined || v === '') return null;
  const d = typeof v === 'number' ? new Date(v) : new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

// Formatters are made per locale on first use (intl-format.js): the
// language can change while the page is open.
const dateTime = () => cachedIntl(Intl.DateTimeFormat, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeSec = () => cachedIntl(Intl.DateTimeFormat, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = () => cachedIntl(Intl.DateTimeFormat, { timeStyle: 'short' });

/** A fraction as a percentage: 0.034 → "3.4%" ("3,4 %" in French). */
export function fmtPercent(x) {
  return fmtShare(x, { decimals: x < 0.1 ? 1 : 0 });
}

/** Milliseconds: 42 → "42 ms". */
export function fmtMillis(ms) {
  return fmtUnit(Math.round(ms), 'millisecond');
}

// Text that a script wrote and must follow the language-select: the
// element and a function that says it again. Setting plain text through
// `setText` forgets the function.
const spoken = new Map();

/**
 * Sets an element's text from `say()` now and again after each language
 * change (for messages that stay up: errors, "Signed in as …").
 */
export function setText(node, say) {
  if (typeof say === 'function') {
    spoken.set(node, say);
    node.textContent = say();
  } else {
    spoken.delete(node);
    node.textContent = say ?? '';
  }
}
onLanguageChange(() => {
  for (const [node, say] of spoken) {
    if (node.isConnected) node.textContent = say();
    else spoken.delete(node); // a row or card drawn over since
  }
});

/** A role in the page's language ("Mentor", "Mentorado"); the API's value if unknown. */
export function roleLabel(role) {
  return role === 'mentor' || role === 'mentee' ? t(`admin/role.${role}`) : role;
}

/**
 * The same as `roleLabel`, as a lookup (`ROLE_LABEL[role]`): read at each
 * use, so it is always in the language of the moment.
 */
export const ROLE_LABEL = Object.freeze({
  get mentor() { return t('admin/role.mentor'); },
  get mentee() { return t('admin/role.mentee'); },
});

/** A short notice at the corner of the screen; a new one replaces the last. */
export function toast(text) {
  const box = document.getElementById('toasts');
  const note = el('div', { class: 'toast' }, el('span', {}, text));
  box.replaceChildren(note);
  setTimeout(() => note.remove(), 4000);
}

/** "23 Nov 2026, 07:40" in the page's language and the viewer's time zone; "—" for none. */
export function fmtDateTime(v, { seconds = false } = {}) {
  const d = toDate(v);
  if (!d) return '—';
  return (seconds ? dateTimeSec() : dateTime()).format(d);
}

/** Only the time for today, else date and time. */
export function fmtWhen(v) {
  const d = toDate(v);
  if (!d) return '—';
  return d.toDateString() === new Date().toDateString() ? timeOnly().format(d) : dateTime().format(d);
}

/** A `<time>` element showing `v`, with the exact UTC value in its tooltip. */
export function timeEl(v, opts) {
  const d = toDate(v);
  if (!d) return el('span', { class: 'muted' }, '—');
  return el('time', { datetime: d.toISOString(), title: d.toISOString() }, fmtDateTime(d, opts));
}

/** Seconds as "45 s", "12:05" or "1:02:09" (a clock reads the same in every language). */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return t('admin/duration.seconds', { n: fmtNumber(s) });
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** How long ago, roughly: "just now", "12 min", "3 hr 5 min", "2 days", in the page's language. */
export function fmtSince(v, now = Date.now()) {
  const d = toDate(v);
  if (!d) return '';
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 45) return t('admin/since.just-now');
  const m = Math.round(s / 60);
  if (m < 60) return fmtUnit(m, 'minute');
  const h = Math.floor(m / 60);
  if (h < 48) {
    const parts = [fmtUnit(h, 'hour')];
    if (m % 60) parts.push(fmtUnit(m % 60, 'minute'));
    return cachedIntl(Intl.ListFormat, { type: 'unit', style: 'narrow' }).format(parts);
  }
  return fmtUnit(Math.floor(h / 24), 'day', 'long');
}

/** Bytes as "812 kB", "1.4 GB" (decimal units, as the language writes them). */
export function fmtBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return '—';
  let v = Number(n);
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  // One decimal below 10 ("1.4 GB"), none above ("812 kB").
  const rounded = i === 0 ? v : Number(v.toFixed(v < 10 ? 1 : 0));
  return fmtUnit(rounded, units[i]);
}

/** The first 8 characters of an id, the whole id in the tooltip. */
export function shortId(id) {
  return el('code', { class: 'short-id', title: id ?? '' }, id ? String(id).slice(0, 8) : '—');
}

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

/** The console-wide error line; empty text hides it. `text` may be a function (see `setText`). */
export function showError(text) {
  const banner = document.getElementById('console-error');
  setText(banner, text || '');
  banner.hidden = !text;
}

/**
 * Shows an error message from a failed call: what failed (in the page's
 * language), then why (ours when the API's code is known, else the
 * server's own words); both follow a change of language.
 */
export function reportError(err, what) {
  if (err?.status === 401) return; // the login screen says it
  const why = () => (err.say ? err.say() : err.message);
  // `what` may be a function too, to follow a change of language.
  const failed = typeof what === 'function' ? what : () => what;
  showError(() => (failed() ? t('admin/error.context', { what: failed(), message: why() }) : why()));
}

/** A `<input type="date">` value as RFC 3339 (UTC, whole seconds) at the start or end of that local day. */
export function dayBoundary(value, end = false) {
  if (!value) return '';
  const [y, m, d] = value.split('-').map(Number);
  const date = end ? new Date(y, m - 1, d, 23, 59, 59) : new Date(y, m - 1, d, 0, 0, 0);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
