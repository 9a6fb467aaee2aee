// The reflection page's timeline lanes and moments: who spoke when (one
// lane per person, from the recorder's voice detector), the bookmarks
// and the notes at a time, each a button that seeks there; and the list
// where either person adds a bookmark or a note at the player's time,
// private or shared, and changes or deletes their own.

import { t } from './i18n.js';
import { fmtDuration, plural } from './reflect-format.js';
import { fmtClock } from './reflect-player.js';
import { $, el, toast } from './ui.js';

const pct = (t, duration) => `${Math.min(100, Math.max(0, (t / duration) * 100))}%`;

export class Moments {
  /**
   * api: ReflectApi; seek(t); now(): the player's time; names(role): a
   * person's name; viewer: the viewer's role (null for an admin).
   */
  constructor(api, { seek, now, names, viewer }) {
    this.api = api;
    this.seek = seek;
    this.now = now;
    this.names = names;
    this.viewer = viewer;
    this.recording = null;
    this.duration = 0;
    this.moments = [];
    $('moments-card').hidden = !viewer;
    $('reflect-mark').addEventListener('click', () => this.add('bookmark'));
    $('reflect-note-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.add('note');
    });
    $('reflect-note-input').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.isComposing) {
        e.preventDefault();
        this.add('note');
      }
    });
    document.addEventListener('keydown', (e) => {
      // "b" bookmarks where the player is, as "k", "j" and "l" steer it.
      const tag = e.target?.tagName;
      if (e.key !== 'b' || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || e.target?.isContentEditable) return;
      if (!this.viewer || $('reflect-mark').disabled) return;
      e.preventDefault();
      this.add('bookmark');
    });
    setInterval(() => this.showTime(), 500);
  }

  /** d: the reflect API's answer. */
  show(d) {
    this.recording = d.recording;
    this.duration = Number(d.recording.duration_s) || 0;
    this.moments = d.moments || [];
    this.timeline = d.timeline;
    this.people = d.people;
    const open = d.recording.status !== 'deleted' && Boolean(this.viewer);
    $('reflect-mark').disabled = !open;
    $('reflect-note-save').disabled = !open;
    this.lanes(d.timeline, d.people);
    this.render();
    this.showTime();
  }

  showTime() {
    const time = fmtClock(this.now());
    $('reflect-mark').textContent = t('reflect/mark', { time });
    $('reflect-note-save').textContent = t('reflect/add-note', { time });
  }

  /** Everything this wrote, again in the language just picked. */
  rewrite() {
    if (!this.recording) return;
    this.lanes(this.timeline, this.people);
    this.render();
    this.showTime();
  }

  /** One lane per person (speech), then bookmarks, then notes. */
  lanes(timeline, people) {
    const box = $('lanes');
    const d = this.duration;
    if (!d) {
      box.replaceChildren();
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const rows = [];
    for (const p of people) {
      const lane = (timeline?.speech || []).find((s) => s.role === p.role);
      const bar = el('div', { class: 'lane-bar' });
      for (const [s, e] of lane?.regions || []) {
        const part = el('span', { class: 'speech', dataset: { role: p.role } });
        part.style.left = pct(s, d);
        part.style.width = pct(Math.max(e - s, d / 500), d);
        bar.append(part);
      }
      rows.push(el('div', { class: 'lane', 'data-testid': 'speech-lane', dataset: { role: p.role } },
        el('span', { class: 'lane-name' }, p.name || p.role), bar));
    }
    rows.push(this.markLane('bookmark', t('reflect/lane.bookmarks')), this.markLane('note', t('reflect/lane.notes')));
    box.replaceChildren(...rows);
    this.showStats(timeline?.stats || [], people);
  }

  markLane(kind, title) {
    const bar = el('div', { class: 'lane-bar', id: `lane-${kind}` });
    return el('div', { class: 'lane', dataset: { kind } }, el('span', { class: 'lane-name' }, title), bar);
  }

  /** Turns and the longest monologue, beside each person's share of talk. */
  showStats(stats, people) {
    const list = $('talk-stats');
    const rows = people.map((p) => {
      const s = stats.find((x) => x.role === p.role);
      if (!s) return null;
      return el('li', { dataset: { role: p.role } },
        plural('reflect/talk-turns', s.turns, { name: p.name || p.role, longest: fmtDuration(s.longest_monologue_s) }));
    }).filter(Boolean);
    list.replaceChildren(...rows);
    list.hidden = !rows.length;
  }

  render() {
    const d = this.duration;
    for (const kind of ['bookmark', 'note']) {
      const bar = $(`lane-${kind}`);
      if (!bar) continue;
      bar.replaceChildren(...this.moments.filter((m) => m.kind === kind).map((m) => {
        const label = t(`reflect/lane-${kind}${m.text ? '.text' : ''}`, { time: fmtClock(m.at_s), who: this.names(m.author), text: m.text });
        const b = el('button', {
          type: 'button',
          class: `lane-mark ${kind}`,
          title: label,
          'aria-label': label,
          'data-testid': kind === 'note' ? 'timeline-note' : 'timeline-bookmark',
          dataset: { atS: String(m.at_s), visibility: m.visibility },
        });
        b.style.left = pct(m.at_s, d || 1);
        b.addEventListener('click', () => this.seek(m.at_s));
        return b;
      }));
    }
    const list = $('moment-list');
    list.replaceChildren(...this.moments.map((m) => this.item(m)));
    $('moment-empty').hidden = this.moments.length > 0;
  }

  item(m) {
    const mine = m.author === this.viewer;
    const at = el('button', { type: 'button', class: 'text-btn moment-at', 'aria-label': t('reflect/go-to', { time: fmtClock(m.at_s) }) },
      fmtClock(m.at_s));
    at.addEventListener('click', () => this.seek(m.at_s));
    const li = el('li', {
      class: 'moment-item',
      'data-testid': 'moment-item',
      dataset: { kind: m.kind, visibility: m.visibility, atS: String(m.at_s) },
    },
    at,
    el('span', { class: 'moment-text' }, m.text || t('reflect/bookmark')),
    el('span', { class: 'moment-who' }, t(`reflect/moment-by.${m.visibility === 'shared' ? 'shared' : 'private'}`,
      { who: mine ? t('reflect/you') : this.names(m.author) })));
    if (mine) {
      const share = el('button', { type: 'button', class: 'text-btn', 'data-testid': 'moment-share' },
        t(m.visibility === 'shared' ? 'reflect/make-private' : 'reflect/share'));
      share.addEventListener('click', () => this.change(m, { visibility: m.visibility === 'shared' ? 'private' : 'shared' }));
      const del = el('button', { type: 'button', class: 'text-btn', 'data-testid': 'moment-delete' }, t('reflect/delete'));
      del.addEventListener('click', () => this.remove(m));
      li.append(el('span', { class: 'row-actions' }, share, del));
    }
    return li;
  }

  async add(kind) {
    if (!this.recording || !this.viewer) return;
    const at = Math.round(this.now() * 10) / 10;
    const input = kind === 'note' ? $('reflect-note-input') : $('reflect-mark-label');
    const text = input.value.trim();
    if (kind === 'note' && !text) {
      input.focus();
      return;
    }
    const visibility = $('reflect-note-shared').checked ? 'shared' : 'private';
    try {
      const m = await this.api.addMoment(this.recording.id, { at_s: at, kind, text, visibility });
      this.moments = [...this.moments, m].sort((a, b) => a.at_s - b.at_s);
      // Only what was sent: a note typed while this one was on its way
      // stays in the box.
      if (input.value.trim() === text) input.value = '';
      this.render();
      toast(t(`reflect/added.${kind}`, { time: fmtClock(at) }));
    } catch (err) {
      toast(t('reflect/add-failed', { message: err.message }));
    }
  }

  async change(m, change) {
    try {
      const fresh = await this.api.changeMoment(m.id, change);
      this.moments = this.moments.map((x) => (x.id === m.id ? fresh : x));
      this.render();
    } catch (err) {
      toast(t('reflect/change-failed', { message: err.message }));
    }
  }

  async remove(m) {
    try {
      await this.api.deleteMoment(m.id);
      this.moments = this.moments.filter((x) => x.id !== m.id);
      this.render();
    } catch (err) {
      toast(t('reflect/delete-failed', { message: err.message }));
    }
  }
}
