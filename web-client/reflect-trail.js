// The reflection page's two short records: how the talking was shared
// (talk time) and what happened to the recording (the consent trail, in
// the viewer's own time zone).

import { browserZone, fmtDayTime, fmtDuration } from './pair-time.js';
import { $, el } from './ui.js';

/** One bar, a part per person, sized by their seconds of speech. */
export function showTalkTime(talk, people) {
  const box = $('talk-time');
  const bar = $('talk-bar');
  const legend = $('talk-legend');
  const secs = people.map((p) => ({ ...p, s: Number(talk?.[p.role]) || 0 }));
  const total = secs.reduce((a, p) => a + p.s, 0);
  if (!total) {
    box.dataset.state = 'none';
    bar.replaceChildren();
    legend.replaceChildren(el('li', { class: 'empty-note' }, 'No speech was measured.'));
    return;
  }
  box.dataset.state = 'ok';
  bar.replaceChildren(...secs.map((p) => {
    const part = el('span', { class: 'talk-part', dataset: { role: p.role }, title: `${p.name}: ${fmtDuration(p.s)}` });
    part.style.flexGrow = String(p.s);
    return part;
  }));
  legend.replaceChildren(...secs.map((p) => el('li', { dataset: { role: p.role } },
    el('span', { class: 'swatch', dataset: { role: p.role } }),
    `${p.name || p.role}: ${Math.round((p.s / total) * 100)} % (${fmtDuration(p.s)})`)));
  bar.setAttribute('aria-label', secs.map((p) => `${p.name || p.role} ${Math.round((p.s / total) * 100)} %`).join(', '));
}

/** The server's plain sentences, each with its time in the viewer's zone. */
export function showTrail(trail) {
  const list = $('consent-trail');
  $('trail-zone').textContent = browserZone();
  if (!trail?.length) {
    list.replaceChildren(el('li', { class: 'empty-note' }, 'Nothing recorded about consent.'));
    return;
  }
  list.replaceChildren(...trail.map((line) => el('li', { class: 'trail-line', dataset: { action: line.action } },
    el('time', { datetime: line.at }, fmtDayTime(new Date(line.at))),
    el('span', {}, line.text))));
}
