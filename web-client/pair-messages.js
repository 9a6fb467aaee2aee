// Messages between meetings: one thread, oldest first, times in the
// reader's zone, links clickable (built as elements, http(s) only). The
// unread count shows in the heading until the thread has been on screen;
// then the messages are marked read up to the newest one shown.

import { linkedText } from './linkify.js';
import { t } from './i18n.js';
import { fmtNumber, fmtWhen } from './pair-time.js';
import { el } from './ui.js';

export class MessageThread {
  constructor(ctx, { list, empty, form, input, badge }) {
    Object.assign(this, { ctx, list, empty, form, input, badge });
    this.lastSeq = 0;      // the newest message shown
    this.readSeq = 0;      // the newest one marked read
    this.inView = false;
    this.shown = { messages: [], unread: 0 }; // what the last load gave, for a re-render in another language
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    input.addEventListener('keydown', (e) => {
      // Ctrl/Cmd+Enter sends; Enter alone is a new line in a letter-like message.
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    // "Shown" means on screen in a visible tab, not merely loaded.
    new IntersectionObserver((entries) => {
      this.inView = entries.some((x) => x.isIntersecting);
      this.markRead();
    }).observe(list.parentElement);
    document.addEventListener('visibilitychange', () => this.markRead());
  }

  async load() {
    const body = await this.ctx.api.get('/messages');
    this.render(body?.messages ?? [], body?.unread ?? 0);
    this.markRead();
  }

  /** After a language switch: the same messages, their times and "You" in the new words. */
  relabel() {
    this.render(this.shown.messages, this.shown.unread, true);
  }

  render(messages, unread, again = false) {
    this.shown = { messages, unread };
    const newest = messages.at(-1)?.seq ?? 0;
    if (again || newest !== this.lastSeq || this.list.children.length !== messages.length) {
      // Unread are the other person's newest `unread` messages (seq is
      // increasing, not contiguous).
      const theirs = messages.filter((m) => m.author !== this.ctx.you);
      const fresh = new Set(unread > 0 ? theirs.slice(-unread).map((m) => m.seq) : []);
      // Follow the conversation unless the reader scrolled up.
      const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
      this.list.replaceChildren(...messages.map((m) => this.row(m, fresh.has(m.seq))));
      if (atBottom || this.lastSeq === 0) this.list.scrollTop = this.list.scrollHeight;
      this.lastSeq = newest;
    }
    this.empty.hidden = messages.length > 0;
    // Nothing unread: nothing to mark.
    if (!unread) this.readSeq = Math.max(this.readSeq, newest);
    this.setUnread(unread);
  }

  row(m, isNew) {
    const mine = m.author === this.ctx.you;
    const at = new Date(m.at_ms);
    return el('li', { class: `message${mine ? ' mine' : ''}${isNew ? ' new' : ''}`, dataset: { testid: 'message-item', seq: String(m.seq), author: m.author } },
      el('p', { class: 'note-meta' },
        el('span', { class: 'note-author' }, mine ? t('pair/you') : this.ctx.name(m.author)),
        el('time', { datetime: at.toISOString() }, fmtWhen(m.at_ms))),
      // What people write reads in its own direction (dir=auto), whatever the page's.
      Object.assign(linkedText(m.text, 'message-text'), { dir: 'auto' }));
  }

  setUnread(n) {
    this.badge.textContent = n ? t('pair/unread-count', { count: fmtNumber(n) }) : '';
    this.badge.hidden = !n;
    const title = this.ctx.pair?.title ?? t('pair/pair');
    document.title = n ? t('pair/page-title-unread', { count: fmtNumber(n), title }) : t('pair/page-title', { title });
  }

  async markRead() {
    if (!this.inView || document.hidden || this.lastSeq <= this.readSeq) return;
    const seq = this.lastSeq;
    this.readSeq = seq;
    try {
      const body = await this.ctx.api.post('/messages/read', { seq });
      // The highlight stays until the next load; the count goes now.
      this.setUnread(body?.unread ?? 0);
    } catch {
      this.readSeq = 0; // try again next time
    }
  }

  async send() {
    const text = this.input.value.trim();
    if (!text) {
      this.input.focus();
      return;
    }
    const button = this.form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await this.ctx.api.post('/messages', { text });
      this.input.value = '';
      await this.load();
      this.list.scrollTop = this.list.scrollHeight;
    } catch (err) {
      this.ctx.problem(err, t('pair/error-send-message'));
    } finally {
      button.disabled = false;
      this.input.focus();
    }
  }
}
