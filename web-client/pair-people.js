// The two people: names, roles, time zones and the time it is for each of
// them right now — the first thing to know before writing "call now?".
// Also tells the server the viewer's zone the first time they open the
// page, so the other person sees the right times for them.

import { browserZone, fmtTime } from './pair-time.js';
import { $, el } from './ui.js';

const ROLE = { mentor: 'Mentor', mentee: 'Mentee' };

export class People {
  constructor(ctx) {
    this.ctx = ctx;
    // The minute changes for both clocks at once.
    setInterval(() => this.render(), 30_000);
  }

  /** The zone the page shows a person's times in: the viewer's is the browser's. */
  zoneOf(role) {
    return role === this.ctx.you ? browserZone() : this.ctx.pair[role]?.time_zone ?? null;
  }

  render() {
    const pair = this.ctx.pair;
    if (!pair) return;
    const now = new Date();
    const roles = this.ctx.you === 'mentee' ? ['mentee', 'mentor'] : ['mentor', 'mentee'];
    $('pair-people').replaceChildren(...roles.map((role) => {
      const mine = role === this.ctx.you;
      const zone = this.zoneOf(role);
      const clock = zone
        ? el('span', { class: 'person-time' }, `${fmtTime(now, zone)} now`, el('span', { class: 'hint' }, ` · ${zone.replace(/_/g, ' ')}`))
        : el('span', { class: 'person-time hint' }, 'time zone not known yet');
      return el('li', { class: 'person-card', dataset: { testid: 'pair-person', role } },
        el('span', { class: 'person-role' }, mine ? `${ROLE[role]} · you` : ROLE[role]),
        el('span', { class: 'person-name' }, pair[role]?.name ?? '—'),
        clock);
    }));
  }

  /**
   * On first load: a profile without a time zone gets the browser's. Later
   * changes (travel) are the person's own to make; the page does not chase
   * the browser's zone around.
   */
  async ensureZone() {
    const pair = this.ctx.pair;
    const you = this.ctx.you;
    if (!you || this.ctx.readOnly || pair[you]?.time_zone) return;
    try {
      const updated = await this.ctx.api.patch(`/people/${you}`, { time_zone: browserZone() });
      if (updated?.[you]) pair[you] = updated[you];
    } catch (err) {
      this.ctx.problem(err, 'Could not save your time zone');
    }
  }
}
