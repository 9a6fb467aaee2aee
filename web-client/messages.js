// What people read when something stops them from joining. One place, so
// the pre-join check and a refused join say the same thing.

/** Codes after which joining again with this link cannot work. */
export const LINK_DEAD = new Set(['invalid_token', 'token_expired', 'session_ended']);

/** Codes that close the socket and that a retry cannot fix. */
export const FATAL = new Set([...LINK_DEAD, 'session_full', 'replaced']);

export function refusalText(code, { role } = {}) {
  switch (code) {
    case 'invalid_token':
      return 'This link is not valid. It may be incomplete or changed — '
        + 'open the exact link you were sent, or ask for a new one.';
    case 'token_expired':
      return 'This link has expired. Ask whoever set up the session for a new link.';
    case 'session_ended':
      return 'This session has ended, so its link no longer works.';
    case 'session_full':
      return `Someone else is already in this session${role ? ` as the ${role}` : ''}. `
        + 'If that is you in another window or device, leave there first, then try again.';
    case 'replaced':
      return 'You joined from another tab or device, so this tab left the call.';
    case 'no_token':
      return 'This page needs the join link you were sent. Open that link exactly as it is.';
    case 'unreachable':
      return 'Cannot reach the server right now. Check your connection; you can still try to join.';
    default:
      return 'Something went wrong. Please try again in a moment.';
  }
}

/** One sentence on camera/microphone trouble, or '' when both work. */
export function mediaProblemText(status, peerName) {
  const a = status.audio;
  const v = status.video;
  if (a === 'ok' && (v === 'ok' || v === 'pending')) return '';
  if (a === 'unsupported') {
    return 'This browser cannot use a camera or microphone on this page (it needs a secure https connection). '
      + `You can still join to see and hear ${peerName}.`;
  }
  const why = (s) => ({
    denied: 'blocked',
    missing: 'not found',
    busy: 'in use by another app',
  }[s] || 'not working');
  const fix = [a, v].includes('denied')
    ? ' To allow access, use the camera icon in the address bar, then reload.'
    : '';
  if (a !== 'ok' && v !== 'ok') {
    const both = why(a) === why(v) ? `Camera and microphone ${why(a)}.` : `Camera ${why(v)}, microphone ${why(a)}.`;
    return `${both}${fix} You can still join to see and hear ${peerName}.`;
  }
  if (a !== 'ok') return `Microphone ${why(a)}.${fix} You can join with video only.`;
  return `Camera ${why(v)}.${fix} You can join with audio only.`;
}
