// The two people: names, roles, time zones and the time it is for each of
// them right now — the first thing to know before writing "call now?".
// Also tells the server the viewer's zone the first time they open the
// page, so the other person sees the right times for them.

import { t } from './i18n.js';
import { browserZone, fmtTime, fmtZone } from './pair-time.js';
import { $, el } from './ui.js';

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
      // The zone's name in the page's language; its IANA name on hover.
      const clock = zone
        ? el('span', { class: 'person-time' }, t('pair/person-now', { time: fmtTime(now, zone) }),
          el('span', { class: 'hint', title: zone.replace(/_/g, ' ') }, ` · ${fmtZone(zone, now)}`))
        : el('span', { class: 'person-time hint' }, t('pair/person-zone-unknown'));
      return el('li', { class: 'person-card', dataset: { testid: 'pair-person', role } },
        el('span', { class: 'person-role' }, t(mine ? `pair/role-${role}-you` : `pair/role-${role}`)),
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
      this.ctx.problem(err, t('pair/error-save-zone'));
    }
  }
}
