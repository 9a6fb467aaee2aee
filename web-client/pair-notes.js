// Notes: each person's, written during a call (the call's side panel) or
// after it (the pair home). A private note is its author's alone; a shared
// one the other person reads too. The server only ever returns one's own
// notes and the other's shared ones; this module shows what it gets, says
// which is which, and lets the author share, unshare or delete their own.

import { linkedText } from './linkify.js';
import { t } from './i18n.js';
import { fmtWhen } from './pair-time.js';
import { el } from './ui.js';

/**
 * One `note-item`. who: {you: role, name(role)}; own notes get buttons
 * (`data-control` = `share` | `delete`) when `editable`.
 */
export function noteItem(note, who, editable) {
  const mine = note.author === who.you;
  const shared = note.visibility === 'shared';
  const author = mine ? t('pair/you') : who.name(note.author);
  const visibility = shared
    ? (mine ? t('pair/note-shared-with', { name: who.name(other(who.you)) }) : t('pair/note-shared-with-you'))
    : t('pair/note-private');
  const head = el('p', { class: 'note-meta' },
    el('span', { class: 'note-author' }, author),
    el('span', { class: `note-visibility ${shared ? 'shared' : 'private'}` }, visibility),
    el('time', { datetime: new Date(note.created_at_ms).toISOString() }, fmtWhen(note.created_at_ms)));
  const li = el('li', {
    class: 'note', dataset: { testid: 'note-item', id: note.id, visibility: note.visibility, author: note.author },
  }, head, Object.assign(linkedText(note.text, 'note-text'), { dir: 'auto' }));
  if (mine && editable) {
    li.append(el('span', { class: 'item-tools' },
      el('button', { type: 'button', class: 'text-btn', 'data-control': 'share' }, t(shared ? 'pair/note-make-private' : 'pair/note-share')),
      el('button', { type: 'button', class: 'text-btn', 'data-control': 'delete' }, t('pair/delete'))));
  }
  return li;
}

export const other = (role) => (role === 'mentor' ? 'mentee' : 'mentor');

/**
 * Share/unshare and delete on a list of `noteItem`s; `reload()` after each.
 * For the call's panel and the pair home alike.
 */
export function wireNoteTools(list, api, reload, onError) {
  list.addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-control]');
    if (!button) return;
    const li = button.closest('[data-id]');
    const id = encodeURIComponent(li.dataset.id);
    // A note may be long and there is no undo: a delete takes a second press.
    if (button.dataset.control === 'delete' && !button.dataset.armed) {
      button.dataset.armed = 'true';
      button.textContent = t('pair/note-delete-again');
      setTimeout(() => {
        delete button.dataset.armed;
        button.textContent = t('pair/delete');
      }, 4000);
      return;
    }
    button.disabled = true;
    try {
      if (button.dataset.control === 'delete') await api.del(`/notes/${id}`);
      if (button.dataset.control === 'share') {
        await api.patch(`/notes/${id}`, { visibility: li.dataset.visibility === 'shared' ? 'private' : 'shared' });
      }
    } catch (err) {
      onError(err, t('pair/error-change-note'));
    }
    await reload().catch((err) => onError(err, t('pair/error-load-notes')));
  });
}

/** The pair home's notes: those of the last call, and adding to them. */
export class HomeNotes {
  constructor(ctx, { list, empty, when, form, input, shared, sharedLabel }) {
    Object.assign(this, { ctx, list, empty, when, form, input, shared, sharedLabel });
    this.sessionId = null;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.add();
    });
    wireNoteTools(list, ctx.api, () => this.load(), ctx.problem);
  }

  /** The last call of the history (newest first), or none. */
  async load() {
    const last = this.ctx.pair.history?.[0] ?? null;
    this.sessionId = last?.session_id ?? null;
    this.form.hidden = !this.sessionId || this.ctx.readOnly;
    this.last = last;
    this.labelForm();
    if (!this.sessionId) {
      this.key = null;
      this.when.textContent = '';
      this.list.replaceChildren();
      this.empty.hidden = false;
      return;
    }
    const body = await this.ctx.api.get(`/notes?session=${encodeURIComponent(this.sessionId)}`);
    const notes = body?.notes ?? [];
    const key = JSON.stringify([notes, this.ctx.readOnly]);
    if (key === this.key && this.list.children.length === notes.length) return;
    this.key = key;
    this.notes = notes;
    this.renderList();
  }

  /** The words around the list: which call, and whom "share" shares with. */
  labelForm() {
    this.sharedLabel.textContent = t('pair/note-share-with', { name: this.ctx.name(other(this.ctx.you)) });
    this.when.textContent = this.last ? t('pair/notes-when', { date: fmtWhen(this.last.starts_at) }) : '';
  }

  renderList() {
    const notes = this.notes ?? [];
    const who = { you: this.ctx.you, name: this.ctx.name };
    this.list.replaceChildren(...notes.map((n) => noteItem(n, who, !this.ctx.readOnly)));
    this.empty.hidden = notes.length > 0;
  }

  /** After a language switch: the same notes, in the new words. */
  relabel() {
    if (!this.ctx.pair) return;
    this.labelForm();
    if (this.sessionId) this.renderList();
  }

  async add() {
    const text = this.input.value.trim();
    if (!text || !this.sessionId) return;
    const button = this.form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await this.ctx.api.post('/notes', {
        text,
        visibility: this.shared.checked ? 'shared' : 'private',
        session_id: this.sessionId,
      });
      this.input.value = '';
      await this.load();
    } catch (err) {
      this.ctx.problem(err, t('pair/error-save-note'));
    } finally {
      button.disabled = false;
    }
  }
}
