// The working agreement: a shared text (started from a template) that each
// person confirms. Any edit makes a new version and clears both
// confirmations, so "confirmed" always means both agreed to the text on
// screen. An edit carries the version it started from; if the other person
// saved meanwhile, the server says `stale` and nothing is lost.

import { t } from './i18n.js';
import { fmtNumber } from './pair-time.js';
import { other } from './pair-notes.js';
import { $ } from './ui.js';

export class Agreement {
  constructor(ctx) {
    this.ctx = ctx;
    this.current = null; // {text, version, state, confirmed}
    this.editingVersion = null;
    $('agreement-confirm').addEventListener('click', () => this.confirm());
    $('agreement-edit').addEventListener('click', () => this.edit());
    $('agreement-cancel').addEventListener('click', () => this.stopEditing());
    $('agreement-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.save();
    });
  }

  /** Fetches the text when the outline shows a version not loaded yet. */
  async load() {
    const known = this.ctx.pair.agreement;
    if (!this.current || !known || known.version !== this.current.version
      || known.state !== this.current.state) {
      this.current = await this.ctx.api.get('/agreement');
    }
    this.render();
  }

  render() {
    const a = this.current;
    if (!a) return;
    const you = this.ctx.you;
    const them = other(you);
    const status = $('agreement-status');
    status.dataset.state = a.state;
    status.dataset.version = String(a.version);
    const mine = a.confirmed?.[you];
    const theirs = a.confirmed?.[them];
    const name = this.ctx.name(them);
    if (mine && theirs) status.textContent = t('pair/agreement-both', { version: fmtNumber(a.version) });
    else if (mine) status.textContent = t('pair/agreement-you-only', { name });
    else if (theirs) status.textContent = t('pair/agreement-other-only', { name });
    else status.textContent = t('pair/agreement-neither');
    $('agreement-text').textContent = a.text;
    const confirm = $('agreement-confirm');
    confirm.hidden = Boolean(mine);
    confirm.disabled = this.ctx.readOnly;
    $('agreement-edit').disabled = this.ctx.readOnly || this.editingVersion !== null;
  }

  edit() {
    this.editingVersion = this.current.version;
    $('agreement-editor').value = this.current.text;
    $('agreement-form').hidden = false;
    $('agreement-text').hidden = true;
    this.error('');
    this.render();
    $('agreement-editor').focus();
  }

  stopEditing() {
    this.editingVersion = null;
    $('agreement-form').hidden = true;
    $('agreement-text').hidden = false;
    this.render();
    $('agreement-edit').focus();
  }

  error(text) {
    $('agreement-error').textContent = text;
    $('agreement-error').hidden = !text;
  }

  async save() {
    const text = $('agreement-editor').value;
    const button = $('agreement-save');
    button.disabled = true;
    try {
      this.current = await this.ctx.api.put('/agreement', { text, version: this.editingVersion });
      this.ctx.pair.agreement = { ...this.current };
      this.error('');
      this.stopEditing();
    } catch (err) {
      if (err.code === 'stale') {
        // Keep what was typed; show what the other person saved.
        this.current = await this.ctx.api.get('/agreement').catch(() => this.current);
        this.editingVersion = this.current.version;
        this.error(t('pair/agreement-stale-edit', { name: this.ctx.name(other(this.ctx.you)) }));
      } else {
        this.error(err.message);
      }
    } finally {
      button.disabled = false;
    }
  }

  async confirm() {
    const button = $('agreement-confirm');
    button.disabled = true;
    try {
      this.current = await this.ctx.api.post('/agreement/confirm', { version: this.current.version });
      this.ctx.pair.agreement = { ...this.current };
      this.error('');
    } catch (err) {
      if (err.code === 'stale') {
        this.current = await this.ctx.api.get('/agreement').catch(() => this.current);
        this.error(t('pair/agreement-stale-confirm'));
      } else {
        this.ctx.problem(err, t('pair/error-confirm-agreement'));
      }
    } finally {
      button.disabled = false;
      this.render();
    }
  }
}
