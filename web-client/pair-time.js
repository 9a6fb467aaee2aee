// Times on the pair pages. The server keeps every instant in UTC; people
// read them in their own zone (the browser's) and, beside it, in the other
// person's (their profile's), so "Tue 8 Dec, 09:00 for you · 03:00 for
// Alan" needs no mental arithmetic. Every format is Intl's, in the page's
// language (`intlLocale()`: the chosen language, in the person's own region
// when the browser names one), so a switch of language changes them too.

import { intlLocale, t } from './i18n.js';

// Numbers, shares and durations are every page's (intl-format.js).
export { browserZone, fmtDurationWords as fmtDuration, fmtNumber, fmtPercent } from './intl-format.js';

const formats = new Map();

/**
 * One cached Intl.DateTimeFormat per (locale, options, zone); an unknown
 * zone falls back to the browser's. `locale` defaults to the page's.
 */
function format(options, zone, locale = intlLocale()) {
  const key = `${locale}|${JSON.stringify(options)}|${zone || ''}`;
  if (!formats.has(key)) {
    let f;
    try {
      f = new Intl.DateTimeFormat(locale, zone ? { ...options, timeZone: zone } : options);
    } catch {
      f = new Intl.DateTimeFormat(locale, options);
    }
    formats.set(key, f);
  }
  return formats.get(key);
}

const DAY = { weekday: 'short', day: 'numeric', month: 'short' };
const TIME = { hour: '2-digit', minute: '2-digit' };
const DAY_TIME = { ...DAY, ...TIME };

/** A Date from an RFC 3339 string or Unix milliseconds; null for neither. */
export function toDate(v) {
  if (v === null || v === undefined || v === '') return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "Tue 8 Dec" in `zone` (the browser's when none). */
export function fmtDay(d, zone) {
  return format(DAY, zone).format(d);
}

/** "09:00" in `zone`. */
export function fmtTime(d, zone) {
  return format(TIME, zone).format(d);
}

/** "Tue 8 Dec, 09:00" in `zone`: one Intl format, so each language orders it its own way. */
export function fmtDayTime(d, zone) {
  return format(DAY_TIME, zone).format(d);
}

/** "Tuesday" (the weekday of `d` in `zone`), for recurrences. */
export function fmtWeekday(d, zone) {
  return format({ weekday: 'long' }, zone).format(d);
}

/** The day of the month of `d` in `zone`, as the language writes the number ("8"). */
export function fmtMonthDay(d, zone) {
  const parts = format({ day: 'numeric' }, zone).formatToParts(d);
  return parts.find((p) => p.type === 'day')?.value ?? String(d.getDate());
}

/**
 * A zone's name in the page's language ("Central European Time",
 * "Mitteleuropäische Zeit", "中央ヨーロッパ時間"), as it is at `at`; the
 * IANA name ("America/New York") when Intl has none.
 */
export function fmtZone(zone, at = new Date()) {
  const iana = String(zone || '').replace(/_/g, ' ');
  try {
    const parts = format({ timeZoneName: 'longGeneric' }, zone).formatToParts(at);
    return parts.find((p) => p.type === 'timeZoneName')?.value || iana;
  } catch {
    return iana;
  }
}

/** The calendar day of `d` in `zone`, as "2026-12-08", for comparing days (locale-independent). */
export function dayKey(d, zone) {
  const parts = format({ year: 'numeric', month: '2-digit', day: '2-digit' }, zone, 'en-US').formatToParts(d);
  const get = (type) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/**
 * "Tue 8 Dec, 09:00 for you · 03:00 for Alan": the viewer's day and time,
 * then the other person's time (with their day when it is another one).
 * Without the other's zone, only the viewer's part.
 */
export function forBoth(at, otherName, otherZone) {
  const d = toDate(at);
  if (!d) return '—';
  const you = fmtDayTime(d);
  if (!otherZone) return t('pair/when-you', { you });
  const sameDay = dayKey(d) === dayKey(d, otherZone);
  const theirs = sameDay ? fmtTime(d, otherZone) : fmtDayTime(d, otherZone);
  return t('pair/when-both', { you, theirs, name: otherName });
}

/**
 * How a session repeats, in words, from its first coming date in the
 * viewer's zone: "Every week on Tuesday", "Every month on day 8"; "Once"
 * for none. The weekday and day come from Intl, the sentence from the
 * catalog, so each language places them itself.
 */
export function fmtRecurrence(recurrence, at) {
  const d = toDate(at);
  if (!recurrence) return t('pair/repeat-once');
  if (!d) return t(`pair/repeat-${recurrence}`);
  if (recurrence === 'monthly') return t('pair/repeat-monthly-on', { day: fmtMonthDay(d) });
  if (recurrence === 'weekly' || recurrence === 'fortnightly') {
    return t(`pair/repeat-${recurrence}-on`, { weekday: fmtWeekday(d) });
  }
  return recurrence;
}

const relatives = new Map();

/** "in 3 days", "in 25 minutes", "now", "5 minutes ago", in the page's language. */
export function fmtRelative(at, now = Date.now()) {
  const d = toDate(at);
  if (!d) return '';
  const locale = intlLocale();
  if (!relatives.has(locale)) relatives.set(locale, new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }));
  const relative = relatives.get(locale);
  const s = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 60) return relative.format(0, 'second');
  if (abs < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 86400 * 2) return relative.format(Math.round(s / 3600), 'hour');
  return relative.format(Math.round(s / 86400), 'day');
}

/** For a message or note: the time alone today, else day and time. */
export function fmtWhen(at) {
  const d = toDate(at);
  if (!d) return '';
  return dayKey(d) === dayKey(new Date()) ? fmtTime(d) : fmtDayTime(d);
}

const pad = (n) => String(n).padStart(2, '0');

/** A Date as an `<input type=datetime-local>` value, in the browser's zone. */
export function toLocalInput(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * An `<input type=datetime-local>` value (the browser's wall clock) as an
 * RFC 3339 UTC instant, or null. `new Date("2026-12-08T17:00")` reads a
 * date-time without an offset as local time, which is what was typed.
 */
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Today as an `<input type=date>` value, in the browser's zone. */
export function todayInput() {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** "2026-12-08" (a due date, a day in the owner's calendar) as "Tue 8 Dec". */
export function fmtDueDate(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || '');
  if (!m) return day || '';
  // Noon UTC of that day is that day in every zone but the very farthest.
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12));
  return fmtDay(d, 'UTC');
}
