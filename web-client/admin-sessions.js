// Sessions: create one and hand out its links; the list by state (live,
// upcoming, ended), refreshed every few seconds; and one session live: who
// is connected, since when, how well, whether it is recorded, and End.

import { api, ApiError, query } from './admin-api.js';
import {
  $, confirmAction, el, fillTable, fmtDateTime, fmtSince, fmtWhen, pill, poll, reportError,
  ROLE_LABEL, showError, td, timeEl, toast,
} from './admin-ui.js';

const LIST_EVERY_MS = 3000;
const LIVE_EVERY_MS = 2000;
const DAY_S = 86400;

let filter = 'live';
let stopPolling = null;
let liveId = null;

const STATUS_LABEL = { live: 'Live', open: 'Upcoming', ended: 'Ended', expired: 'Expired' };
const QUALITY_LABEL = { good: 'Good', fair: 'Fair', poor: 'Poor', unknown: 'Unknown' };
const EMPTY_TEXT = {
  live: 'Nobody is in a call right now.',
  upcoming: 'No upcoming sessions. Create one above.',
  ended: 'No ended sessions yet.',
};

export function init() {
  $('session-form').addEventListener('submit', (e) => {
    e.preventDefault();
    createSession();
  });
  for (const tab of document.querySelectorAll('[data-filter]')) {
    tab.addEventListener('click', () => setFilter(tab.dataset.filter));
  }
  $('session-end').addEventListener('click', endSession);
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
  if (stopPolling) showList();
}

async function loadList() {
  const wanted = filter;
  let list;
  try {
    list = await api('GET', `/api/v1/sessions${query({ state: wanted })}`);
  } catch (err) {
    reportError(err, 'Could not load the sessions');
    throw err;
  }
  if (wanted !== filter) return; // the tab changed while loading
  showError('');
  $('sessions-when-col').textContent = { live: 'Created', upcoming: 'Links expire', ended: 'Ended' }[wanted];
  const rows = (list?.sessions ?? []).map(sessionRow);
  fillTable($('sessions-body'), rows, $('sessions-empty'), EMPTY_TEXT[wanted]);
}

function personCell(label, p) {
  const who = el('span', { class: 'person' },
    el('span', { class: 'dot', dataset: { on: String(Boolean(p?.connected)) }, title: p?.connected ? 'connected' : 'not connected' }),
    p?.name ?? '—');
  if (p?.connected && p.display_name && p.display_name !== p.name) {
    who.append(el('span', { class: 'muted' }, ` (as ${p.display_name})`));
  }
  return td(label, who);
}

function recordingText(s) {
  if (s.recording_state === 'recording') return pill('Recording', 'recording');
  if (s.recording_state === 'requested') return pill('Requested', 'requested');
  return el('span', { class: 'muted' }, s.recording === 'allowed' ? 'Allowed' : 'Off');
}

function sessionRow(s) {
  const when = filter === 'upcoming' ? s.expires_at : filter === 'ended' ? (s.ended_at ?? s.expires_at) : s.created_at;
  const link = el('a', { href: `#sessions/${encodeURIComponent(s.id)}`, class: 'row-link' }, s.title);
  const row = el('tr', { dataset: { testid: 'session-row', id: s.id, status: s.status }, class: 'clickable' },
    td('Title', link),
    personCell('Mentor', s.mentor),
    personCell('Mentee', s.mentee),
    td('Status', pill(STATUS_LABEL[s.status] ?? s.status, s.status)),
    td('Recording', recordingText(s)),
    td($('sessions-when-col').textContent, timeEl(when)));
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

function formError(text, inputId) {
  const p = $('session-form-error');
  p.textContent = text || '';
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
  if (!title) return formError('Give the session a title.', 'session-title');
  if (!mentor) return formError("Enter the mentor's name.", 'session-mentor');
  if (!mentee) return formError("Enter the mentee's name.", 'session-mentee');
  if (!Number.isInteger(days) || days < 1) return formError('The links must work for at least one whole day.', 'session-expiry');
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
    if (err instanceof ApiError && err.field) formError(err.message, FIELD_INPUT[err.field]);
    else if (err.status !== 401) formError(err.message);
  } finally {
    button.disabled = false;
  }
}

function showCreated(s) {
  $('created-title').textContent = s.title;
  $('created-mentor').textContent = s.mentor?.name ?? '';
  $('created-mentee').textContent = s.mentee?.name ?? '';
  $('created-expiry').textContent = fmtDateTime(s.expires_at);
  $('link-mentor').value = s.links?.mentor ?? '';
  $('link-mentee').value = s.links?.mentee ?? '';
  $('created-open').href = `#sessions/${encodeURIComponent(s.id)}`;
  $('created').dataset.id = s.id;
  $('created').hidden = false;
  toast('Session created. Copy each link and send it to that person.');
}

// ---------- one session, live ----------

export function showLive(id) {
  stop();
  liveId = id;
  $('live-title').textContent = 'Loading…';
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
      $('live-title').textContent = 'No such session';
      stop();
      return;
    }
    reportError(err, 'Could not load the session');
    throw err;
  }
  if (id !== liveId) return;
  showError('');
  renderLive(s);
}

function renderLive(s) {
  document.title = `${s.title} · Duet admin`;
  $('live-title').textContent = s.title;
  const status = $('live-status');
  status.textContent = STATUS_LABEL[s.status] ?? s.status;
  status.dataset.state = s.status;
  const rec = $('live-recording');
  rec.dataset.state = s.recording_state ?? 'off';
  rec.textContent = s.recording_state === 'recording' ? 'Recording' : 'Recording requested';
  rec.hidden = !['recording', 'requested'].includes(s.recording_state);

  const bits = [`Created ${fmtDateTime(s.created_at)}`];
  if (s.ended_at) bits.push(`ended ${fmtDateTime(s.ended_at)}`);
  else bits.push(`links work until ${fmtDateTime(s.expires_at)}`);
  bits.push(s.recording === 'allowed' ? 'recording allowed with both people\'s consent' : 'recording off');
  $('live-meta').textContent = `${bits.join(' · ')}.`;

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
    el('p', { class: 'role' }, ROLE_LABEL[role]),
    el('h2', {}, p?.name ?? '—'),
  );
  if (!connected) {
    card.append(el('p', { class: 'muted-text' }, el('span', { class: 'dot', dataset: { on: 'false' } }), 'Not connected'));
    return card;
  }
  const since = p.connected_since;
  const facts = el('dl', { class: 'facts compact' });
  const fact = (k, ...v) => facts.append(el('dt', {}, k), el('dd', {}, ...v));
  if (p.display_name && p.display_name !== p.name) fact('Joined as', p.display_name);
  fact('Connected', since
    ? el('span', { 'data-testid': 'live-since' }, `since ${fmtWhen(since)} (${fmtSince(since)})`)
    : 'yes');
  const q = p.quality ?? {};
  const rating = q.rating ?? 'unknown';
  const qParts = [];
  const pct = (x) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;
  if (typeof q.loss === 'number') qParts.push(`${pct(q.loss)} loss receiving`);
  if (typeof q.uplink_loss === 'number') qParts.push(`${pct(q.uplink_loss)} sending`);
  if (typeof q.rtt_ms === 'number') qParts.push(`${Math.round(q.rtt_ms)} ms round trip`);
  fact('Connection', pill(QUALITY_LABEL[rating] ?? rating, rating, { 'data-testid': 'live-quality', 'data-rating': rating }),
    qParts.length ? el('span', { class: 'muted' }, ` ${qParts.join(', ')}`) : null);
  // Duet holds back the other person's video while this downlink cannot
  // carry it (docs/network.md); the people in the call are told, and so is the admin.
  if (q.video_paused) fact('Video', el('span', { 'data-testid': 'live-video-paused' }, 'paused: their connection is too weak to receive video'));
  const m = p.media;
  if (m) {
    const media = [m.audio ? 'microphone on' : 'microphone off', m.video ? 'camera on' : 'camera off'];
    if (m.screen) media.push('sharing the screen');
    fact('Media', media.join(', '));
  }
  card.append(el('p', { class: 'connected-line' }, el('span', { class: 'dot', dataset: { on: 'true' } }), 'In the call'), facts);
  return card;
}

async function endSession() {
  const id = liveId;
  const ok = await confirmAction({
    title: 'End this session?',
    text: 'Both people are disconnected at once and their links stop working. A recording in progress stops and keeps what was written.',
    confirm: 'End session',
  });
  if (!ok) return;
  try {
    const s = await api('DELETE', `/api/v1/sessions/${encodeURIComponent(id)}`);
    if (id === liveId && s) renderLive(s);
    toast('Session ended.');
  } catch (err) {
    reportError(err, 'Could not end the session');
  }
}
