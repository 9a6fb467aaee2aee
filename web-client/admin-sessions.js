// Sessions: create one and hand out its links; the list by state (live,
// upcoming, ended), refreshed every few seconds; and one session live: who
// is connected, since when, how well, whether it is recorded, and End.
// A change of language redraws the list, the live view and the created
// card from what was last loaded, without asking the server again.

import { api, ApiError, query } from './admin-api.js';
import {
  $, confirmAction, el, fillTable, fmtDateTime, fmtMillis, fmtPercent, fmtSince, fmtWhen, pill, poll,
  reportError, roleLabel, setText, showError, td, timeEl, toast,
} from './admin-ui.js';
import { onLanguageChange, t } from './i18n.js';

const LIST_EVERY_MS = 3000;
const LIVE_EVERY_MS = 2000;
const DAY_S = 86400;

let filter = 'live';
let stopPolling = null;
let liveId = null;
// What was last shown, to draw again in another language.
let shownList = null;
let shownLive = null;
let shownCreated = null;

// The API's states, in the page's language; an unknown one as it is.
const STATUSES = ['live', 'open', 'ended', 'expired'];
const statusLabel = (status) => (STATUSES.includes(status) ? t(`admin/status.${status}`) : status);
const QUALITIES = ['good', 'fair', 'poor', 'unknown'];
const qualityLabel = (rating) => (QUALITIES.includes(rating) ? t(`admin/quality.${rating}`) : rating);
// The last column's heading and what an empty list says, by tab.
const whenHeading = (tab) => t({ live: 'admin/col.created', upcoming: 'admin/col.links-expire', ended: 'admin/col.ended' }[tab]);
const emptyText = (tab) => t(`admin/sessions.empty-${tab}`);

export function init() {
  $('session-form').addEventListener('submit', (e) => {
    e.preventDefault();
    createSession();
  });
  for (const tab of document.querySelectorAll('[data-filter]')) {
    tab.addEventListener('click', () => setFilter(tab.dataset.filter));
  }
  $('session-end').addEventListener('click', endSession);
  onLanguageChange(() => {
    if (shownList) renderList(shownList);
    if (shownLive) renderLive(shownLive);
    if (shownCreated) showCreated(shownCreated, { quiet: true });
  });
}

// ---------- the list ----------

export function showList() {
  stop();
  stopPolling = poll(loadList, LIST_EVERY_MS);
  checkPolicy();
}

// With recording off for the whole deployment, a session's "recording
// allowed" would do nothing: say so at the checkbox.
async function checkPolicy() {
  let policy;
  try {
    policy = await api('GET', '/api/v1/policy');
  } catch {
    return;
  }
  const off = policy?.recording_allowed === false;
  const box = $('session-recording');
  box.disabled = off;
  if (off) box.checked = false;
  $('session-recording-off').hidden = !off;
}

export function stop() {
  stopPolling?.();
  stopPolling = null;
}

function setFilter(next) {
  filter = next;
  for (const tab of document.querySelectorAll('[data-filter]')) {
    tab.setAttribute('aria-selected', String(tab.dataset.filter === next));
  }
  $('sessions-body').replaceChildren();
  $('sessions-empty').hidden = true;
  shownList = null;
  if (stopPolling) showList();
}

async function loadList() {
  const wanted = filter;
  let list;
  try {
    list = await api('GET', `/api/v1/sessions${query({ state: wanted })}`);
  } catch (err) {
    reportError(err, () => t('admin/sessions.load-failed'));
    throw err;
  }
  if (wanted !== filter) return; // the tab changed while loading
  showError('');
  shownList = list?.sessions ?? [];
  renderList(shownList);
}

function renderList(sessions) {
  $('sessions-when-col').textContent = whenHeading(filter);
  fillTable($('sessions-body'), sessions.map(sessionRow), $('sessions-empty'), emptyText(filter));
}

function personCell(label, p) {
  const who = el('span', { class: 'person' },
    el('span', { class: 'dot', dataset: { on: String(Boolean(p?.connected)) }, title: t(p?.connected ? 'admin/person.connected' : 'admin/person.not-connected') }),
    p?.name ?? '—');
  if (p?.connected && p.display_name && p.display_name !== p.name) {
    who.append(el('span', { class: 'muted' }, ` ${t('admin/person.joined-as', { name: p.display_name })}`));
  }
  return td(label, who);
}

function recordingText(s) {
  if (s.recording_state === 'recording') return pill(t('admin/recording.on'), 'recording');
  if (s.recording_state === 'requested') return pill(t('admin/recording.requested'), 'requested');
  return el('span', { class: 'muted' }, t(s.recording === 'allowed' ? 'admin/recording.allowed' : 'admin/recording.off'));
}

function sessionRow(s) {
  const when = filter === 'upcoming' ? s.expires_at : filter === 'ended' ? (s.ended_at ?? s.expires_at) : s.created_at;
  const link = el('a', { href: `#sessions/${encodeURIComponent(s.id)}`, class: 'row-link' }, s.title);
  const row = el('tr', { dataset: { testid: 'session-row', id: s.id, status: s.status }, class: 'clickable' },
    td(t('admin/col.title'), link),
    personCell(roleLabel('mentor'), s.mentor),
    personCell(roleLabel('mentee'), s.mentee),
    td(t('admin/col.status'), pill(statusLabel(s.status), s.status)),
    td(t('admin/col.recording'), recordingText(s)),
    td(whenHeading(filter), timeEl(when)));
  row.addEventListener('click', (e) => {
    if (e.target.closest('a')) return;
    location.hash = `#sessions/${encodeURIComponent(s.id)}`;
  });
  return row;
}

// ---------- create ----------

const FIELD_INPUT = {
  title: 'session-title',
  'mentor.name': 'session-mentor',
  'mentee.name': 'session-mentee',
  expires_in_s: 'session-expiry',
};

// `text` may be a function that says it, to follow a change of language.
function formError(text, inputId) {
  const p = $('session-form-error');
  setText(p, text || '');
  p.hidden = !text;
  for (const id of Object.values(FIELD_INPUT)) $(id).removeAttribute('aria-invalid');
  if (inputId) {
    $(inputId).setAttribute('aria-invalid', 'true');
    $(inputId).focus();
  }
}

async function createSession() {
  const title = $('session-title').value.trim();
  const mentor = $('session-mentor').value.trim();
  const mentee = $('session-mentee').value.trim();
  const days = Number($('session-expiry').value);
  if (!title) return formError(() => t('admin/session-form.need-title'), 'session-title');
  if (!mentor) return formError(() => t('admin/session-form.need-mentor'), 'session-mentor');
  if (!mentee) return formError(() => t('admin/session-form.need-mentee'), 'session-mentee');
  if (!Number.isInteger(days) || days < 1) return formError(() => t('admin/session-form.need-days'), 'session-expiry');
  formError('');
  const button = $('session-create');
  button.disabled = true;
  try {
    const s = await api('POST', '/api/v1/sessions', {
      title,
      mentor: { name: mentor },
      mentee: { name: mentee },
      recording: $('session-recording').checked ? 'allowed' : 'off',
      expires_in_s: days * DAY_S,
    });
    showCreated(s);
    $('session-title').value = '';
    $('session-mentor').value = '';
    $('session-mentee').value = '';
    $('session-recording').checked = false;
    setFilter('upcoming');
  } catch (err) {
    const why = err.say ?? err.message;
    if (err instanceof ApiError && err.field) formError(why, FIELD_INPUT[err.field]);
    else if (err.status !== 401) formError(why);
  } finally {
    button.disabled = false;
  }
}

function showCreated(s, { quiet = false } = {}) {
  shownCreated = s;
  $('created-title').textContent = s.title;
  $('created-mentor').textContent = s.mentor?.name ?? '';
  $('created-mentee').textContent = s.mentee?.name ?? '';
  $('created-text').textContent = t('admin/created.text', { time: fmtDateTime(s.expires_at) });
  $('link-mentor').value = s.links?.mentor ?? '';
  $('link-mentee').value = s.links?.mentee ?? '';
  $('created-open').href = `#sessions/${encodeURIComponent(s.id)}`;
  $('created').dataset.id = s.id;
  $('created').hidden = false;
  if (!quiet) toast(t('admin/created.toast'));
}

// ---------- one session, live ----------

export function showLive(id) {
  stop();
  liveId = id;
  shownLive = null;
  setText($('live-title'), () => t('admin/loading'));
  $('live-status').textContent = '';
  $('live-participants').replaceChildren();
  $('live-trail').href = `#trail?session=${encodeURIComponent(id)}`;
  stopPolling = poll(loadLive, LIVE_EVERY_MS);
}

async function loadLive() {
  const id = liveId;
  let s;
  try {
    s = await api('GET', `/api/v1/sessions/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err.status === 404 || err.status === 400) {
      setText($('live-title'), () => t('admin/live.not-found'));
      stop();
      return;
    }
    reportError(err, () => t('admin/live.load-failed'));
    throw err;
  }
  if (id !== liveId) return;
  showError('');
  renderLive(s);
}

function renderLive(s) {
  shownLive = s;
  if (document.body.dataset.view === 'session') document.title = t('admin/live.page-title', { title: s.title });
  setText($('live-title'), s.title);
  const status = $('live-status');
  status.textContent = statusLabel(s.status);
  status.dataset.state = s.status;
  const rec = $('live-recording');
  rec.dataset.state = s.recording_state ?? 'off';
  rec.textContent = t(s.recording_state === 'recording' ? 'admin/recording.on' : 'admin/live.recording-requested');
  rec.hidden = !['recording', 'requested'].includes(s.recording_state);

  const bits = [t('admin/live.created', { time: fmtDateTime(s.created_at) })];
  if (s.ended_at) bits.push(t('admin/live.ended', { time: fmtDateTime(s.ended_at) }));
  else bits.push(t('admin/live.links-until', { time: fmtDateTime(s.expires_at) }));
  bits.push(t(s.recording === 'allowed' ? 'admin/live.recording-allowed' : 'admin/live.recording-off'));
  $('live-meta').textContent = bits.join(' · ');

  $('live-participants').replaceChildren(participantCard('mentor', s.mentor), participantCard('mentee', s.mentee));
  $('live-link-mentor').value = s.links?.mentor ?? '';
  $('live-link-mentee').value = s.links?.mentee ?? '';
  const over = s.status === 'ended' || s.status === 'expired';
  $('session-end').hidden = over;
}

function participantCard(role, p) {
  const connected = Boolean(p?.connected);
  const card = el('article', {
    class: 'card participant',
    dataset: { testid: 'live-participant', role, connected: String(connected) },
  });
  card.append(
    el('p', { class: 'role' }, roleLabel(role)),
    el('h2', {}, p?.name ?? '—'),
  );
  if (!connected) {
    card.append(el('p', { class: 'muted-text' }, el('span', { class: 'dot', dataset: { on: 'false' } }), t('admin/live.not-connected')));
    return card;
  }
  const since = p.connected_since;
  const facts = el('dl', { class: 'facts compact' });
  const fact = (k, ...v) => facts.append(el('dt', {}, k), el('dd', {}, ...v));
  if (p.display_name && p.display_name !== p.name) fact(t('admin/live.joined-as'), p.display_name);
  fact(t('admin/live.connected'), since
    ? el('span', { 'data-testid': 'live-since' }, t('admin/live.since', { time: fmtWhen(since), ago: fmtSince(since) }))
    : t('admin/live.yes'));
  const q = p.quality ?? {};
  const rating = q.rating ?? 'unknown';
  const qParts = [];
  if (typeof q.loss === 'number') qParts.push(t('admin/quality.loss-receiving', { percent: fmtPercent(q.loss) }));
  if (typeof q.uplink_loss === 'number') qParts.push(t('admin/quality.loss-sending', { percent: fmtPercent(q.uplink_loss) }));
  if (typeof q.rtt_ms === 'number') qParts.push(t('admin/quality.round-trip', { ms: fmtMillis(q.rtt_ms) }));
  fact(t('admin/live.connection'), pill(qualityLabel(rating), rating, { 'data-testid': 'live-quality', 'data-rating': rating }),
    qParts.length ? el('span', { class: 'muted' }, ` ${qParts.join(t('admin/separator'))}`) : null);
  // Duet holds back the other person's video while this downlink cannot
  // carry it (docs/network.md); the people in the call are told, and so is the admin.
  if (q.video_paused) fact(t('admin/live.video'), el('span', { 'data-testid': 'live-video-paused' }, t('admin/live.video-paused')));
  const m = p.media;
  if (m) {
    const media = [t(m.audio ? 'admin/media.mic-on' : 'admin/media.mic-off'), t(m.video ? 'admin/media.camera-on' : 'admin/media.camera-off')];
    if (m.screen) media.push(t('admin/media.screen'));
    fact(t('admin/col.media'), media.join(t('admin/separator')));
  }
  card.append(el('p', { class: 'connected-line' }, el('span', { class: 'dot', dataset: { on: 'true' } }), t('admin/live.in-call')), facts);
  return card;
}

async function endSession() {
  const id = liveId;
  const ok = await confirmAction({
    title: t('admin/live.end-title'),
    text: t('admin/live.end-text'),
    confirm: t('admin/live.end'),
  });
  if (!ok) return;
  try {
    const s = await api('DELETE', `/api/v1/sessions/${encodeURIComponent(id)}`);
    if (id === liveId && s) renderLive(s);
    toast(t('admin/live.ended-toast'));
  } catch (err) {
    reportError(err, () => t('admin/live.end-failed'));
  }
}
