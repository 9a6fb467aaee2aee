// How the reflection page writes dates, durations, counts and shares: all
// through Intl in the page's language (`intlLocale()`), so a switch of
// language rewrites them too. Positions on the player's timeline stay as
// "m:ss" digits (fmtClock in reflect-player.js): they are a clock, not words.

import { browserZone, cachedIntl } from './intl-format.js';
import { fmtZone as zoneName } from './pair-time.js';

// Numbers, shares, lists, durations and plurals are every page's.
export {
  browserZone, fmtDurationWords as fmtDuration, fmtList, fmtNumber as fmtCount, fmtPercent, plural,
} from './intl-format.js';

const WHEN = { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' };

/** An instant (RFC 3339 string or Date) as day and time in the viewer's zone; '' when unreadable. */
export function fmtWhen(at) {
  const d = at instanceof Date ? at : new Date(at);
  return Number.isNaN(d.getTime()) ? '' : cachedIntl(Intl.DateTimeFormat, WHEN).format(d);
}

/** The viewer's zone as the language names it ("Mitteleuropäische Zeit"), else its IANA name. */
export function fmtZone() {
  return zoneName(browserZone());
}

/** A playback speed (0.75, 1, 2) as "0.75×", "0,75×". */
export function fmtSpeed(rate) {
  return `${cachedIntl(Intl.NumberFormat, { maximumFractionDigits: 2 }).format(rate)}×`;
}

/** A signed step in seconds, for the skip buttons: "−10 sec", "+10 Sek.". */
export function fmtStep(seconds) {
  return cachedIntl(Intl.NumberFormat, { style: 'unit', unit: 'second', unitDisplay: 'short', signDisplay: 'exceptZero' })
    .format(seconds);
}
