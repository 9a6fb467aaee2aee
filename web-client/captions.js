// Live captions in the call (docs/protocol.md, "Live captions"): turn them
// on or off for yourself, answer when the other person asks to caption
// you, and show what each captioned person says under their video.
//
// The server decides everything (who is captioned, when it stops); this
// module sends `captions` actions and renders the `captions` status and
// `caption` lines it receives. Final lines also go to a live region, so a
// screen reader reads what was said.

import { t } from './i18n.js';
import { $, toast } from './ui.js';

// A line stays this long after its last update.
const LINE_MS = 8000;
// Lines kept on screen per speaker.
const LINES = 2;
const LARGE_KEY = 'duet.captions.large';
const TRANSLATE_KEY = 'duet.captions.translate';

export class Captions {
  constructor({ send, myRole, peerName }) {
    this.send = send;
    this.myRole = myRole;
    this.peerName = peerName;
    this.status = null;
    this.translation = false;
    this.active = false;
    this.lines = new Map(); // `${role}:${line}` → element

    $('captions-toggle').addEventListener('click', () => this.toggle());
    $('captions-accept').addEventListener('click', () => this.act('accept'));
    $('captions-decline').addEventListener('click', () => this.act('decline'));
    const large = $('captions-large');
    large.checked = read(LARGE_KEY) === '1';
    document.body.classList.toggle('captions-large', large.checked);
    large.addEventListener('change', () => {
      document.body.classList.toggle('captions-large', large.checked);
      write(LARGE_KEY, large.checked ? '1' : '');
    });
    const translate = $('captions-translate');
    translate.checked = read(TRANSLATE_KEY) === '1';
    translate.addEventListener('change', () => {
      write(TRANSLATE_KEY, translate.checked ? '1' : '');
      if (this.mine()?.on) this.act('on');
    });
  }

  mine() {
    const role = this.myRole();
    return role && this.status ? this.status[role] : null;
  }

  theirs() {
    const role = this.myRole();
    if (!role || !this.status) return null;
    return this.status[role === 'mentor' ? 'mentee' : 'mentor'];
  }

  toggle() {
    const on = !this.mine()?.on;
    this.act(on ? 'on' : 'off');
    if (on) toast(t('cap.on-toast', { name: this.peerName() || t('status.the-other') }));
  }

  act(action) {
    const msg = { type: 'captions', action };
    if (action === 'on') msg.translate = this.translation && $('captions-translate').checked;
    if (!this.send(msg)) toast(t('not-connected'));
  }

  /** A `captions` status from the server. */
  update(msg) {
    this.status = { mentor: msg.mentor, mentee: msg.mentee };
    this.translation = Boolean(msg.translation);
    // Lines of someone no longer captioned go at once.
    for (const role of ['mentor', 'mentee']) {
      const reading = this.status[this.myRole()]?.on;
      if (!reading || !this.status[role]?.agreed) this.clear(role);
    }
    this.render();
  }

  /** A `caption` line from the server. */
  caption(msg) {
    const key = `${msg.role}:${msg.line}`;
    let line = this.lines.get(key);
    if (!line) {
      line = document.createElement('p');
      line.className = 'caption-line';
      line.dataset.testid = 'caption-line';
      line.dataset.role = msg.role;
      line.dataset.line = String(msg.line);
      const name = document.createElement('span');
      name.className = 'caption-name';
      const text = document.createElement('span');
      text.className = 'caption-text';
      line.append(name, text);
      const box = $(msg.role === this.myRole() ? 'captions-self' : 'captions-remote');
      box.append(line);
      this.lines.set(key, line);
      // Only the newest lines of this speaker stay.
      const mine = [...box.querySelectorAll('.caption-line')];
      for (const old of mine.slice(0, Math.max(0, mine.length - LINES))) this.drop(old);
    }
    line.querySelector('.caption-name').textContent = msg.name || '';
    line.querySelector('.caption-text').textContent = msg.text;
    line.dataset.final = msg.final ? 'true' : 'false';
    line.lang = msg.translated ? 'en' : '';
    clearTimeout(line.timer);
    line.timer = setTimeout(() => this.drop(line), LINE_MS);
    if (msg.final && msg.text) $('captions-live').textContent = `${msg.name}: ${msg.text}`;
  }

  drop(line) {
    clearTimeout(line.timer);
    this.lines.delete(`${line.dataset.role}:${line.dataset.line}`);
    line.remove();
  }

  clear(role) {
    for (const line of [...this.lines.values()]) if (!role || line.dataset.role === role) this.drop(line);
  }

  /** In a call (each `joined`: the server's status, if any, follows) or not. */
  setActive(active) {
    this.active = active;
    this.status = null;
    this.clear();
    this.render();
  }

  refused(message) {
    toast(message ? t('cap.refused', { message }) : t('cap.unavailable'));
  }

  render() {
    const mine = this.mine();
    const toggle = $('captions-toggle');
    toggle.hidden = !this.active;
    toggle.setAttribute('aria-pressed', mine?.on ? 'true' : 'false');
    toggle.querySelector('.label').textContent = mine?.on ? t('captions.label-on') : t('captions.label');
    $('captions-translate-row').hidden = !this.translation;
    const ask = $('captions-ask');
    const asked = Boolean(this.active && mine?.asked);
    ask.hidden = !asked;
    if (asked) {
      $('captions-ask-text').textContent = t('cap.ask-text', { name: this.peerName() || t('the-other-person') });
    }
    const theirs = this.theirs();
    const waiting = $('captions-waiting');
    waiting.hidden = !(this.active && mine?.on && theirs && theirs.asked);
    waiting.textContent = t('cap.waiting', { name: this.peerName() || t('status.the-other') });
  }
}

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    // No storage: the choice lasts as long as the page.
  }
}
