// How the reflection page writes dates, durations, counts and shares: all
// through Intl in the page's language (`intlLocale()`), so a switch of
// language rewrites them too. Positions on the player's timeline stay as
// "m:ss" digits (fmtClock in reflect-player.js): they are a clock, not words.

import { intlLocale, t } from './i18n.js';

const formats = new Map();

/** One cached Intl formatter per (kind, locale, options). */
function cached(Kind, options) {
  const locale = intlLocale();
  const key = `${Kind.name}|${locale}|${JSON.stringify(options)}`;
  if (!formats.has(key)) formats.set(key, new Kind(locale, options));
  return formats.get(key);
}

const WHEN = { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' };

/** An instant (RFC 3339 string or Date) as day and time in the viewer's zone; '' when unreadable. */
export function fmtWhen(at) {
  const d = at instanceof Date ? at : new Date(at);
  return Number.isNaN(d.getTime()) ? '' : cached(Intl.DateTimeFormat, WHEN).format(d);
}

/** The browser's IANA zone ("Europe/Berlin"); UTC if it does not say. */
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** The viewer's zone as the language names it ("Mitteleuropäische Zeit"), else its IANA name. */
export function fmtZone() {
  const zone = browserZone();
  try {
    const parts = cached(Intl.DateTimeFormat, { timeZone: zone, timeZoneName: 'longGeneric' }).formatToParts(new Date());
    return parts.find((p) => p.type === 'timeZoneName')?.value || zone;
  } catch {
    return zone.replace(/_/g, ' ');
  }
}

/** A whole number as the language writes it. */
export function fmtCount(n) {
  return cached(Intl.NumberFormat, {}).format(n);
}

/** A share (0…1) as a whole percentage: "62%", "62 %", "٦٢٪". */
export function fmtPercent(share) {
  return cached(Intl.NumberFormat, { style: 'percent', maximumFractionDigits: 0 }).format(share);
}

/** A playback speed (0.75, 1, 2) as "0.75×", "0,75×". */
export function fmtSpeed(rate) {
  return `${cached(Intl.NumberFormat, { maximumFractionDigits: 2 }).format(rate)}×`;
}

/** A signed step in seconds, for the skip buttons: "−10 sec", "+10 Sek.". */
export function fmtStep(seconds) {
  return cached(Intl.NumberFormat, { style: 'unit', unit: 'second', unitDisplay: 'short', signDisplay: 'exceptZero' })
    .format(seconds);
}

/**
 * Seconds in words, short: "40 sec", "45 min", "1 hr, 5 min" (to the
 * minute from a minute on); '—' when unknown. Intl.DurationFormat where
 * the browser has it, else Intl's units joined as a list.
 */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
  const s = Math.max(0, Math.round(Number(seconds)));
  const minutes = Math.round(s / 60);
  const hours = Math.floor(minutes / 60);
  // Only the units that say something: "1 hr", not "1 hr, 0 min".
  const parts = s < 60 ? { seconds: s } : { ...(hours && { hours }), ...((minutes % 60 || !hours) && { minutes: minutes % 60 }) };
  if (s > 0 && typeof Intl.DurationFormat === 'function') {
    return cached(Intl.DurationFormat, { style: 'short' }).format(parts);
  }
  return cached(Intl.ListFormat, { type: 'unit', style: 'short' }).format(Object.entries(parts).map(([unit, v]) =>
    cached(Intl.NumberFormat, { style: 'unit', unit: unit.slice(0, -1), unitDisplay: 'short' }).format(v)));
}

/** Items joined the language's way: "A and B", "A y B", "AとB". */
export function fmtList(items) {
  return cached(Intl.ListFormat, { type: 'conjunction' }).format(items);
}

/**
 * A catalog sentence about a count: `${key}.one` when the language calls
 * `n` singular, else `${key}.other` (every catalog has both; a language
 * with more forms words its "other" to fit them all). `{count}` is `n`
 * as the language writes it.
 */
export function plural(key, n, vars = {}) {
  const form = cached(Intl.PluralRules, {}).select(n) === 'one' ? 'one' : 'other';
  return t(`${key}.${form}`, { ...vars, count: fmtCount(n) });
}
