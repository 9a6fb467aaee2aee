// Pairs: create one (title, goal, each person's name, email and time zone)
// and hand out the two personal links; the list of pairs; and one pair:
// its people and their links (copy, re-issue, revoke), its schedule and
// calls, End and Delete. Admins see the outline only — what the two write
// (agenda, notes, messages…) never reaches this console.
//
// Words come from the catalog (`admin/pairs.*`), numbers and dates go
// through Intl in the page's language; a language switch redraws the view
// from the last answer (what is typed in the form stays).

import { api, ApiError } from './admin-api.js';
import {
  $, confirmAction, el, fillTable, fmtDateTime, fmtDuration, pill, poll, reportError, roleLabel,
  setText, shortId, showError, td, timeEl, toast,
} from './admin-ui.js';
import { locale, onLanguageChange, t } from './i18n.js';
import { fmtUnit } from './intl-format.js';

const LIST_EVERY_MS = 5000;
const DETAIL_EVERY_MS = 5000;
const ROLES = ['mentor', 'mentee'];
const STATUSES = ['active', 'ended'];
const REPEATS = ['weekly', 'fortnightly', 'monthly'];
const RECORDING_STATUSES = ['recording', 'complete', 'interrupted', 'deleted'];
const TRANSCRIPT_STATUSES = ['pending', 'running', 'done', 'failed', 'cancelled'];

let stopPolling = null;
let pairId = null;
let shown = null;
// The last list drawn, to draw it again in another language.
let listShown = null;

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
  onLanguageChange(() => {
    if (!$('view-pairs').hidden && listShown) renderList(listShown);
    if (!$('view-pair').hidden && shown) renderDetail(shown);
  });
}

const statusLabel = (status) => (STATUSES.includes(status) ? t(`admin/pairs.status.${status}`) : status);

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
    reportError(err, () => t('admin/pairs.list-failed'));
    throw err;
  }
  showError('');
  renderList(body?.pairs ?? []);
}

function renderList(pairs) {
  listShown = pairs;
  fillTable($('pairs-body'), pairs.map(pairRow), $('pairs-empty'));
}

function personText(p) {
  if (!p) return '—';
  return el('span', { class: 'person' }, p.name,
    p.time_zone ? el('span', { class: 'muted' }, ` · ${p.time_zone}`) : null);
}

function pairRow(p) {
  const href = `#pairs/${encodeURIComponent(p.id)}`;
  const row = el('tr', { dataset: { testid: 'pair-row', id: p.id, status: p.status }, class: 'clickable' },
    td(t('admin/pairs.title'), el('a', { href, class: 'row-link' }, p.title)),
    td(roleLabel('mentor'), personText(p.mentor)),
    td(roleLabel('mentee'), personText(p.mentee)),
    td(t('admin/pairs.status'), pill(statusLabel(p.status), p.status === 'active' ? 'live' : 'ended')),
    td(t('admin/pairs.next-session'), p.next ? timeEl(p.next.starts_at) : el('span', { class: 'muted' }, '—')));
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

/**
 * Shows (or, with nothing, hides) the form's error and marks the input it
 * is about. `say` is text, or a function that says it in the language of
 * the moment (see `setText`).
 */
function formError(say, inputId) {
  const p = $('pair-form-error');
  setText(p, say || '');
  p.hidden = !say;
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
  if (!title) return formError(() => t('admin/pairs.error.title'), 'pair-title');
  for (const role of ROLES) {
    if (!$(`pair-${role}-name`).value.trim()) return formError(() => t(`admin/pairs.error.name-${role}`), `pair-${role}-name`);
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
    // The server's words, or ours for the errors whose code is known.
    const say = err.say ?? err.message;
    if (err instanceof ApiError && err.field) formError(say, FIELD_INPUT[err.field]);
    else if (err.status !== 401) formError(say);
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
  toast(t('admin/pairs.created-toast'));
}

// ---------- one pair ----------

export function showDetail(id) {
  stop();
  pairId = id;
  shown = null;
  setText($('pair-detail-title'), () => t('admin/pairs.loading'));
  $('pair-detail-status').textContent = '';
  // Drawn afresh: the cards are only rebuilt when their content key changes.
  $('pair-people').replaceChildren();
  delete $('pair-people').dataset.key;
  stopPolling = poll(loadDetail, DETAIL_EVERY_MS);
}

async function loadDetail() {
  const id = pairId;
  let p;
  try {
    p = await api('GET', `/api/v1/pairs/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err.status === 404 || err.status === 400) {
      setText($('pair-detail-title'), () => t('admin/pairs.not-found'));
      $('pair-people').replaceChildren();
      shown = null;
      stop();
      return;
    }
    reportError(err, () => t('admin/pairs.load-failed'));
    throw err;
  }
  if (id !== pairId) return;
  showError('');
  renderDetail(p);
}

function renderDetail(p) {
  shown = p;
  document.title = t('admin/pairs.page-title', { title: p.title });
  setText($('pair-detail-title'), p.title);
  const status = $('pair-detail-status');
  status.textContent = statusLabel(p.status);
  status.dataset.state = p.status === 'active' ? 'live' : 'ended';
  const bits = [t('admin/pairs.meta.created', { when: fmtDateTime(p.created_at) })];
  if (p.ended_at) bits.push(t('admin/pairs.meta.ended', { when: fmtDateTime(p.ended_at) }));
  bits.push(t(p.recording === 'allowed' ? 'admin/pairs.meta.recording-allowed' : 'admin/pairs.meta.recording-off'));
  const facts = bits.join(' · ');
  $('pair-detail-meta').textContent = p.goal
    ? t('admin/pairs.meta-goal', { facts, goal: p.goal })
    : t('admin/pairs.meta', { facts });
  // Keep a link field someone is selecting from: only rebuild when a value
  // (or the language) changed.
  const key = JSON.stringify([p.status, p.mentor, p.mentee, p.links, locale()]);
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
    el('p', { class: 'role' }, roleLabel(role)),
    el('h2', {}, person.name ?? '—'));
  const facts = el('dl', { class: 'facts compact' });
  facts.append(el('dt', {}, t('admin/pairs.email')), el('dd', {}, person.email || '—'));
  facts.append(el('dt', {}, t('admin/pairs.time-zone')), el('dd', {}, person.time_zone || t('admin/pairs.time-zone-unset')));
  if (link) facts.append(el('dt', {}, t('admin/pairs.link-until')), el('dd', {}, fmtDateTime(link.expires_at)));
  card.append(facts);
  const field = el('div', { class: 'link-field' },
    el('label', { for: inputId }, t('admin/pairs.personal-link')));
  if (link) {
    field.append(el('div', { class: 'copy-row' },
      el('input', {
        id: inputId, type: 'text', readonly: true, spellcheck: 'false', value: link.link,
        'data-testid': 'pair-detail-link', 'data-role': role,
      }),
      el('button', { type: 'button', class: 'secondary-btn small-btn', 'data-copy': inputId, 'data-i18n': 'admin/pairs.copy' }, t('admin/pairs.copy'))));
  } else {
    field.append(el('p', { class: 'muted', 'data-testid': 'pair-link-none', 'data-role': role },
      t('admin/pairs.link-none')));
  }
  card.append(field);
  if (p.status === 'active' || link) {
    const actions = el('div', { class: 'actions' });
    if (p.status === 'active') {
      actions.append(el('button', {
        type: 'button', class: 'secondary-btn small-btn', 'data-link-action': 'reissue', 'data-role': role,
        'data-testid': 'pair-link-reissue',
      }, t(link ? 'admin/pairs.reissue' : 'admin/pairs.issue')));
    }
    if (link) {
      actions.append(el('button', {
        type: 'button', class: 'danger-btn small-btn', 'data-link-action': 'revoke', 'data-role': role,
        'data-testid': 'pair-link-revoke',
      }, t('admin/pairs.revoke')));
    }
    card.append(actions);
  }
  return card;
}

function scheduleItems(p) {
  const live = (p.sessions ?? []).filter((s) => s.status === 'scheduled' && s.upcoming?.length);
  if (!live.length) return [el('li', { class: 'muted' }, t('admin/pairs.nothing-scheduled'))];
  return live.map((s) => el('li', { dataset: { testid: 'pair-scheduled', id: s.id } },
    timeEl(s.upcoming[0].starts_at),
    ` · ${fmtUnit(s.duration_min, 'minute')}`,
    s.recurrence
      ? ` · ${t('admin/pairs.repeat-in-zone', {
        repeat: REPEATS.includes(s.recurrence) ? t(`admin/pairs.repeat.${s.recurrence}`) : s.recurrence,
        zone: s.time_zone,
      })}`
      : ''));
}

function recordingStatus(status) {
  if (!status) return t('admin/pairs.recorded');
  return RECORDING_STATUSES.includes(status) ? t(`admin/pairs.recording-status.${status}`) : status;
}

function transcriptStatus(status) {
  if (!status) return '—';
  return TRANSCRIPT_STATUSES.includes(status) ? t(`admin/pairs.transcript-status.${status}`) : status;
}

function callRow(h) {
  const rec = h.recording;
  return el('tr', { dataset: { testid: 'pair-call', id: h.session_id } },
    td(t('admin/pairs.when'), timeEl(h.starts_at)),
    td(t('admin/pairs.session'), el('a', { href: `#sessions/${encodeURIComponent(h.session_id)}` }, shortId(h.session_id))),
    td(t('admin/pairs.together'), fmtDuration(h.call?.duration_s)),
    td(t('admin/pairs.talk'), h.call?.talk_s ? `${fmtDuration(h.call.talk_s.mentor)} / ${fmtDuration(h.call.talk_s.mentee)}` : '—'),
    td(t('admin/pairs.recording'), rec ? el('a', { href: `#recordings/${encodeURIComponent(rec.id)}` }, recordingStatus(rec.status)) : '—'),
    td(t('admin/pairs.transcript'), transcriptStatus(rec?.transcript)));
}

async function changeLink(role, action) {
  const id = pairId;
  const name = shown?.[role]?.name ?? t(`admin/pairs.the-${role}`);
  const reissue = action === 'reissue';
  const ok = await confirmAction(reissue
    ? {
      title: t('admin/pairs.reissue-confirm.title', { name }),
      text: t('admin/pairs.reissue-confirm.text', { name }),
      confirm: t('admin/pairs.reissue'),
    }
    : {
      title: t('admin/pairs.revoke-confirm.title', { name }),
      text: t('admin/pairs.revoke-confirm.text', { name }),
      confirm: t('admin/pairs.revoke'),
    });
  if (!ok) return;
  try {
    if (reissue) await api('POST', `/api/v1/pairs/${encodeURIComponent(id)}/links`, { role });
    else await api('DELETE', `/api/v1/pairs/${encodeURIComponent(id)}/links/${role}`);
    toast(t(reissue ? 'admin/pairs.reissued-toast' : 'admin/pairs.revoked-toast', { name }));
    await loadDetail();
  } catch (err) {
    reportError(err, () => t(reissue ? 'admin/pairs.reissue-failed' : 'admin/pairs.revoke-failed'));
  }
}

async function endPair() {
  const id = pairId;
  const ok = await confirmAction({
    title: t('admin/pairs.end-confirm.title'),
    text: t('admin/pairs.end-confirm.text'),
    confirm: t('admin/pairs.end-confirm.confirm'),
  });
  if (!ok) return;
  try {
    const p = await api('POST', `/api/v1/pairs/${encodeURIComponent(id)}/end`);
    if (id === pairId && p) renderDetail({ ...p, links: shown?.links });
    toast(t('admin/pairs.ended-toast'));
    await loadDetail();
  } catch (err) {
    reportError(err, () => t('admin/pairs.end-failed'));
  }
}

async function deletePair() {
  const id = pairId;
  const ok = await confirmAction({
    title: shown?.title
      ? t('admin/pairs.delete-confirm.title', { title: shown.title })
      : t('admin/pairs.delete-confirm.title-untitled'),
    text: t('admin/pairs.delete-confirm.text'),
    confirm: t('admin/pairs.delete-confirm.confirm'),
  });
  if (!ok) return;
  try {
    await api('DELETE', `/api/v1/pairs/${encodeURIComponent(id)}`);
    toast(t('admin/pairs.deleted-toast'));
    location.hash = '#pairs';
  } catch (err) {
    reportError(err, () => t('admin/pairs.delete-failed'));
  }
}
