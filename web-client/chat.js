// Chat beside the call. Messages show at once as "sending" and are replaced
// by the server's copy (which carries the shared timestamp) when it comes
// back. Text is user input: it only ever goes in via textContent, and
// links become <a> elements only for http(s) URLs.

import { linkedText } from './linkify.js';
import { intlLocale, t } from './i18n.js';
import { $ } from './ui.js';

function timeText(at) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(intlLocale(), { hour: '2-digit', minute: '2-digit' });
}

export class Chat {
  constructor({ send, myRole, onIncoming }) {
    this.send = send;          // returns false when the socket is down
    this.myRole = myRole;      // () => 'mentor' | 'mentee'
    this.myName = () => '';
    this.onIncoming = onIncoming;
    this.log = $('chat-log');
    this.input = $('chat-input');
    this.outbox = [];          // texts typed while offline, sent on rejoin

    $('chat-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (e) => {
      // Enter sends; Shift+Enter makes a new line; never during IME composition.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => this.grow());
  }

  grow() {
    this.input.style.setProperty('height', 'auto');
    this.input.style.setProperty('height', `${Math.min(this.input.scrollHeight + 2, 120)}px`);
  }

  submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = '';
    this.grow();
    this.append(this.entry({ name: this.myName(), text, pending: true, mine: true }));
    if (!this.send({ type: 'chat', text })) this.outbox.push(text);
  }

  /** After a reconnect: send what was typed while offline. */
  flush() {
    for (const text of this.outbox.splice(0)) this.send({ type: 'chat', text });
  }

  /** A `chat` message from the server (ours come back too). */
  receive(msg) {
    const mine = msg.from?.role === this.myRole();
    const li = this.entry({ name: msg.from?.name || t('call/someone'), text: msg.text, at: msg.at, mine });
    if (mine) {
      const pending = [...this.log.querySelectorAll('li.pending')].find(
        (el) => el.dataset.text === msg.text,
      );
      if (pending) {
        // Settle it in place rather than replacing it, so the live region
        // does not read our own message out a second time.
        pending.classList.remove('pending');
        delete pending.dataset.text;
        pending.querySelector('.chat-meta').replaceWith(li.querySelector('.chat-meta'));
        return;
      }
    }
    this.append(li);
    if (!mine) this.onIncoming?.();
  }

  /** The server refused our last message (too long, say): drop its "sending" line. */
  rejectOldestPending() {
    this.log.querySelector('li.pending')?.remove();
  }

  entry({ name, text, at, pending, mine }) {
    const li = document.createElement('li');
    if (mine) li.classList.add('mine');
    const meta = document.createElement('div');
    meta.className = 'chat-meta';
    const who = document.createElement('span');
    who.className = 'chat-author';
    who.textContent = name;
    meta.append(who);
    if (pending) {
      li.classList.add('pending');
      li.dataset.text = text;
      const s = document.createElement('span');
      s.textContent = 'sending…';
      meta.append(s);
    } else {
      const t = document.createElement('time');
      t.dateTime = at;
      t.textContent = timeText(at);
      meta.append(t);
    }
    li.append(meta, linkedText(text, 'chat-text'));
    return li;
  }

  append(li) {
    // Follow the conversation unless the person scrolled up to read.
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.log.append(li);
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }
}
