// The reflection page's two short records: how the talking was shared
// (talk time) and what happened to the recording (the consent trail, in
// the viewer's own time zone). Both are written again on a language switch.

import { t } from './i18n.js';
import { languageName } from './intl-format.js';
import { fmtDuration, fmtList, fmtPercent, fmtWhen, fmtZone } from './reflect-format.js';
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
    bar.removeAttribute('aria-label');
    legend.replaceChildren(el('li', { class: 'empty-note' }, t('reflect/talk-none')));
    return;
  }
  box.dataset.state = 'ok';
  const name = (p) => p.name || p.role;
  bar.replaceChildren(...secs.map((p) => {
    const part = el('span', { class: 'talk-part', dataset: { role: p.role }, title: t('reflect/talk-part.title', { name: name(p), duration: fmtDuration(p.s) }) });
    part.style.flexGrow = String(p.s);
    return part;
  }));
  legend.replaceChildren(...secs.map((p) => el('li', { dataset: { role: p.role } },
    el('span', { class: 'swatch', dataset: { role: p.role } }),
    t('reflect/talk-share', { name: name(p), percent: fmtPercent(p.s / total), duration: fmtDuration(p.s) }))));
  bar.setAttribute('aria-label', fmtList(secs.map((p) => t('reflect/talk-part.label', { name: name(p), percent: fmtPercent(p.s / total) }))));
}

/**
 * One line of the trail in the page's language, from its parts (who, which
 * notice text, why); `null` for an action this page has no words for.
 */
function trailSentence(line, people) {
  const nameOf = (role) => people?.find((p) => p.role === role)?.name
    || (role === 'mentor' || role === 'mentee' ? t(`reflect/trail.the-${role}`) : t('reflect/trail.a-participant'));
  const name = line.name || nameOf(line.by);
  const admin = line.by === 'admin';
  switch (line.action) {
    case 'request': return t('reflect/trail.request', { name });
    case 'consent':
      if (line.version == null) return t('reflect/trail.consent-unknown', { name });
      return line.language
        ? t('reflect/trail.consent-translation', { name, version: line.version, language: languageName(line.language) })
        : t('reflect/trail.consent', { name, version: line.version });
    case 'decline': return t('reflect/trail.decline', { name });
    case 'revoke': return t('reflect/trail.revoke', { name });
    case 'start': return t('reflect/trail.start');
    case 'stop':
      return line.by === 'mentor' || line.by === 'mentee' ? t('reflect/trail.stop-by', { name }) : t('reflect/trail.stop');
    case 'interruption':
      if (line.reason === 'mentor_left' || line.reason === 'mentee_left') {
        return t('reflect/trail.interruption.left', { name: nameOf(line.reason.split('_')[0]) });
      }
      return line.reason ? t(`reflect/trail.interruption.${line.reason}`) : t('reflect/trail.interruption');
    case 'discard':
      if (admin) return t('reflect/trail.discard-admin');
      return line.by && line.by !== 'server' ? t('reflect/trail.discard-by', { name }) : t('reflect/trail.discard');
    case 'delete_media':
      return admin ? t('reflect/trail.delete-media-admin') : t('reflect/trail.delete-media', { name });
    default: return null;
  }
}

/**
 * The trail, each line with its time in the viewer's zone, worded in the
 * page's language from its parts; a line this page has no words for shows
 * the server's English record.
 */
export function showTrail(trail, people) {
  const list = $('consent-trail');
  $('trail-hint').textContent = t('reflect/trail-hint', { zone: fmtZone() });
  if (!trail?.length) {
    list.replaceChildren(el('li', { class: 'empty-note' }, t('reflect/trail-empty')));
    return;
  }
  list.replaceChildren(...trail.map((line) => {
    const said = trailSentence(line, people);
    return el('li', { class: 'trail-line', dataset: { action: line.action } },
      el('time', { datetime: line.at }, fmtWhen(line.at)),
      said == null ? el('span', { lang: 'en', dir: 'ltr' }, line.text) : el('span', {}, said));
  }));
}
