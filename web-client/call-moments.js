// "Mark this moment" in the call: a button (and Alt+M) that asks the
// server to place a bookmark now — on the recording's clock while the
// call is recorded, on the call's own clock otherwise — then offers to
// label it and share it with the other person. The server reads the
// clock, so both people's marks line up with the recording whatever
// their computers' clocks say.

import { t } from './i18n.js';
import { $, el, toast } from './ui.js';

/** m:ss or h:mm:ss. */
export function fmtAt(s) {
  const t = Math.max(0, Math.floor(Number(s) || 0));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export class MomentMarker {
  /** token: the join token; info: the join preview (session id, the other person). */
  constructor({ token, info, onMarked }) {
    this.token = token;
    this.session = info.session.id;
    this.onMarked = onMarked;
    this.current = null;
    this.button = $('mark-moment');
    this.box = $('moment-box');
    this.button.hidden = false;
    $('moment-shared-label').textContent = t('share-with', { name: info.peer.name });
    this.button.addEventListener('click', () => this.mark());
    document.addEventListener('keydown', (e) => {
      if (document.body.dataset.view !== 'call') return;
      // Alt+M by its key position: on a Mac, Option+M types "µ".
      if (e.altKey && !e.ctrlKey && !e.metaKey && e.code === 'KeyM') {
        e.preventDefault();
        this.mark();
      } else if (e.key === 'Escape' && !this.box.hidden) {
        this.close();
      }
    });
    this.box.addEventListener('submit', (e) => {
      e.preventDefault();
      this.save();
    });
    $('moment-close').addEventListener('click', () => this.close());
  }

  async request(method, path, body) {
    const resp = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const err = new Error(json?.error?.message || `HTTP ${resp.status}`);
      err.status = resp.status;
      err.code = json?.error?.code;
      throw err;
    }
    return json;
  }

  async mark() {
    if (this.busy) return;
    this.busy = true;
    this.button.disabled = true;
    try {
      // Marked at once, with no label: the moment is when they pressed.
      const m = await this.request('POST', `/api/v1/sessions/${encodeURIComponent(this.session)}/moments`, {});
      this.current = m;
      $('moment-said').textContent = t(`call/moment-marked.${m.clock === 'recording' ? 'recording' : 'call'}`, { at: fmtAt(m.at_s) });
      $('moment-label').value = '';
      $('moment-shared').checked = false;
      this.box.hidden = false;
      this.box.dataset.clock = m.clock;
      $('moment-label').focus({ preventScroll: true });
      this.onMarked?.(m);
    } catch (err) {
      toast(t('call/moment-mark-failed', { error: err.message }));
    } finally {
      this.busy = false;
      this.button.disabled = false;
    }
  }

  async save() {
    const m = this.current;
    if (!m) return this.close();
    const text = $('moment-label').value.trim();
    const visibility = $('moment-shared').checked ? 'shared' : 'private';
    try {
      if (text !== m.text || visibility !== m.visibility) {
        this.current = await this.request('PATCH', `/api/v1/moments/${encodeURIComponent(m.id)}`, { text, visibility });
        this.onMarked?.(this.current);
      }
      this.close();
      toast(text ? t('call/moment-saved-as', { text }) : t('call/moment-saved'));
    } catch (err) {
      $('moment-said').textContent = t('call/moment-save-failed', { error: err.message });
    }
  }

  close() {
    this.box.hidden = true;
    this.current = null;
    this.button.focus({ preventScroll: true });
  }
}

/** One moment as the in-call notes list it. */
export function momentItem(m, names) {
  return el('li', {
    class: 'moment-item',
    'data-testid': 'moment-item',
    dataset: { visibility: m.visibility, clock: m.clock },
  },
  el('span', { class: 'moment-at' }, t(`call/moment-at.${m.clock === 'recording' ? 'recording' : 'call'}`, { at: fmtAt(m.at_s) })),
  el('span', {}, m.text || t('call/bookmark')),
  el('span', { class: 'moment-who' }, t(`call/moment-who.${m.visibility === 'shared' ? 'shared' : 'private'}`, { name: names(m.author) })));
}
