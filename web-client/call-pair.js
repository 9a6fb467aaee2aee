// The call's side panel, for a pair's calls only (the join preview names
// the pair): the pair's agenda, tickable, and this call's notes, private or
// shared. It reaches the pair API with the call's own join token, which
// the server accepts for the agenda and for this call's notes — nothing
// else of the pair — so a forwarded join link opens no more than the call.
//
// The panel takes the chat's place beside the stage (one of the two at a
// time); on a phone both are overlays on the stage, so the call's layout
// never changes under the people in it.

import { t } from './i18n.js';
import { AgendaList } from './pair-agenda.js';
import { PairApi } from './pair-api.js';
import { momentItem } from './call-moments.js';
import { noteItem, wireNoteTools } from './pair-notes.js';
import { $ } from './ui.js';

const POLL_MS = 15_000;
const NARROW = window.matchMedia('(max-width: 899px)');

export class CallPairPanel {
  /** info: the join preview (`pair.id`, `you`, `peer`); controls: from wireControls. */
  constructor({ token, info, controls }) {
    this.api = new PairApi(token, info.pair.id);
    this.token = token;
    this.info = info;
    this.controls = controls;
    this.panel = $('pair-panel');
    this.toggle = $('notes-toggle');
    this.timer = null;
    this.chatWasOpen = false;
    this.loaded = false;
    this.agenda = new AgendaList({
      api: this.api,
      list: $('call-agenda'),
      empty: $('call-agenda-empty'),
      form: $('call-agenda-form'),
      input: $('agenda-input'),
      // Their own items say "added by you" in the page's language.
      you: () => info.you.role,
      names: (role) => (role === info.peer.role ? info.peer.name : role),
      editable: () => true,
      onError: (err, what) => this.error(t('pair/problem', { what, message: err.message })),
    });
    $('note-shared-label').textContent = t('share-with', { name: info.peer.name });
    $('note-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.saveNote();
    });
    $('note-input').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.isComposing) {
        e.preventDefault();
        this.saveNote();
      }
    });
    wireNoteTools($('call-notes'), this.api, () => this.loadNotes(), (err, what) => this.error(`${what}: ${err.message}`));

    this.toggle.hidden = false;
    // Came here from the pair home in this tab: the way back after the call.
    try {
      $('pair-home-link').hidden = !sessionStorage.getItem('duet.pair.token');
    } catch {
      // No storage: no way back but the personal link itself.
    }
    this.toggle.addEventListener('click', () => this.setOpen(this.panel.hidden, true));
    $('pair-panel-close').addEventListener('click', () => {
      this.setOpen(false);
      this.toggle.focus();
    });
    controls.panels.onChatOpen = () => {
      if (!this.panel.hidden) this.setOpen(false, false, { keepChat: true });
    };
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !this.panel.hidden && NARROW.matches && document.body.dataset.view === 'call') {
        this.setOpen(false);
        this.toggle.focus();
      }
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && !this.panel.hidden) this.load();
    });
  }

  setOpen(open, focus = false, { keepChat = false } = {}) {
    if (open === !this.panel.hidden) return;
    this.panel.hidden = !open;
    this.toggle.setAttribute('aria-expanded', String(open));
    clearInterval(this.timer);
    this.timer = null;
    if (open) {
      this.chatWasOpen = this.controls.chatOpen();
      if (this.chatWasOpen) this.controls.setChat(false);
      this.load();
      this.timer = setInterval(() => !document.hidden && this.load(), POLL_MS);
      if (focus) $('note-input').focus({ preventScroll: true });
    } else if (!keepChat && this.chatWasOpen && !NARROW.matches) {
      // On a wide screen the chat comes back where it was.
      this.controls.setChat(true);
    }
  }

  async load() {
    try {
      await Promise.all([this.agenda.load(), this.loadNotes(), this.loadMoments()]);
      this.error('');
    } catch (err) {
      this.error(err.status === 401
        ? t('call/pair-link-gone')
        : t('call/pair-load-failed', { error: err.message }));
    }
  }

  async loadNotes() {
    const body = await this.api.get('/notes');
    const who = { you: this.info.you.role, name: (role) => (role === this.info.peer.role ? this.info.peer.name : t('you')) };
    const notes = (body?.notes ?? []).slice().sort((a, b) => b.created_at_ms - a.created_at_ms);
    $('call-notes').replaceChildren(...notes.map((n) => noteItem(n, who, true)));
  }

  /** This call's marked moments the person may read (theirs and shared ones). */
  async loadMoments() {
    const resp = await fetch(`/api/v1/sessions/${encodeURIComponent(this.info.session.id)}/moments`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    const { moments = [] } = await resp.json();
    const names = (role) => (role === this.info.peer.role ? this.info.peer.name : t('you'));
    $('call-moments').replaceChildren(...moments.map((m) => momentItem(m, names)));
    $('call-moments-empty').hidden = moments.length > 0;
  }

  async saveNote() {
    const input = $('note-input');
    const text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    const button = $('note-save');
    button.disabled = true;
    try {
      await this.api.post('/notes', { text, visibility: $('note-shared').checked ? 'shared' : 'private' });
      input.value = '';
      await this.loadNotes();
      this.error('');
    } catch (err) {
      this.error(t('call/note-save-failed', { error: err.message }));
    } finally {
      button.disabled = false;
      input.focus();
    }
  }

  error(text) {
    $('note-error').textContent = text || '';
    $('note-error').hidden = !text;
  }
}
