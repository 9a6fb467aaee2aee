// Actions: shared to-dos, each with an owner (mentor or mentee) and an
// optional due date, a day in the owner's calendar. Open ones come first,
// soonest due first; overdue ones are flagged (the server decides that, in
// the owner's time zone).

import { t } from './i18n.js';
import { fmtDueDate, fmtNumber } from './pair-time.js';
import { el, keepFocus } from './ui.js';

function byDueThenAge(a, b) {
  const open = (x) => (x.done_at_ms === null || x.done_at_ms === undefined ? 0 : 1);
  if (open(a) !== open(b)) return open(a) - open(b);
  const due = (x) => x.due || '9999-99-99';
  if (due(a) !== due(b)) return due(a) < due(b) ? -1 : 1;
  return a.created_at_ms - b.created_at_ms;
}

export class ActionList {
  /** ctx: the pair home's context (api, names, roles, read-only, errors). */
  constructor(ctx, { list, empty, form, input, owner, due, overdueBadge }) {
    Object.assign(this, { ctx, list, empty, form, input, owner, due, overdueBadge });
    this.items = [];
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.add();
    });
    list.addEventListener('change', (e) => {
      const box = e.target.closest('[data-control="done"]');
      if (box) this.change(box, { done: box.checked });
    });
    list.addEventListener('click', (e) => {
      const button = e.target.closest('button[data-control="delete"]');
      if (button) this.remove(button);
    });
  }

  /** The owner choices, named: "Me (Grace)", "Alan (mentee)"; you first. */
  setPeople() {
    const { you } = this.ctx;
    const roles = you === 'mentee' ? ['mentee', 'mentor'] : ['mentor', 'mentee'];
    const chosen = this.owner.value;
    this.owner.replaceChildren(...roles.map((r) => el('option', { value: r },
      t(r === you ? 'pair/owner-me' : `pair/owner-${r}`, { name: this.ctx.name(r) }))));
    if (chosen) this.owner.value = chosen;
  }

  async load() {
    const body = await this.ctx.api.get('/actions');
    this.render(body?.items ?? []);
  }

  /** After a language switch: the same items, in the new words. */
  relabel() {
    this.render(this.items);
  }

  render(items) {
    this.items = items;
    const sorted = [...items].sort(byDueThenAge);
    const canEdit = !this.ctx.readOnly;
    keepFocus(this.list, () => this.list.replaceChildren(...sorted.map((a) => this.row(a, canEdit))));
    this.empty.hidden = items.length > 0;
    const overdue = items.filter((a) => a.overdue).length;
    this.overdueBadge.textContent = overdue ? t('pair/overdue-count', { count: fmtNumber(overdue) }) : '';
    this.overdueBadge.hidden = !overdue;
  }

  row(a, canEdit) {
    const done = a.done_at_ms !== null && a.done_at_ms !== undefined;
    const box = el('input', { type: 'checkbox', 'data-control': 'done', 'data-testid': 'action-done', disabled: !canEdit });
    box.checked = done;
    const mine = a.owner === this.ctx.you;
    const name = this.ctx.name(a.owner);
    const owner = a.due
      ? t(mine ? 'pair/action-yours-due' : 'pair/action-owner-due', { name, date: fmtDueDate(a.due) })
      : (mine ? t('pair/you') : name);
    const meta = el('span', { class: 'item-meta' }, owner);
    if (a.overdue) meta.append(' ', el('span', { class: 'flag', 'data-testid': 'action-overdue' }, t('pair/overdue')));
    const tools = canEdit ? el('span', { class: 'item-tools' },
      el('button', {
        type: 'button', class: 'icon-btn small', 'data-control': 'delete', 'data-testid': 'action-delete',
        'aria-label': t('pair/delete-item', { text: a.text }), title: t('pair/delete'),
      }, '✕')) : null;
    return el('li', {
      class: 'item', dataset: { testid: 'action-item', id: a.id, done: String(done), overdue: String(Boolean(a.overdue)), owner: a.owner },
    },
    el('label', { class: 'item-check' }, box, el('span', { class: 'item-text', dir: 'auto' }, a.text)),
    meta,
    tools);
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
      const body = { text, owner: this.owner.value };
      if (this.due.value) body.due = this.due.value;
      await this.ctx.api.post('/actions', body);
      this.input.value = '';
      this.due.value = '';
      await this.load();
    } catch (err) {
      this.ctx.problem(err, t('pair/error-add-action'));
    } finally {
      button.disabled = false;
      this.input.focus();
    }
  }

  async change(control, body) {
    const id = control.closest('[data-id]').dataset.id;
    control.disabled = true;
    try {
      await this.ctx.api.patch(`/actions/${encodeURIComponent(id)}`, body);
    } catch (err) {
      this.ctx.problem(err, t('pair/error-change-action'));
    }
    await this.load().catch((err) => this.ctx.problem(err, t('pair/error-load-actions')));
  }

  async remove(button) {
    const id = button.closest('[data-id]').dataset.id;
    button.disabled = true;
    try {
      await this.ctx.api.del(`/actions/${encodeURIComponent(id)}`);
    } catch (err) {
      this.ctx.problem(err, t('pair/error-delete-action'));
    }
    await this.load().catch((err) => this.ctx.problem(err, t('pair/error-load-actions')));
    this.input.focus();
  }
}
