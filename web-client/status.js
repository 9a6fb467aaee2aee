// `call-status`: one word for tests and styling (data-state) and one
// sentence for people, derived from the facts the session keeps. The
// element is a polite live region, so changes are announced; the text is
// only rewritten when it changes, so nothing is announced twice.

import { t } from './i18n.js';
import { $ } from './ui.js';

// The catalog key of each way a call ends (i18n/en.js: `end.*`).
const END_KEYS = new Set(['left', 'ended', 'server_shutdown', 'expired', 'replaced', 'token_expired', 'invalid_token']);

const endText = (why) => t(`end.${END_KEYS.has(why) ? why : 'ended'}`);

/**
 * f: {phase, joined, retrying, pcState, recovering, peer, peerGone, peerName,
 *     flowing, ended, errorText}
 * → {state, text}; state null before joining.
 */
export function describe(f) {
  const name = f.peer?.name || f.peerName || t('status.the-other');
  switch (f.phase) {
    // Short words here; error-message and the screens carry the explanation.
    case 'prejoin':
      return f.errorText ? { state: 'error', text: t('status.could-not-join') } : { state: null, text: t('status.ready') };
    case 'error':
      return { state: 'error', text: t('status.not-in-call') };
    case 'ended':
      return { state: 'ended', text: endText(f.ended) };
    case 'joining':
      return {
        state: 'connecting',
        text: f.retrying ? t('status.retrying') : t('status.joining'),
      };
    default:
      break;
  }
  if (!f.joined) return { state: 'reconnecting', text: t('status.lost') };
  if (f.recovering) return { state: 'reconnecting', text: t('status.recovering') };
  if (!f.peer) {
    if (f.peerGone === 'disconnected') return { state: 'waiting', text: t('status.peer-dropped', { name }) };
    if (f.peerGone === 'left') return { state: 'waiting', text: t('status.peer-left', { name }) };
    return { state: 'waiting', text: t('status.waiting', { name }) };
  }
  if (f.pcState === 'connected' && f.flowing) return { state: 'connected', text: t('status.in-call', { name }) };
  return { state: 'connecting', text: t('status.connecting', { name }) };
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
