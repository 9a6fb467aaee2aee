// The transcript beside the player: who said what and when, the segment
// being played highlighted and kept in view, a click seeks there, and a
// search marks its hits in the list and on the timeline.

import { t } from './i18n.js';
import { fmtPercent, plural } from './reflect-format.js';
import { fmtClock } from './reflect-player.js';
import { $, el } from './ui.js';

/** What the transcript's state line says, by the API's status: catalog keys. */
const STATES = {
  off: 'reflect/transcript.off',
  pending: 'reflect/transcript.pending',
  running: 'reflect/transcript.running',
  failed: 'reflect/transcript.failed',
  none: 'reflect/transcript.none',
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
    this.words = null; // what the state line says, in the page's language: () => text, or null when hidden
    $('transcript-search').addEventListener('input', () => this.search($('transcript-search').value));
  }

  /** Shows the API's transcript state; loads the text once it is done. */
  async show(info) {
    const status = info?.status || 'none';
    const readable = status === 'done' && info.url;
    $('transcript').dataset.state = readable ? 'done' : status;
    if (!readable) {
      const key = status === 'done' ? STATES.none : (STATES[status] || STATES.none);
      if (status === 'running' && Number.isFinite(info.progress)) {
        this.say(() => t('reflect/transcript.running-progress', { percent: fmtPercent(info.progress) }));
      } else {
        this.say(() => t(key));
      }
      $('transcript-tools').hidden = true;
      return false;
    }
    if (this.loadedFrom === info.url) return true;
    const body = await this.api.transcript(info.url);
    this.loadedFrom = info.url;
    this.urls = info;
    this.render(body?.segments || []);
    this.say(this.segments.length ? null : () => t('reflect/transcript.empty'));
    $('transcript-tools').hidden = false;
    return true;
  }

  /** The transcript could not be fetched: the server's reason. */
  showProblem(message) {
    this.say(() => t('reflect/transcript.load-failed', { message }));
  }

  /** The state line: `words()` gives its text (again on a language switch); null hides it. */
  say(words) {
    this.words = words;
    const note = $('transcript-state');
    note.textContent = words ? words() : '';
    note.hidden = !words;
  }

  /** Its words again in the language just picked; the list, its place and the search stay. */
  rewrite() {
    this.say(this.words);
    this.segments.forEach((s, i) => {
      this.items[i].querySelector('.seg-btn').title = t('reflect/play-from', { time: fmtClock(s.start_s) });
    });
    this.search($('transcript-search').value);
  }

  render(segments) {
    this.segments = segments;
    this.items = segments.map((s, i) => {
      const text = el('span', { class: 'seg-text' }, s.text);
      const item = el('li', {
        class: 'segment',
        dataset: { testid: 'transcript-segment', startS: s.start_s, role: s.role, index: i },
      }, el('button', { type: 'button', class: 'seg-btn', title: t('reflect/play-from', { time: fmtClock(s.start_s) }) },
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
          'aria-label': t('reflect/search-hit', { time: fmtClock(s.start_s) }),
          dataset: { testid: 'search-hit', atS: s.start_s },
        });
        mark.style.left = `${Math.min(100, (s.start_s / this.duration) * 100)}%`;
        mark.addEventListener('click', () => this.seek(s.start_s + 0.01));
        this.marks.append(mark);
      }
    });
    $('search-count').textContent = q ? plural('reflect/hits', hits) : '';
  }
}
