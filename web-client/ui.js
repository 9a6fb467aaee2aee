// Small DOM helpers shared by the page's modules. Everything that shows
// user-supplied text (names, chat) goes through textContent, never HTML.

export const $ = (id) => document.getElementById(id);

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
