// Small DOM helpers shared by the pages' modules. Everything that shows
// user-supplied text (names, chat, notes) goes through textContent, never
// HTML.

import { t } from './i18n.js';

export const $ = (id) => document.getElementById(id);

/**
 * Builds an element: `el('td', { class: 'x', dataset: { id } }, 'text', child)`.
 * Attributes with `null`/`undefined`/`false` values are left out; strings
 * become text nodes, never HTML.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** Which screen is showing: "prejoin", "call" or "ended". */
export function showView(view) {
  document.body.dataset.view = view;
  for (const id of ['prejoin', 'call', 'ended']) $(id).hidden = id !== view;
}

/** The page-wide error line (role="alert"); empty text hides it. */
export function setError(text) {
  const el = $('error-message');
  el.textContent = text || '';
  el.hidden = !text;
}

export function setTitle(title) {
  $('session-title').textContent = title || '';
  document.title = title ? `${title} · Duet` : 'Duet';
}

/** Initials for a placeholder avatar ("Grace Hopper" → "GH"). */
export function initials(name) {
  const parts = String(name || '').trim().split(/\s+/).filter(Boolean);
  const letters = parts.slice(0, 2).map((p) => [...p][0] || '');
  return letters.join('').toUpperCase();
}

/** Sets aria-pressed and swaps the tooltip to match the state. */
export function setPressed(button, pressed, titles) {
  button.setAttribute('aria-pressed', String(Boolean(pressed)));
  if (titles) button.title = pressed ? titles[1] : titles[0];
}

/**
 * A short, non-blocking notice (the toasts container is a polite live
 * region, so screen readers read it too). An optional action button.
 */
export function toast(text, { action, onAction, timeout = 6000 } = {}) {
  const box = document.createElement('div');
  box.className = 'toast';
  const span = document.createElement('span');
  span.textContent = text;
  box.append(span);
  const close = () => box.remove();
  if (action) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = action;
    b.addEventListener('click', () => { close(); onAction?.(); });
    box.append(b);
  }
  $('toasts').append(box);
  // Keep the pile short on a small screen.
  const all = $('toasts').children;
  while (all.length > 3) all[0].remove();
  if (timeout) setTimeout(close, timeout);
  return close;
}

/** Plays a media element, reporting (not throwing) an autoplay refusal. */
export async function play(video) {
  try {
    await video.play();
    return true;
  } catch (e) {
    return e?.name !== 'NotAllowedError';
  }
}

/**
 * Asks before something that cannot be undone. Resolves true when the
 * person clicks the confirm button, false on Cancel or Escape.
 */
export function confirmAction({ title, text, confirm }) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-heading').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  const yes = document.getElementById('confirm-yes');
  const no = document.getElementById('confirm-no');
  yes.textContent = confirm;
  return new Promise((resolve) => {
    const done = (answer) => {
      yes.removeEventListener('click', onYes);
      no.removeEventListener('click', onNo);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onYes = () => done(true);
    const onNo = () => done(false);
    const onClose = () => done(false);
    yes.addEventListener('click', onYes);
    no.addEventListener('click', onNo);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    no.focus();
  });
}

/**
 * Copies an input's text; the button says `copied` (a catalog key) for a
 * moment, or `failed` when the browser would not copy, then its own label
 * again, in the language of that moment when it is a marked one.
 */
export async function copyFrom(input, button, { copied = 'call/copied', failed = 'call/select-and-copy' } = {}) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(input.value);
    ok = true;
  } catch {
    input.focus();
    input.select();
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
  }
  if (button) {
    const label = button.dataset.label ?? button.textContent;
    button.dataset.label = label;
    button.textContent = t(ok ? copied : failed);
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(() => {
      button.textContent = button.dataset.i18n ? t(button.dataset.i18n) : label;
    }, 2000);
  }
  return ok;
}

/**
 * Re-renders a list in place without losing the keyboard's place: the
 * focused control (found again by its item's `data-id` and its own
 * `data-control`) gets the focus back after `render()` replaced the items.
 */
export function keepFocus(container, render) {
  const active = document.activeElement;
  const item = active && container.contains(active) ? active.closest('[data-id]') : null;
  const control = active?.dataset?.control;
  render();
  if (!item || !control) return;
  const again = container.querySelector(`[data-id="${CSS.escape(item.dataset.id)}"] [data-control="${CSS.escape(control)}"]`);
  (again && !again.disabled ? again : container).focus?.({ preventScroll: true });
}

/**
 * Says `text` to screen readers (the page's polite live region), without
 * showing anything: who joined or left, what the other person turned on
 * or off. Visible changes that already speak for themselves (toasts, the
 * call status, chat) need not come here.
 */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region) return;
  // Cleared first, so the same sentence twice is read twice.
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 50);
}
