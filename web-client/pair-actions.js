// Actions: shared to-dos, each with an owner (mentor or mentee) and an
// optional due date, a day in the owner's calendar. Open ones come first,
// soonest due first; overdue ones are flagged (the server decides that, in
// the owner's time zone).

import { fmtDueDate } from './pair-time.js';
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

  /** The owner choices, named: "Grace (mentor)", "Alan (mentee)"; you first. */
  setPeople() {
    const { you } = this.ctx;
    const roles = you === 'mentee' ? ['mentee', 'mentor'] : ['mentor', 'mentee'];
    const chosen = this.owner.value;
    this.owner.replaceChildren(...roles.map((r) => el('option', { value: r },
      r === you ? `Me (${this.ctx.name(r)})` : `${this.ctx.name(r)} (${r})`)));
    if (chosen) this.owner.value = chosen;
  }

  async load() {
    const body = await this.ctx.api.get('/actions');
    this.render(body?.items ?? []);
  }

  render(items) {
    const sorted = [...items].sort(byDueThenAge);
    const canEdit = !this.ctx.readOnly;
    keepFocus(this.list, () => this.list.replaceChildren(...sorted.map((a) => this.row(a, canEdit))));
    this.empty.hidden = items.length > 0;
    const overdue = items.filter((a) => a.overdue).length;
    this.overdueBadge.textContent = overdue ? `${overdue} overdue` : '';
    this.overdueBadge.hidden = !overdue;
  }

  row(a, canEdit) {
    const done = a.done_at_ms !== null && a.done_at_ms !== undefined;
    const box = el('input', { type: 'checkbox', 'data-control': 'done', 'data-testid': 'action-done', disabled: !canEdit });
    box.checked = done;
    const owner = a.owner === this.ctx.you ? 'You' : this.ctx.name(a.owner);
    const meta = el('span', { class: 'item-meta' }, owner);
    if (a.due) meta.append(` · due ${fmtDueDate(a.due)}`);
    if (a.overdue) meta.append(' ', el('span', { class: 'flag', 'data-testid': 'action-overdue' }, 'Overdue'));
    const tools = canEdit ? el('span', { class: 'item-tools' },
      el('button', {
        type: 'button', class: 'icon-btn small', 'data-control': 'delete', 'data-testid': 'action-delete',
        'aria-label': `Delete “${a.text}”`, title: 'Delete',
      }, '✕')) : null;
    return el('li', {
      class: 'item', dataset: { testid: 'action-item', id: a.id, done: String(done), overdue: String(Boolean(a.overdue)), owner: a.owner },
    },
    el('label', { class: 'item-check' }, box, el('span', { class: 'item-text' }, a.text)),
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
      this.ctx.problem(err, 'Could not add the action');
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
      this.ctx.problem(err, 'Could not change the action');
    }
    await this.load().catch((err) => this.ctx.problem(err, 'Could not load the actions'));
  }

  async remove(button) {
    const id = button.closest('[data-id]').dataset.id;
    button.disabled = true;
    try {
      await this.ctx.api.del(`/actions/${encodeURIComponent(id)}`);
    } catch (err) {
      this.ctx.problem(err, 'Could not delete the action');
    }
    await this.load().catch((err) => this.ctx.problem(err, 'Could not load the actions'));
    this.input.focus();
  }
}
