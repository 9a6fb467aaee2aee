// Scheduling: the next session in both people's time with Join and Add to
// calendar, the form to schedule (or move) a session, and the list of
// scheduled sessions with move, skip-one-date and cancel.
//
// Times are typed in the viewer's own zone (`datetime-local` has no zone:
// the browser's wall clock) and sent as UTC instants, with the browser's
// zone as the wall clock a repeating session keeps.

import {
  browserZone, fmtDayTime, fmtRelative, forBoth, fromLocalInput, toDate, toLocalInput,
} from './pair-time.js';
import { other } from './pair-notes.js';
import { $, confirmAction, copyFrom, el, toast } from './ui.js';

const REPEAT = { weekly: 'Weekly', fortnightly: 'Every two weeks', monthly: 'Monthly' };
const EARLY_MS = 30 * 60 * 1000; // the server opens a call this long before its start

export class Schedule {
  constructor(ctx) {
    this.ctx = ctx;
    this.editing = null; // the scheduled session being moved
    $('schedule-zone').textContent = `your time, ${browserZone().replace(/_/g, ' ')}`;
    $('schedule-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.save();
    });
    $('schedule-start').addEventListener('input', () => this.preview());
    $('schedule-cancel-edit').addEventListener('click', () => this.stopEditing());
    $('join-next').addEventListener('click', () => this.join());
    $('ics-download').addEventListener('click', (e) => this.downloadInvite(e.currentTarget.dataset.sessionId, e.currentTarget));
    $('calendar-feed-copy').addEventListener('click', (e) => copyFrom($('calendar-feed'), e.currentTarget));
    $('session-list').addEventListener('click', (e) => this.onListClick(e));
  }

  get otherRole() {
    return other(this.ctx.you);
  }

  /** "… for you · … for Alan" for an instant. */
  both(at) {
    const them = this.otherRole;
    return forBoth(at, this.ctx.name(them), this.ctx.pair[them]?.time_zone);
  }

  render() {
    this.renderNext();
    this.renderList();
    $('schedule-start').min = toLocalInput(new Date());
  }

  renderNext() {
    const pair = this.ctx.pair;
    const next = pair.next;
    const when = $('next-session');
    const join = $('join-next');
    const ics = $('ics-download');
    const warn = $('next-warning');
    if (!next) {
      when.textContent = pair.status === 'ended' ? 'No more sessions: this pair has ended.' : 'Nothing scheduled yet. Pick a time below.';
      delete when.dataset.startsAt;
      delete when.dataset.sessionId;
      $('next-relative').textContent = '';
      warn.hidden = true;
      join.disabled = true;
      ics.disabled = true;
      $('join-note').textContent = '';
    } else {
      when.textContent = this.both(next.starts_at);
      when.dataset.startsAt = next.starts_at;
      when.dataset.sessionId = next.scheduled_session_id;
      const minutes = Math.round((toDate(next.ends_at) - toDate(next.starts_at)) / 60000);
      const now = Date.now();
      const start = toDate(next.starts_at).getTime();
      const under = start <= now;
      $('next-relative').textContent = `${under ? 'Started' : 'Starts'} ${fmtRelative(next.starts_at, now)} · ${minutes} minutes`;
      const outside = next.outside_working_hours ?? [];
      warn.hidden = outside.length === 0;
      warn.textContent = outside.length ? `Outside 08:00–20:00 for ${this.whoList(outside)}. Check that this time suits you both.` : '';
      join.disabled = this.ctx.readOnly;
      join.textContent = start - EARLY_MS <= now ? 'Join the call' : 'Join early';
      $('join-note').textContent = start - EARLY_MS <= now
        ? ''
        : `The call opens whenever one of you joins; ${this.ctx.name(this.otherRole)} may not be there yet.`;
      ics.disabled = false;
      ics.dataset.sessionId = next.scheduled_session_id;
    }
    const feed = pair.calendar_feed;
    $('feed').hidden = !feed;
    if (feed) $('calendar-feed').value = feed;
  }

  whoList(roles) {
    if (roles.length === 2) return 'both of you';
    return roles[0] === this.ctx.you ? 'you' : this.ctx.name(roles[0]);
  }

  renderList() {
    const live = (this.ctx.pair.sessions ?? []).filter((s) => s.status === 'scheduled' && s.upcoming?.length);
    // Rebuild only on a change: a poll must not close an open "Skip one
    // date" or take the keyboard focus away.
    const key = JSON.stringify([live, this.ctx.readOnly, this.ctx.pair.mentor, this.ctx.pair.mentee]);
    if (key === this.listKey) return;
    this.listKey = key;
    $('session-list').replaceChildren(...live.map((s) => this.row(s)));
    if (!live.length) {
      $('session-list').append(el('li', { class: 'empty-note' }, 'No sessions scheduled.'));
    }
  }

  row(s) {
    const canEdit = !this.ctx.readOnly;
    const first = s.upcoming[0];
    const repeat = s.recurrence ? `${REPEAT[s.recurrence] ?? s.recurrence}, next` : 'Once';
    const li = el('li', { class: 'session-row', dataset: { testid: 'session-row', id: s.id } },
      el('p', { class: 'session-when' }, el('strong', {}, `${repeat}: `), this.both(first.starts_at)),
      el('p', { class: 'hint' }, `${s.duration_min} minutes${s.recurrence ? ` · keeps ${s.time_zone.replace(/_/g, ' ')} time` : ''}`));
    const tools = el('div', { class: 'row-actions' },
      el('button', { type: 'button', class: 'secondary-btn small-btn', 'data-control': 'ics', 'data-testid': 'session-ics' }, 'Add to calendar'));
    if (canEdit) {
      tools.append(
        el('button', { type: 'button', class: 'secondary-btn small-btn', 'data-control': 'move', 'data-testid': 'session-move' }, 'Move'),
        el('button', { type: 'button', class: 'secondary-btn small-btn', 'data-control': 'cancel', 'data-testid': 'session-cancel' },
          s.recurrence ? 'Cancel all' : 'Cancel'));
    }
    li.append(tools);
    if (s.recurrence && canEdit) {
      const dates = el('ul', { class: 'occurrences', 'aria-label': 'Coming dates' },
        ...s.upcoming.map((o) => el('li', {},
          el('span', {}, fmtDayTime(toDate(o.starts_at))),
          el('button', {
            type: 'button', class: 'text-btn', 'data-control': 'skip', 'data-testid': 'session-skip',
            'data-occurrence': o.starts_at, 'aria-label': `Skip ${fmtDayTime(toDate(o.starts_at))}`,
          }, 'Skip'))));
      li.append(el('details', { class: 'occurrence-box' }, el('summary', {}, 'Skip one date'), dates));
    }
    return li;
  }

  async onListClick(e) {
    const button = e.target.closest('button[data-control]');
    if (!button) return;
    const id = button.closest('[data-id]').dataset.id;
    const s = this.ctx.pair.sessions.find((x) => x.id === id);
    if (!s) return;
    switch (button.dataset.control) {
      case 'ics':
        return this.downloadInvite(id, button);
      case 'move':
        return this.startEditing(s);
      case 'cancel':
        return this.cancel(s, button);
      case 'skip':
        return this.skip(s, button.dataset.occurrence, button);
      default:
    }
  }

  preview() {
    const at = fromLocalInput($('schedule-start').value);
    $('schedule-preview').textContent = at ? this.both(at) : '';
  }

  error(text) {
    $('schedule-error').textContent = text;
    $('schedule-error').hidden = !text;
    $('schedule-start').toggleAttribute('aria-invalid', Boolean(text));
  }

  startEditing(s) {
    this.editing = s;
    $('schedule-form-heading').textContent = 'Move this session';
    $('schedule-start').value = toLocalInput(toDate(s.upcoming?.[0]?.starts_at ?? s.starts_at));
    $('schedule-duration').value = String(s.duration_min);
    $('schedule-recurrence').value = s.recurrence ?? '';
    $('schedule-save').textContent = 'Save the new time';
    $('schedule-cancel-edit').hidden = false;
    this.preview();
    $('schedule-form').scrollIntoView({ block: 'nearest' });
    $('schedule-start').focus();
  }

  stopEditing() {
    this.editing = null;
    $('schedule-form-heading').textContent = 'Schedule a session';
    $('schedule-save').textContent = 'Schedule';
    $('schedule-cancel-edit').hidden = true;
    $('schedule-start').value = '';
    $('schedule-recurrence').value = '';
    this.preview();
    this.error('');
  }

  async save() {
    const startsAt = fromLocalInput($('schedule-start').value);
    const minutes = Number($('schedule-duration').value);
    if (!startsAt) {
      this.error('Pick a date and a time.');
      $('schedule-start').focus();
      return;
    }
    if (!Number.isInteger(minutes) || minutes < 5 || minutes > 480) {
      this.error('A session lasts between 5 and 480 minutes.');
      $('schedule-duration').focus();
      return;
    }
    const recurrence = $('schedule-recurrence').value || null;
    const body = { starts_at: startsAt, duration_min: minutes, time_zone: browserZone() };
    const button = $('schedule-save');
    button.disabled = true;
    try {
      if (this.editing) {
        await this.ctx.api.patch(`/sessions/${encodeURIComponent(this.editing.id)}`, { ...body, recurrence });
        toast('Session moved. Calendars that subscribed update by themselves.');
      } else {
        if (recurrence) body.recurrence = recurrence;
        await this.ctx.api.post('/sessions', body);
        toast('Session scheduled.');
      }
      this.stopEditing();
      await this.ctx.refresh();
    } catch (err) {
      if (err.status === 401) this.ctx.problem(err);
      else this.error(err.message);
    } finally {
      button.disabled = false;
    }
  }

  async cancel(s, button) {
    const ok = await confirmAction({
      title: s.recurrence ? 'Cancel every date of this session?' : 'Cancel this session?',
      text: `${this.ctx.name(this.otherRole)} sees it cancelled on the pair home and in a subscribed calendar.`,
      confirm: 'Cancel it',
    });
    if (!ok) return;
    button.disabled = true;
    try {
      await this.ctx.api.del(`/sessions/${encodeURIComponent(s.id)}`);
      toast('Session cancelled.');
    } catch (err) {
      this.ctx.problem(err, 'Could not cancel the session');
    }
    await this.ctx.refresh();
    button.disabled = false;
  }

  async skip(s, occurrence, button) {
    button.disabled = true;
    try {
      await this.ctx.api.del(`/sessions/${encodeURIComponent(s.id)}?occurrence=${encodeURIComponent(occurrence)}`);
      toast(`Skipped ${fmtDayTime(toDate(occurrence))}.`);
    } catch (err) {
      this.ctx.problem(err, 'Could not skip that date');
    }
    await this.ctx.refresh();
    button.disabled = false;
  }

  async downloadInvite(id, button) {
    if (!id) return;
    button.disabled = true;
    try {
      await this.ctx.api.download(`/sessions/${encodeURIComponent(id)}/invite.ics`, 'duet-session.ics');
    } catch (err) {
      this.ctx.problem(err, 'Could not download the calendar file');
    } finally {
      button.disabled = false;
    }
  }

  /** Asks for this person's join link of the current or next session, and goes there. */
  async join() {
    const button = $('join-next');
    button.disabled = true;
    button.textContent = 'Opening the call…';
    try {
      const j = await this.ctx.api.post('/join');
      // The call page of this same server, whatever public address the
      // server puts in its links; the token stays in the fragment.
      const url = new URL(j.link, location.href);
      location.assign(`/join${url.hash}`);
    } catch (err) {
      this.ctx.problem(err, 'Could not open the call');
      button.disabled = false;
      this.renderNext();
    }
  }
}
