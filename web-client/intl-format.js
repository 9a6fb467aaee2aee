// What every page writes through Intl in the page's language: numbers,
// shares, units, lists, durations in words, plurals, language names and
// the viewer's zone. One cached formatter per (kind, locale, options): a
// language switch gets new ones, and repeats cost nothing. Dates stay with
// each page (pair-time.js, reflect-format.js, admin-ui.js): each page
// shows them its own way.

import { intlLocale, t } from './i18n.js';

const formats = new Map();

/** The Intl formatter `Kind` for the page's language and `options`. */
export function cachedIntl(Kind, options = {}) {
  const locale = intlLocale();
  const key = `${Kind.name}|${locale}|${JSON.stringify(options)}`;
  if (!formats.has(key)) formats.set(key, new Kind(locale, options));
  return formats.get(key);
}

/** A number as the language writes it ("1,234", "1.234", "١٬٢٣٤"). */
export function fmtNumber(n) {
  return cachedIntl(Intl.NumberFormat).format(n);
}

/** A share (0…1) as a percentage: "62%", "62 %", "٦٢٪"; `decimals` for small ones. */
export function fmtPercent(share, { decimals = 0 } = {}) {
  return cachedIntl(Intl.NumberFormat, { style: 'percent', maximumFractionDigits: decimals }).format(share);
}

/** An amount of an Intl unit ("12 min", "3 Std."). */
export function fmtUnit(n, unit, unitDisplay = 'short') {
  return cachedIntl(Intl.NumberFormat, { style: 'unit', unit, unitDisplay, maximumFractionDigits: 1 }).format(n);
}

/** Items joined the language's way: "A and B", "A y B", "AとB". */
export function fmtList(items) {
  return cachedIntl(Intl.ListFormat, { type: 'conjunction' }).format(items);
}

/**
 * Seconds in words, short: "40 sec", "45 min", "1 hr, 5 min" (to the
 * minute from a minute on); '—' when unknown. Intl.DurationFormat where
 * the browser has it, else Intl's units joined as a list.
 */
export function fmtDurationWords(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
  const s = Math.max(0, Math.round(Number(seconds)));
  const minutes = Math.round(s / 60);
  const hours = Math.floor(minutes / 60);
  // Only the units that say something: "1 hr", not "1 hr, 0 min".
  const parts = s < 60 ? { seconds: s } : { ...(hours && { hours }), ...((minutes % 60 || !hours) && { minutes: minutes % 60 }) };
  if (s > 0 && typeof Intl.DurationFormat === 'function') {
    return cachedIntl(Intl.DurationFormat, { style: 'short' }).format(parts);
  }
  return cachedIntl(Intl.ListFormat, { type: 'unit', style: 'short' })
    .format(Object.entries(parts).map(([unit, v]) => fmtUnit(v, unit.slice(0, -1))));
}

/**
 * A catalog sentence about a count: `${key}.one` when the language calls
 * `n` singular, else `${key}.other` (every catalog has both; a language
 * with more forms words its "other" to fit them all). `{count}` is `n`
 * as the language writes it.
 */
export function plural(key, n, vars = {}) {
  const form = cachedIntl(Intl.PluralRules).select(n) === 'one' ? 'one' : 'other';
  return t(`${key}.${form}`, { ...vars, count: fmtNumber(n) });
}

/** A language code's name in the page's language ("es" → "Spanish", "espagnol"). */
export function languageName(code) {
  try {
    return cachedIntl(Intl.DisplayNames, { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}

/** The browser's IANA zone ("Europe/Berlin"); UTC if it does not say. */
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
