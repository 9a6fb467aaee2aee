// Times on the pair pages. The server keeps every instant in UTC; people
// read them in their own zone (the browser's) and, beside it, in the other
// person's (their profile's), so "Tue 8 Dec, 09:00 for you · 03:00 for
// Alan" needs no mental arithmetic. Formats follow the browser's locale.

/** The browser's IANA zone ("Europe/Berlin"); UTC if it does not say. */
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const formats = new Map();

/** One cached Intl.DateTimeFormat per (options, zone); an unknown zone falls back to the browser's. */
function format(options, zone) {
  const key = `${JSON.stringify(options)}|${zone || ''}`;
  if (!formats.has(key)) {
    let f;
    try {
      f = new Intl.DateTimeFormat(undefined, zone ? { ...options, timeZone: zone } : options);
    } catch {
      f = new Intl.DateTimeFormat(undefined, options);
    }
    formats.set(key, f);
  }
  return formats.get(key);
}

const DAY = { weekday: 'short', day: 'numeric', month: 'short' };
const TIME = { hour: '2-digit', minute: '2-digit' };

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

/** "Tue 8 Dec, 09:00" in `zone`. */
export function fmtDayTime(d, zone) {
  return `${fmtDay(d, zone)}, ${fmtTime(d, zone)}`;
}

/** The calendar day of `d` in `zone`, as "2026-12-08", for comparing days. */
export function dayKey(d, zone) {
  const parts = format({ year: 'numeric', month: '2-digit', day: '2-digit' }, zone).formatToParts(d);
  const get = (t) => parts.find((p) => p.type === t)?.value ?? '';
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
  const you = `${fmtDayTime(d)} for you`;
  if (!otherZone) return you;
  const sameDay = dayKey(d) === dayKey(d, otherZone);
  const theirs = sameDay ? fmtTime(d, otherZone) : fmtDayTime(d, otherZone);
  return `${you} · ${theirs} for ${otherName}`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "in 3 days", "in 25 minutes", "now", "5 minutes ago". */
export function fmtRelative(at, now = Date.now()) {
  const d = toDate(at);
  if (!d) return '';
  const s = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 60) return relative.format(0, 'second');
  if (abs < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 86400 * 2) return relative.format(Math.round(s / 3600), 'hour');
  return relative.format(Math.round(s / 86400), 'day');
}

/** Seconds as "40 s", "45 min" or "1 h 5 min"; "—" when unknown. */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m / 60} h`;
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
