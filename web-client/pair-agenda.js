// The agenda for the next session: a shared, ordered list of topics that
// either person adds to, reorders and ticks. The same list is on the pair
// home and in the call's side panel (with the call's join token there), so
// it takes its elements and its API from whoever uses it.

import { t } from './i18n.js';
import { el, keepFocus } from './ui.js';

export class AgendaList {
  /**
   * api: a PairApi; list, empty: the `<ol>` and its "nothing yet" line;
   * form, input: adding; names(role) → a person's name; you() → the
   * viewer's role (their items say "added by you"), optional; editable() →
   * may change it now; onError(err, what).
   */
  constructor({ api, list, empty, form, input, names, you = () => null, editable, onError }) {
    Object.assign(this, { api, list, empty, form, input, names, you, editable, onError });
    this.items = [];
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.add();
    });
    list.addEventListener('change', (e) => {
      const box = e.target.closest('[data-control="done"]');
      if (box) this.change(box, { done: box.checked }, t('pair/error-tick-topic'));
    });
    list.addEventListener('click', (e) => {
      const button = e.target.closest('button[data-control]');
      if (!button) return;
      const index = this.items.findIndex((i) => i.id === button.closest('[data-id]').dataset.id);
      if (button.dataset.control === 'up') this.change(button, { position: index - 1 }, t('pair/error-move-topic'));
      if (button.dataset.control === 'down') this.change(button, { position: index + 1 }, t('pair/error-move-topic'));
      if (button.dataset.control === 'delete') this.remove(button);
    });
  }

  async load() {
    const body = await this.api.get('/agenda');
    this.render(body?.items ?? []);
  }

  render(items) {
    this.items = items;
    const canEdit = this.editable();
    keepFocus(this.list, () => {
      this.list.replaceChildren(...items.map((item, i) => this.row(item, i, items.length, canEdit)));
    });
    this.empty.hidden = items.length > 0;
  }

  row(item, index, count, canEdit) {
    const done = item.done_at_ms !== null && item.done_at_ms !== undefined;
    const box = el('input', {
      type: 'checkbox', 'data-control': 'done', 'data-testid': 'agenda-done', disabled: !canEdit,
    });
    box.checked = done;
    const meta = [this.by('pair/agenda-added-by', item.added_by)];
    if (done && item.done_by) meta.push(this.by('pair/agenda-ticked-by', item.done_by));
    const tools = canEdit ? el('span', { class: 'item-tools' },
      el('button', {
        type: 'button', class: 'icon-btn small', 'data-control': 'up', 'data-testid': 'agenda-up',
        'aria-label': t('pair/move-up-item', { text: item.text }), title: t('pair/move-up'), disabled: index === 0,
      }, '↑'),
      el('button', {
        type: 'button', class: 'icon-btn small', 'data-control': 'down', 'data-testid': 'agenda-down',
        'aria-label': t('pair/move-down-item', { text: item.text }), title: t('pair/move-down'), disabled: index === count - 1,
      }, '↓'),
      el('button', {
        type: 'button', class: 'icon-btn small', 'data-control': 'delete', 'data-testid': 'agenda-delete',
        'aria-label': t('pair/delete-item', { text: item.text }), title: t('pair/delete'),
      }, '✕')) : null;
    return el('li', { class: 'item', dataset: { testid: 'agenda-item', id: item.id, done: String(done) } },
      el('label', { class: 'item-check' }, box, el('span', { class: 'item-text', dir: 'auto' }, item.text)),
      el('span', { class: 'item-meta' }, meta.join(' · ')),
      tools);
  }

  /** "added by Grace", or "added by you" (its own sentence: not every language says it alike). */
  by(key, role) {
    return role && role === this.you() ? t(`${key}-you`) : t(key, { name: this.names(role) });
  }

  async add() {
    const text = this.input.value.trim();
    if (!text) {
      this.input.focus();
      return;
    }
    const button = this.form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await this.api.post('/agenda', { text });
      this.input.value = '';
      await this.load();
    } catch (err) {
      this.onError(err, t('pair/error-add-topic'));
    } finally {
      button.disabled = false;
      this.input.focus();
    }
  }

  async change(control, body, what) {
    const id = control.closest('[data-id]').dataset.id;
    control.disabled = true;
    try {
      await this.api.patch(`/agenda/${encodeURIComponent(id)}`, body);
    } catch (err) {
      this.onError(err, what);
    }
    await this.load().catch((err) => this.onError(err, t('pair/error-load-agenda')));
  }

  async remove(button) {
    const id = button.closest('[data-id]').dataset.id;
    button.disabled = true;
    try {
      await this.api.del(`/agenda/${encodeURIComponent(id)}`);
    } catch (err) {
      this.onError(err, t('pair/error-delete-topic'));
    }
    await this.load().catch((err) => this.onError(err, t('pair/error-load-agenda')));
    this.input.focus();
  }
}
