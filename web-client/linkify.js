// Text written by people (chat, pair messages) with its web links made
// clickable, built from text nodes and <a> elements only: never HTML, and
// only http(s) URLs become links (no javascript:, data: or the like).

const URL_RE = /(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]])/g;

/** A `<p class=className>` holding `text`, its http(s) links as `<a>`s. */
export function linkedText(text, className) {
  const p = document.createElement('p');
  if (className) p.className = className;
  let last = 0;
  for (const m of String(text).matchAll(URL_RE)) {
    let url;
    try {
      url = new URL(m[0]);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    p.append(text.slice(last, m.index));
    const a = document.createElement('a');
    a.href = url.href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = m[0];
    p.append(a);
    last = m.index + m[0].length;
  }
  p.append(text.slice(last));
  return p;
}
