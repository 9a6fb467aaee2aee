// Pairs: create one (title, goal, each person's name, email and time zone)
// and hand out the two personal links; the list of pairs; and one pair:
// its people and their links (copy, re-issue, revoke), its schedule and
// calls, End and Delete. Admins see the outline only — what the two write
// (agenda, notes, messages…) never reaches this console.

import { api, ApiError } from './admin-api.js';
import {
  $, confirmAction, el, fillTable, fmtDateTime, fmtDuration, pill, poll, reportError, ROLE_LABEL,
  shortId, showError, td, timeEl, toast,
} from './admin-ui.js';

const LIST_EVERY_MS = 5000;
const DETAIL_EVERY_MS = 5000;
const ROLES = ['mentor', 'mentee'];
const STATUS_LABEL = { active: 'Active', ended: 'Ended' };
const REPEAT = { weekly: 'weekly', fortnightly: 'every two weeks', monthly: 'monthly' };

let stopPolling = null;
let pairId = null;
let shown = null;

export function init() {
  fillTimeZones();
  $('pair-form').addEventListener('submit', (e) => {
    e.preventDefault();
    createPair();
  });
  $('pair-end').addEventListener('click', endPair);
  $('pair-delete').addEventListener('click', deletePair);
  $('pair-people').addEventListener('click', (e) => {
    const button = e.target.closest('button[data-link-action]');
    if (button) changeLink(button.dataset.role, button.dataset.linkAction);
  });
}

/** Every IANA zone the browser knows, for the time zone inputs' suggestions. */
function fillTimeZones() {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  if (!zones.includes('UTC')) zones = ['UTC', ...zones];
  $('time-zones').replaceChildren(...zones.map((z) => el('option', { value: z })));
}

export function stop() {
  stopPolling?.();
  stopPolling = null;
}

// ---------- the list ----------

export function showList() {
  stop();
  stopPolling = poll(loadList, LIST_EVERY_MS);
}

async function loadList() {
  let body;
  try {
    body = await api('GET', '/api/v1/pairs');
  } catch (err) {
    reportError(err, 'Could not load the pairs');
    throw err;
  }
  showError('');
  fillTable($('pairs-body'), (body?.pairs ?? []).map(pairRow), $('pairs-empty'));
}

function personText(p) {
  if (!p) return '—';
  return el('span', { class: 'person' }, p.name,
    p.time_zone ? el('span', { class: 'muted' }, ` · ${p.time_zone}`) : null);
}

function pairRow(p) {
  const href = `#pairs/${encodeURIComponent(p.id)}`;
  const row = el('tr', { dataset: { testid: 'pair-row', id: p.id, status: p.status }, class: 'clickable' },
    td('Title', el('a', { href, class: 'row-link' }, p.title)),
    td('Mentor', personText(p.mentor)),
    td('Mentee', personText(p.mentee)),
    td('Status', pill(STATUS_LABEL[p.status] ?? p.status, p.status === 'active' ? 'live' : 'ended')),
    td('Next session', p.next ? timeEl(p.next.starts_at) : el('span', { class: 'muted' }, '—')));
  row.addEventListener('click', (e) => {
    if (!e.target.closest('a')) location.hash = href;
  });
  return row;
}

// ---------- create ----------

const FIELD_INPUT = {
  title: 'pair-title',
  goal: 'pair-goal',
  'mentor.name': 'pair-mentor-name',
  'mentor.email': 'pair-mentor-email',
  'mentor.time_zone': 'pair-mentor-zone',
  'mentee.name': 'pair-mentee-name',
  'mentee.email': 'pair-mentee-email',
  'mentee.time_zone': 'pair-mentee-zone',
};

function formError(text, inputId) {
  const p = $('pair-form-error');
  p.textContent = text || '';
  p.hidden = !text;
  for (const id of Object.values(FIELD_INPUT)) $(id).removeAttribute('aria-invalid');
  if (inputId) {
    $(inputId).setAttribute('aria-invalid', 'true');
    $(inputId).focus();
  }
}

function personSpec(role) {
  const v = (what) => $(`pair-${role}-${what}`).value.trim();
  const spec = { name: v('name') };
  if (v('email')) spec.email = v('email');
  if (v('zone')) spec.time_zone = v('zone');
  return spec;
}

async function createPair() {
  const title = $('pair-title').value.trim();
  if (!title) return formError('Give the pair a title.', 'pair-title');
  for (const role of ROLES) {
    if (!$(`pair-${role}-name`).value.trim()) return formError(`Enter the ${role}'s name.`, `pair-${role}-name`);
  }
  formError('');
  const body = { title, mentor: personSpec('mentor'), mentee: personSpec('mentee') };
  const goal = $('pair-goal').value.trim();
  if (goal) body.goal = goal;
  const button = $('pair-create');
  button.disabled = true;
  try {
    const p = await api('POST', '/api/v1/pairs', body);
    showCreated(p);
    for (const id of Object.values(FIELD_INPUT)) $(id).value = '';
    loadList().catch(() => {});
  } catch (err) {
    if (err instanceof ApiError && err.field) formError(err.message, FIELD_INPUT[err.field]);
    else if (err.status !== 401) formError(err.message);
  } finally {
    button.disabled = false;
  }
}

function showCreated(p) {
  $('pair-created-title').textContent = p.title;
  $('pair-created-mentor').textContent = p.mentor?.name ?? '';
  $('pair-created-mentee').textContent = p.mentee?.name ?? '';
  $('pair-link-mentor').value = p.links?.mentor ?? '';
  $('pair-link-mentee').value = p.links?.mentee ?? '';
  $('pair-created-open').href = `#pairs/${encodeURIComponent(p.id)}`;
  $('pair-created').dataset.id = p.id;
  $('pair-created').hidden = false;
  toast('Pair created. Copy each personal link and send it to that person.');
}

// ---------- one pair ----------

export function showDetail(id) {
  stop();
  pairId = id;
  shown = null;
  $('pair-detail-title').textContent = 'Loading…';
  $('pair-detail-status').textContent = '';
  $('pair-people').replaceChildren();
  stopPolling = poll(loadDetail, DETAIL_EVERY_MS);
}

async function loadDetail() {
  const id = pairId;
  let p;
  try {
    p = await api('GET', `/api/v1/pairs/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err.status === 404 || err.status === 400) {
      $('pair-detail-title').textContent = 'No such pair';
      $('pair-people').replaceChildren();
      stop();
      return;
    }
    reportError(err, 'Could not load the pair');
    throw err;
  }
  if (id !== pairId) return;
  showError('');
  renderDetail(p);
}

function renderDetail(p) {
  shown = p;
  document.title = `${p.title} · Duet admin`;
  $('pair-detail-title').textContent = p.title;
  const status = $('pair-detail-status');
  status.textContent = STATUS_LABEL[p.status] ?? p.status;
  status.dataset.state = p.status === 'active' ? 'live' : 'ended';
  const bits = [`Created ${fmtDateTime(p.created_at)}`];
  if (p.ended_at) bits.push(`ended ${fmtDateTime(p.ended_at)}`);
  bits.push(p.recording === 'allowed' ? 'recording allowed with both people\'s consent' : 'recording off');
  $('pair-detail-meta').textContent = `${bits.join(' · ')}.${p.goal ? ` Goal: ${p.goal}` : ''}`;
  // Keep a link field someone is selecting from: only rebuild when a value changed.
  const key = JSON.stringify([p.status, p.mentor, p.mentee, p.links]);
  const people = $('pair-people');
  if (people.dataset.key !== key) {
    people.dataset.key = key;
    people.replaceChildren(...ROLES.map((role) => personCard(p, role)));
  }
  $('pair-schedule').replaceChildren(...scheduleItems(p));
  fillTable($('pair-calls'), (p.history ?? []).map(callRow), $('pair-calls-empty'));
  $('pair-end').hidden = p.status !== 'active';
}

function personCard(p, role) {
  const person = p[role] ?? {};
  const link = p.links?.[role] ?? null;
  const inputId = `pair-detail-link-${role}`;
  const card = el('article', { class: 'card participant', dataset: { testid: 'pair-person', role } },
    el('p', { class: 'role' }, ROLE_LABEL[role]),
    el('h2', {}, person.name ?? '—'));
  const facts = el('dl', { class: 'facts compact' });
  facts.append(el('dt', {}, 'Email'), el('dd', {}, person.email || '—'));
  facts.append(el('dt', {}, 'Time zone'), el('dd', {}, person.time_zone || 'not set yet'));
  if (link) facts.append(el('dt', {}, 'Link works until'), el('dd', {}, fmtDateTime(link.expires_at)));
  card.append(facts);
  const field = el('div', { class: 'link-field' },
    el('label', { for: inputId }, 'Personal link'));
  if (link) {
    field.append(el('div', { class: 'copy-row' },
      el('input', {
        id: inputId, type: 'text', readonly: true, spellcheck: 'false', value: link.link,
        'data-testid': 'pair-detail-link', 'data-role': role,
      }),
      el('button', { type: 'button', class: 'secondary-btn small-btn', 'data-copy': inputId }, 'Copy')));
  } else {
    field.append(el('p', { class: 'muted', 'data-testid': 'pair-link-none', 'data-role': role },
      'No working link: it was revoked. Issue a new one to let them in again.'));
  }
  card.append(field);
  if (p.status === 'active' || link) {
    const actions = el('div', { class: 'actions' });
    if (p.status === 'active') {
      actions.append(el('button', {
        type: 'button', class: 'secondary-btn small-btn', 'data-link-action': 'reissue', 'data-role': role,
        'data-testid': 'pair-link-reissue',
      }, link ? 'Issue a new link' : 'Issue a link'));
    }
    if (link) {
      actions.append(el('button', {
        type: 'button', class: 'danger-btn small-btn', 'data-link-action': 'revoke', 'data-role': role,
        'data-testid': 'pair-link-revoke',
      }, 'Revoke link'));
    }
    card.append(actions);
  }
  return card;
}

function scheduleItems(p) {
  const live = (p.sessions ?? []).filter((s) => s.status === 'scheduled' && s.upcoming?.length);
  if (!live.length) return [el('li', { class: 'muted' }, 'Nothing scheduled.')];
  return live.map((s) => el('li', { dataset: { testid: 'pair-scheduled', id: s.id } },
    timeEl(s.upcoming[0].starts_at),
    ` · ${s.duration_min} min`,
    s.recurrence ? ` · ${REPEAT[s.recurrence] ?? s.recurrence} (${s.time_zone})` : ''));
}

function callRow(h) {
  const rec = h.recording;
  return el('tr', { dataset: { testid: 'pair-call', id: h.session_id } },
    td('When', timeEl(h.starts_at)),
    td('Session', el('a', { href: `#sessions/${encodeURIComponent(h.session_id)}` }, shortId(h.session_id))),
    td('Together', fmtDuration(h.call?.duration_s)),
    td('Talk', h.call?.talk_s ? `${fmtDuration(h.call.talk_s.mentor)} / ${fmtDuration(h.call.talk_s.mentee)}` : '—'),
    td('Recording', rec ? el('a', { href: `#recordings/${encodeURIComponent(rec.id)}` }, rec.status ?? 'yes') : '—'),
    td('Transcript', rec?.transcript ?? '—'));
}

async function changeLink(role, action) {
  const id = pairId;
  const name = shown?.[role]?.name ?? `the ${role}`;
  const reissue = action === 'reissue';
  const ok = await confirmAction(reissue
    ? {
      title: `Issue ${name} a new link?`,
      text: `${name}'s current link (and calendar feed) stops working at once; the new one replaces it. The other person's link is not touched.`,
      confirm: 'Issue a new link',
    }
    : {
      title: `Revoke ${name}'s link?`,
      text: `${name}'s link and calendar feed stop working at once. You can issue a new link later. The other person's link is not touched.`,
      confirm: 'Revoke link',
    });
  if (!ok) return;
  try {
    if (reissue) await api('POST', `/api/v1/pairs/${encodeURIComponent(id)}/links`, { role });
    else await api('DELETE', `/api/v1/pairs/${encodeURIComponent(id)}/links/${role}`);
    toast(reissue ? `New link for ${name}: copy it and send it to them.` : `${name}'s link is revoked.`);
    await loadDetail();
  } catch (err) {
    reportError(err, reissue ? 'Could not issue a new link' : 'Could not revoke the link');
  }
}

async function endPair() {
  const id = pairId;
  const ok = await confirmAction({
    title: 'End this pair?',
    text: 'Its calls end now and nothing new can be scheduled or written. Both people can still open their pair home to read and export everything.',
    confirm: 'End pair',
  });
  if (!ok) return;
  try {
    const p = await api('POST', `/api/v1/pairs/${encodeURIComponent(id)}/end`);
    if (id === pairId && p) renderDetail({ ...p, links: shown?.links });
    toast('Pair ended.');
    await loadDetail();
  } catch (err) {
    reportError(err, 'Could not end the pair');
  }
}

async function deletePair() {
  const id = pairId;
  const ok = await confirmAction({
    title: `Delete “${shown?.title ?? 'this pair'}” and everything in it?`,
    text: 'This deletes the pair with all its notes, messages, agenda, actions, agreement and schedule, '
      + 'and all its recordings and transcripts. Both personal links stop working. It cannot be undone; '
      + 'the audit log and the consent trail keep that it existed.',
    confirm: 'Delete everything',
  });
  if (!ok) return;
  try {
    await api('DELETE', `/api/v1/pairs/${encodeURIComponent(id)}`);
    toast('Pair deleted.');
    location.hash = '#pairs';
  } catch (err) {
    reportError(err, 'Could not delete the pair');
  }
}
