// The pre-join screen: what the link leads to (POST /api/v1/join/preview,
// the token in the body, never in a URL), who you are and whom you meet,
// and your name. Also remembers, per browser tab, that you were in this
// call, so that a reload takes you straight back.

import { LINK_DEAD } from './messages.js';
import { t } from './i18n.js';
import { $ } from './ui.js';

/** → {ok: true, info} | {ok: false, code} where code is a LINK_DEAD code or "unreachable". */
export async function fetchPreview(token) {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const res = await fetch('/api/v1/join/preview', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
      });
      const body = await res.json().catch(() => null);
      if (res.ok && body?.you) return { ok: true, info: body };
      const code = body?.error?.code;
      if (LINK_DEAD.has(code)) return { ok: false, code };
      // A malformed body (400) means the token itself is unusable.
      if (res.status === 400) return { ok: false, code: 'invalid_token' };
    } catch {
      // Network trouble: try again shortly.
    }
    await new Promise((r) => setTimeout(r, 600 * (attempt + 1)));
  }
  return { ok: false, code: 'unreachable' };
}

function strong(text) {
  const b = document.createElement('strong');
  b.textContent = text;
  return b;
}

/**
 * A translated sentence with the `{name}` in bold: the sentence is split
 * around the field, so each language puts the name where its grammar wants.
 */
function withName(sentence, name) {
  const [before, after = ''] = sentence.split('{name}');
  return [before, strong(name), after];
}

export function renderPreview(info) {
  const you = info.you;
  const peer = info.peer;
  $('joining-as').replaceChildren(...withName(t(`call/joining-as.${you.role}`), you.name));
  $('meeting-with').replaceChildren(...withName(t(`call/meeting-with.${peer.role}`), peer.name));
  const input = $('name-input');
  if (!input.value) input.value = savedName(info) || you.name;
}

function key(info, what) {
  return info ? `duet.${what}.${info.session.id}.${info.you.role}` : '';
}

function sessionGet(k) {
  try {
    return k ? sessionStorage.getItem(k) : null;
  } catch {
    return null;
  }
}

function sessionSet(k, v) {
  try {
    if (!k) return;
    if (v === null) sessionStorage.removeItem(k);
    else sessionStorage.setItem(k, v);
  } catch {
    // Storage off: a reload just shows the pre-join screen.
  }
}

export const savedName = (info) => sessionGet(key(info, 'name'));
export const saveName = (info, name) => sessionSet(key(info, 'name'), name);
export const wasInCall = (info) => sessionGet(key(info, 'incall')) === '1';
export const markInCall = (info, yes) => sessionSet(key(info, 'incall'), yes ? '1' : null);

/**
 * After a reload in the middle of a call, join again on our own after a
 * short moment. Joining right away is also possible (the join button
 * stays), and any other interaction with the screen cancels it.
 */
export function autoRejoin(join, delayMs = 1500) {
  const note = $('rejoin-note');
  note.hidden = false;
  note.textContent = t('call/auto-rejoin');
  const timer = setTimeout(() => {
    cancel();
    join();
  }, delayMs);
  const screen = $('prejoin');
  function cancel() {
    clearTimeout(timer);
    note.hidden = true;
    screen.removeEventListener('pointerdown', onInteract, true);
    screen.removeEventListener('keydown', onInteract, true);
  }
  function onInteract(e) {
    if (e.target !== $('join-button')) cancel();
  }
  screen.addEventListener('pointerdown', onInteract, true);
  screen.addEventListener('keydown', onInteract, true);
  return cancel;
}
