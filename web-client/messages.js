// What people read when something stops them from joining. One place, so
// the pre-join check and a refused join say the same thing.

import { locale, t } from './i18n.js';

/** Codes after which joining again with this link cannot work. */
export const LINK_DEAD = new Set(['invalid_token', 'token_expired', 'session_ended']);

/** Codes that close the socket and that a retry cannot fix. */
export const FATAL = new Set([...LINK_DEAD, 'session_full', 'replaced']);

export function refusalText(code, { role } = {}) {
  switch (code) {
    case 'invalid_token':
    case 'token_expired':
    case 'session_ended':
    case 'replaced':
    case 'no_token':
    case 'unreachable':
      return t(`call/refusal.${code}`);
    case 'session_full':
      return role === 'mentor' || role === 'mentee'
        ? t(`call/refusal.session_full.${role}`)
        : t('call/refusal.session_full');
    default:
      return t('call/refusal.other');
  }
}

/** Why a camera or microphone does not work, for `call/{device}.{why}` keys. */
function why(status) {
  return ['denied', 'missing', 'busy'].includes(status) ? status : 'broken';
}

/** One sentence on camera/microphone trouble, or '' when both work. */
export function mediaProblemText(status, peerName) {
  const a = status.audio;
  const v = status.video;
  if (a === 'ok' && (v === 'ok' || v === 'pending')) return '';
  if (a === 'unsupported') return t('call/media.unsupported', { name: peerName });
  // Whole sentences per state: other languages inflect the adjective by
  // the device's gender and number, so words are never glued together.
  const fix = [a, v].includes('denied') ? ` ${t('call/media.fix-denied')}` : '';
  if (a !== 'ok' && v !== 'ok') {
    const both = why(a) === why(v)
      ? t(`call/both.${why(a)}`)
      : `${t(`call/camera.${why(v)}`)} ${t(`call/microphone.${why(a)}`)}`;
    return `${both}${fix} ${t('call/media.join-see-hear', { name: peerName })}`;
  }
  if (a !== 'ok') return `${t(`call/microphone.${why(a)}`)}${fix} ${t('call/media.join-video-only')}`;
  return `${t(`call/camera.${why(v)}`)}${fix} ${t('call/media.join-audio-only')}`;
}

/** Error codes the page has its own sentence for (`call/error.{code}`). */
const EXPLAINED = new Set([
  'invalid_field', 'rate_limited', 'busy', 'bad_sdp',
]);

/**
 * What to show for a server `error` (or `server_draining`) message. The
 * server writes its `message` in English, for API clients and logs, with
 * the detail of this case; an English page shows that. Other languages
 * get the page's own sentence for the code: a mix of two languages in one
 * sentence reads worse than a sentence with less detail.
 */
export function serverText(code, message) {
  if (locale() === 'en' && message) return message;
  return EXPLAINED.has(code) ? t(`call/error.${code}`) : t('call/refusal.other');
}
