// The transcript beside the player: who said what and when, the segment
// being played highlighted and kept in view, a click seeks there, and a
// search marks its hits in the list and on the timeline.

import { fmtClock } from './reflect-player.js';
import { $, el } from './ui.js';

const STATES = {
  off: 'No transcript: this server does not transcribe, or transcription was not on for this call.',
  pending: 'The transcript is waiting to be made. This page shows it when it is ready.',
  running: 'The transcript is being made',
  failed: 'The transcript could not be made.',
  none: 'There is no transcript for this recording.',
};

export class Transcript {
  /** `seek(t)`: moves the player. */
  constructor(api, { seek, duration }) {
    this.api = api;
    this.seek = seek;
    this.duration = duration;
    this.segments = [];
    this.items = [];
    this.current = -1;
    this.list = $('transcript-list');
    this.marks = $('search-marks');
    $('transcript-search').addEventListener('input', () => this.search($('transcript-search').value));
  }

  /** Shows the API's transcript state; loads the text once it is done. */
  async show(info) {
    const status = info?.status || 'none';
    const readable = status === 'done' && info.url;
    $('transcript').dataset.state = readable ? 'done' : status;
    const note = $('transcript-state');
    if (!readable) {
      let text = STATES[status] || STATES.none;
      if (status === 'running' && Number.isFinite(info.progress)) text += ` (${Math.round(info.progress * 100)} %)`;
      else if (status === 'running') text += '…';
      if (status === 'done') text = STATES.none;
      note.textContent = text;
      note.hidden = false;
      $('transcript-tools').hidden = true;
      return false;
    }
    if (this.loadedFrom === info.url) return true;
    const body = await this.api.transcript(info.url);
    this.loadedFrom = info.url;
    this.urls = info;
    this.render(body?.segments || []);
    note.hidden = this.segments.length > 0;
    note.textContent = this.segments.length ? '' : 'The transcript is empty: no speech was recognised.';
    $('transcript-tools').hidden = false;
    return true;
  }

  render(segments) {
    this.segments = segments;
    this.items = segments.map((s, i) => {
      const text = el('span', { class: 'seg-text' }, s.text);
      const item = el('li', {
        class: 'segment',
        dataset: { testid: 'transcript-segment', startS: s.start_s, role: s.role, index: i },
      }, el('button', { type: 'button', class: 'seg-btn', title: `Play from ${fmtClock(s.start_s)}` },
        el('span', { class: 'seg-head' },
          el('span', { class: 'seg-name' }, s.name || s.role),
          el('time', { class: 'seg-time' }, fmtClock(s.start_s))),
        text));
      item.firstChild.addEventListener('click', () => this.seek(s.start_s + 0.01));
      return item;
    });
    this.list.replaceChildren(...this.items);
    this.current = -1;
  }

  /** Highlights the segment at `t` and scrolls the list (not the page) to it. */
  setTime(t) {
    let idx = -1;
    for (let i = 0; i < this.segments.length; i++) {
      if (this.segments[i].start_s <= t + 0.001) idx = i;
      else break;
    }
    if (idx >= 0 && t > this.segments[idx].end_s + 1.5) idx = -1;
    if (idx === this.current) return;
    this.items[this.current]?.classList.remove('current');
    this.items[this.current]?.removeAttribute('aria-current');
    this.current = idx;
    const item = this.items[idx];
    if (!item) return;
    item.classList.add('current');
    item.setAttribute('aria-current', 'true');
    const list = this.list;
    const top = item.offsetTop - list.offsetTop;
    if (top < list.scrollTop || top + item.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, top - list.clientHeight / 3);
    }
  }

  /** Marks the segments holding `query`, and their places on the timeline. */
  search(query) {
    const q = query.trim().toLowerCase();
    this.marks.replaceChildren();
    let hits = 0;
    this.segments.forEach((s, i) => {
      const span = this.items[i].querySelector('.seg-text');
      const at = q ? s.text.toLowerCase().indexOf(q) : -1;
      this.items[i].classList.toggle('hit', at >= 0);
      this.items[i].classList.toggle('miss', Boolean(q) && at < 0);
      if (at < 0) {
        span.textContent = s.text;
        return;
      }
      hits++;
      const parts = [];
      let from = 0;
      const lower = s.text.toLowerCase();
      for (let k = lower.indexOf(q); k >= 0; k = lower.indexOf(q, k + q.length)) {
        parts.push(s.text.slice(from, k), el('mark', {}, s.text.slice(k, k + q.length)));
        from = k + q.length;
      }
      parts.push(s.text.slice(from));
      span.replaceChildren(...parts);
      if (this.duration > 0) {
        const mark = el('button', {
          type: 'button',
          class: 'search-mark',
          title: `${s.name || s.role}, ${fmtClock(s.start_s)}`,
          'aria-label': `Search hit at ${fmtClock(s.start_s)}`,
          dataset: { testid: 'search-hit', atS: s.start_s },
        });
        mark.style.left = `${Math.min(100, (s.start_s / this.duration) * 100)}%`;
        mark.addEventListener('click', () => this.seek(s.start_s + 0.01));
        this.marks.append(mark);
      }
    });
    $('search-count').textContent = q ? (hits === 1 ? '1 hit' : `${hits} hits`) : '';
  }
}
