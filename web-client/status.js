// `call-status`: one word for tests and styling (data-state) and one
// sentence for people, derived from the facts the session keeps. The
// element is a polite live region, so changes are announced; the text is
// only rewritten when it changes, so nothing is announced twice.

import { $ } from './ui.js';

const END_TEXT = {
  left: 'You left the call',
  ended: 'The session has ended',
  server_shutdown: 'The server shut down, so the call ended',
  expired: 'The session has expired',
  replaced: 'You joined from another tab',
  session_ended: 'The session has ended',
  token_expired: 'Your link has expired',
  invalid_token: 'Your link is no longer valid',
};

/**
 * f: {phase, joined, retrying, pcState, recovering, peer, peerGone, peerName,
 *     flowing, ended, errorText}
 * → {state, text}; state null before joining.
 */
export function describe(f) {
  const them = f.peer?.name || f.peerName || 'the other person';
  switch (f.phase) {
    // Short words here; error-message and the screens carry the explanation.
    case 'prejoin':
      return f.errorText ? { state: 'error', text: 'Could not join' } : { state: null, text: 'Ready to join' };
    case 'error':
      return { state: 'error', text: 'Not in the call' };
    case 'ended':
      return { state: 'ended', text: END_TEXT[f.ended] || END_TEXT.ended };
    case 'joining':
      return {
        state: 'connecting',
        text: f.retrying ? 'Cannot reach Duet — retrying…' : 'Joining…',
      };
    default:
      break;
  }
  if (!f.joined) return { state: 'reconnecting', text: 'Connection lost — reconnecting…' };
  if (f.recovering) return { state: 'reconnecting', text: 'Network trouble — reconnecting…' };
  if (!f.peer) {
    if (f.peerGone === 'disconnected') {
      return { state: 'waiting', text: `${them}'s connection dropped — waiting for them to come back` };
    }
    if (f.peerGone === 'left') return { state: 'waiting', text: `${them} left the call` };
    return { state: 'waiting', text: `Waiting for ${them} to join` };
  }
  if (f.pcState === 'connected' && f.flowing) return { state: 'connected', text: `In the call with ${them}` };
  return { state: 'connecting', text: `Connecting to ${them}…` };
}

let shown = { state: undefined, text: undefined };

export function renderStatus(facts) {
  const { state, text } = describe(facts);
  const el = $('call-status');
  if (state !== shown.state) {
    if (state) el.dataset.state = state;
    else delete el.dataset.state;
  }
  if (text !== shown.text) el.textContent = text;
  shown = { state, text };
  return state;
}
