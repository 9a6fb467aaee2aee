// Scheduling: the next session in both people's time with Join and Add to
// calendar, the form to schedule (or move) a session, and the list of
// scheduled sessions with move, skip-one-date and cancel.
//
// Times are typed in the viewer's own zone (`datetime-local` has no zone:
// the browser's wall clock) and sent as UTC instants, with the browser's
// zone as the wall clock a repeating session keeps.

import { intlLocale, t } from './i18n.js';
import {
  browserZone, fmtDayTime, fmtNumber, fmtRecurrence, fmtRelative, fmtZone, forBoth, fromLocalInput, toDate, toLocalInput,
} from './pair-time.js';
import { other } from './pair-notes.js';
import { $, confirmAction, copyFrom, el, toast } from './ui.js';

const EARLY_MS = 30 * 60 * 1000; // the server opens a call this long before its start

export class Schedule {
  constructor(ctx) {
    this.ctx = ctx;
    this.editing = null; // the scheduled session being moved
    $('schedule-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.save();
    });
    $('schedule-start').addEventListener('input', () => this.preview());
    $('schedule-recurrence').addEventListener('change', () => this.preview());
    $('schedule-cancel-edit').addEventListener('click', () => this.stopEditing());
    $('join-next').addEventListener('click', () => this.join());
    $('ics-download').addEventListener('click', (e) => this.downloadInvite(e.currentTarget.dataset.sessionId, e.currentTarget));
    $('calendar-feed-copy').addEventListener('click', (e) => this.copyFeed(e.currentTarget));
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
    this.renderForm();
    $('schedule-start').min = toLocalInput(new Date());
  }

  /**
   * The form's words that depend on state (moving or scheduling) or on the
   * zone; the rest is marked in the HTML. Again after a language switch.
   */
  renderForm() {
    $('schedule-start-label').textContent = t('pair/schedule-start-label', { zone: fmtZone(browserZone()) });
    $('schedule-form-heading').textContent = t(this.editing ? 'pair/schedule-move-heading' : 'pair/schedule-heading');
    $('schedule-save').textContent = t(this.editing ? 'pair/schedule-save-move' : 'pair/schedule-save');
    this.preview();
  }

  /** After a language switch: everything again, the list too. */
  relabel() {
    this.listKey = null;
    if (this.ctx.pair) this.render();
    else this.renderForm();
  }

  /** Copies the feed address; the button says so for a moment, in the page's language. */
  async copyFeed(button) {
    const ok = await copyFrom($('calendar-feed'));
    button.textContent = t(ok ? 'pair/copied' : 'pair/copy-failed');
    clearTimeout(this.copyTimer);
    this.copyTimer = setTimeout(() => { button.textContent = t('pair/copy'); }, 2000);
  }

  renderNext() {
    const pair = this.ctx.pair;
    const next = pair.next;
    const when = $('next-session');
    const join = $('join-next');
    const ics = $('ics-download');
    const warn = $('next-warning');
    if (!next) {
      when.textContent = t(pair.status === 'ended' ? 'pair/next-none-ended' : 'pair/next-none');
      delete when.dataset.startsAt;
      delete when.dataset.sessionId;
      $('next-relative').textContent = '';
      warn.hidden = true;
      join.disabled = true;
      join.textContent = t('pair/join');
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
      $('next-relative').textContent = t(under ? 'pair/next-started' : 'pair/next-starts', {
        when: fmtRelative(next.starts_at, now), minutes: fmtNumber(minutes),
      });
      const outside = next.outside_working_hours ?? [];
      warn.hidden = outside.length === 0;
      warn.textContent = outside.length ? this.outsideHours(outside) : '';
      join.disabled = this.ctx.readOnly;
      join.textContent = t(start - EARLY_MS <= now ? 'pair/join' : 'pair/join-early');
      $('join-note').textContent = start - EARLY_MS <= now
        ? ''
        : t('pair/join-early-note', { name: this.ctx.name(this.otherRole) });
      ics.disabled = false;
      ics.dataset.sessionId = next.scheduled_session_id;
    }
    const feed = pair.calendar_feed;
    $('feed').hidden = !feed;
    if (feed) $('calendar-feed').value = feed;
  }

  /** "Outside 08:00–20:00 for …": a sentence per case, as "you" and "both" read differently in each language. */
  outsideHours(roles) {
    const hours = this.workingHours();
    if (roles.length === 2) return t('pair/outside-hours-both', { hours });
    if (roles[0] === this.ctx.you) return t('pair/outside-hours-you', { hours });
    return t('pair/outside-hours-other', { hours, name: this.ctx.name(roles[0]) });
  }

  /** The server's working hours (08:00–20:00) in the page's clock style. */
  workingHours() {
    const at = (h) => new Date(Date.UTC(2000, 0, 1, h));
    const clock = new Intl.DateTimeFormat(intlLocale(), { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
    return clock.formatRange(at(8), at(20));
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
      $('session-list').append(el('li', { class: 'empty-note' }, t('pair/sessions-empty')));
    }
  }

  row(s) {
    const canEdit = !this.ctx.readOnly;
    const first = s.upcoming[0];
    const when = this.both(first.starts_at);
    const repeats = s.recurrence
      ? t('pair/session-repeats', { repeat: fmtRecurrence(s.recurrence, first.starts_at), when })
      : t('pair/session-once', { when });
    const minutes = t('pair/minutes', { minutes: fmtNumber(s.duration_min) });
    const li = el('li', { class: 'session-row', dataset: { testid: 'session-row', id: s.id } },
      el('p', { class: 'session-when' }, repeats),
      el('p', { class: 'hint' }, s.recurrence
        ? t('pair/session-keeps-zone', { minutes, zone: fmtZone(s.time_zone, toDate(first.starts_at)) })
        : minutes));
    const tools = el('div', { class: 'row-actions' },
      el('button', { type: 'button', class: 'secondary-btn small-btn', 'data-control': 'ics', 'data-testid': 'session-ics' }, t('pair/add-to-calendar')));
    if (canEdit) {
      tools.append(
        el('button', { type: 'button', class: 'secondary-btn small-btn', 'data-control': 'move', 'data-testid': 'session-move' }, t('pair/session-move')),
        el('button', { type: 'button', class: 'secondary-btn small-btn', 'data-control': 'cancel', 'data-testid': 'session-cancel' },
          t(s.recurrence ? 'pair/session-cancel-all' : 'pair/session-cancel')));
    }
    li.append(tools);
    if (s.recurrence && canEdit) {
      const dates = el('ul', { class: 'occurrences', 'aria-label': t('pair/coming-dates') },
        ...s.upcoming.map((o) => el('li', {},
          el('span', {}, fmtDayTime(toDate(o.starts_at))),
          el('button', {
            type: 'button', class: 'text-btn', 'data-control': 'skip', 'data-testid': 'session-skip',
            'data-occurrence': o.starts_at, 'aria-label': t('pair/skip-date', { date: fmtDayTime(toDate(o.starts_at)) }),
          }, t('pair/skip')))));
      li.append(el('details', { class: 'occurrence-box' }, el('summary', {}, t('pair/skip-one-date')), dates));
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

  /** What was typed, in both people's time, and how it would repeat. */
  preview() {
    const at = fromLocalInput($('schedule-start').value);
    const recurrence = $('schedule-recurrence').value;
    if (!at || !this.ctx.pair) {
      $('schedule-preview').textContent = '';
      return;
    }
    $('schedule-preview').textContent = recurrence
      ? t('pair/session-repeats', { repeat: fmtRecurrence(recurrence, at), when: this.both(at) })
      : this.both(at);
  }

  error(text) {
    $('schedule-error').textContent = text;
    $('schedule-error').hidden = !text;
    $('schedule-start').toggleAttribute('aria-invalid', Boolean(text));
  }

  startEditing(s) {
    this.editing = s;
    $('schedule-start').value = toLocalInput(toDate(s.upcoming?.[0]?.starts_at ?? s.starts_at));
    $('schedule-duration').value = String(s.duration_min);
    $('schedule-recurrence').value = s.recurrence ?? '';
    $('schedule-cancel-edit').hidden = false;
    this.renderForm();
    $('schedule-form').scrollIntoView({ block: 'nearest' });
    $('schedule-start').focus();
  }

  stopEditing() {
    this.editing = null;
    $('schedule-cancel-edit').hidden = true;
    $('schedule-start').value = '';
    $('schedule-recurrence').value = '';
    this.renderForm();
    this.error('');
  }

  async save() {
    const startsAt = fromLocalInput($('schedule-start').value);
    const minutes = Number($('schedule-duration').value);
    if (!startsAt) {
      this.error(t('pair/schedule-error-start'));
      $('schedule-start').focus();
      return;
    }
    if (!Number.isInteger(minutes) || minutes < 5 || minutes > 480) {
      this.error(t('pair/schedule-error-duration', { min: fmtNumber(5), max: fmtNumber(480) }));
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
        toast(t('pair/toast-moved'));
      } else {
        if (recurrence) body.recurrence = recurrence;
        await this.ctx.api.post('/sessions', body);
        toast(t('pair/toast-scheduled'));
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
      title: t(s.recurrence ? 'pair/cancel-all-title' : 'pair/cancel-title'),
      text: t('pair/cancel-text', { name: this.ctx.name(this.otherRole) }),
      confirm: t('pair/cancel-confirm'),
    });
    if (!ok) return;
    button.disabled = true;
    try {
      await this.ctx.api.del(`/sessions/${encodeURIComponent(s.id)}`);
      toast(t('pair/toast-cancelled'));
    } catch (err) {
      this.ctx.problem(err, t('pair/error-cancel'));
    }
    await this.ctx.refresh();
    button.disabled = false;
  }

  async skip(s, occurrence, button) {
    button.disabled = true;
    try {
      await this.ctx.api.del(`/sessions/${encodeURIComponent(s.id)}?occurrence=${encodeURIComponent(occurrence)}`);
      toast(t('pair/toast-skipped', { date: fmtDayTime(toDate(occurrence)) }));
    } catch (err) {
      this.ctx.problem(err, t('pair/error-skip'));
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
      this.ctx.problem(err, t('pair/error-ics'));
    } finally {
      button.disabled = false;
    }
  }

  /** Asks for this person's join link of the current or next session, and goes there. */
  async join() {
    const button = $('join-next');
    button.disabled = true;
    button.textContent = t('pair/join-opening');
    try {
      const j = await this.ctx.api.post('/join');
      // The call page of this same server, whatever public address the
      // server puts in its links; the token stays in the fragment.
      const url = new URL(j.link, location.href);
      location.assign(`/join${url.hash}`);
    } catch (err) {
      this.ctx.problem(err, t('pair/error-join'));
      button.disabled = false;
      this.renderNext();
    }
  }
}
