// Recordings: the list (refreshed while one is still being written), and
// one recording: play or download each track, hear both speakers together,
// delete it (the consent trail keeps that it existed and who deleted it).

import { api } from './admin-api.js';
import * as transcript from './admin-transcript.js';
import {
  $, confirmAction, el, fillTable, fmtBytes, fmtDuration, pill, poll, reportError,
  ROLE_LABEL, shortId, showError, td, timeEl, toast,
} from './admin-ui.js';

const LIST_EVERY_MS = 5000;
const DETAIL_EVERY_MS = 3000;

const STATUS_LABEL = { recording: 'Recording', complete: 'Complete', interrupted: 'Interrupted', deleted: 'Deleted' };
const KIND_LABEL = { audio: 'Voice', camera: 'Camera', screen: 'Shared screen' };
const KIND_ORDER = { audio: 0, camera: 1, screen: 2 };
const ROLE_ORDER = { mentor: 0, mentee: 1 };

let stopPolling = null;
let currentId = null;
let shownStatus = null;

export function init() {
  $('recording-delete').addEventListener('click', deleteRecording);
  transcript.init();
  // Deleting the media changes the tracks: draw the recording again.
  window.addEventListener('duet:recording-changed', () => {
    if (currentId !== null) showDetail(currentId);
  });
}

export function stop() {
  stopPolling?.();
  stopPolling = null;
  transcript.stop();
}

const base = (id) => `/api/v1/recordings/${encodeURIComponent(id)}`;
const fileUrl = (id, name) => `${base(id)}/files/${encodeURIComponent(name)}`;

function participantsText(r) {
  const people = r.participants ?? r.manifest?.participants ?? [];
  if (!people.length) return '—';
  const byRole = [...people].sort((a, b) => (a.role === 'mentor' ? -1 : b.role === 'mentor' ? 1 : 0));
  return byRole.map((p) => `${p.name} (${ROLE_LABEL[p.role] ?? p.role})`).join(', ');
}

function title(r) {
  return r.session_title ?? r.manifest?.session?.title ?? r.manifest?.title ?? 'Untitled session';
}

// ---------- list ----------

export function showList() {
  stop();
  stopPolling = poll(loadList, LIST_EVERY_MS);
}

async function loadList() {
  let list;
  try {
    list = await api('GET', '/api/v1/recordings');
  } catch (err) {
    reportError(err, 'Could not load the recordings');
    throw err;
  }
  showError('');
  const rows = (list?.recordings ?? []).map((r) => {
    const link = el('a', { href: `#recordings/${encodeURIComponent(r.id)}`, class: 'row-link' }, title(r));
    const row = el('tr', { class: 'clickable', dataset: { testid: 'recording-row', id: r.id, status: r.status, session: r.session_id ?? '' } },
      td('Session', link),
      td('Participants', participantsText(r)),
      td('Started', timeEl(r.started_at)),
      td('Duration', fmtDuration(r.duration_s)),
      td('Size', r.status === 'deleted' ? '—' : fmtBytes(r.size_bytes)),
      td('Status', pill(STATUS_LABEL[r.status] ?? r.status, r.status, { 'data-testid': 'recording-row-status' })));
    row.addEventListener('click', (e) => {
      if (e.target.closest('a')) return;
      location.hash = `#recordings/${encodeURIComponent(r.id)}`;
    });
    return row;
  });
  fillTable($('recordings-body'), rows, $('recordings-empty'));
}

// ---------- one recording ----------

export function showDetail(id) {
  stop();
  currentId = id;
  shownStatus = null;
  $('rec-title').textContent = 'Loading…';
  $('rec-status').textContent = '';
  $('rec-facts').replaceChildren();
  $('rec-tracks').replaceChildren();
  $('rec-mix').hidden = true;
  $('rec-gone').hidden = true;
  $('recording-delete').hidden = true;
  transcript.show(null);
  stopPolling = poll(loadDetail, DETAIL_EVERY_MS);
}

async function loadDetail() {
  const id = currentId;
  let r;
  try {
    r = await api('GET', base(id));
  } catch (err) {
    if (err.status === 404 || err.status === 400) {
      $('rec-title').textContent = 'No such recording';
      stop();
      return;
    }
    reportError(err, 'Could not load the recording');
    throw err;
  }
  if (id !== currentId) return;
  showError('');
  // Rebuilding the players would stop one that is playing: only redraw
  // when something changed that matters (the status).
  if (r.status !== shownStatus) renderDetail(r);
  if (r.status !== 'recording') {
    stopPolling?.();
    stopPolling = null;
  }
}

function renderDetail(r) {
  shownStatus = r.status;
  document.title = `Recording · ${title(r)} · Duet admin`;
  $('rec-title').textContent = title(r);
  const status = $('rec-status');
  status.textContent = STATUS_LABEL[r.status] ?? r.status;
  status.dataset.state = r.status;

  const m = r.manifest ?? {};
  const facts = $('rec-facts');
  facts.replaceChildren();
  const fact = (k, ...v) => facts.append(el('div', {}, el('dt', {}, k), el('dd', {}, ...v)));
  fact('Session', el('a', { href: `#sessions/${encodeURIComponent(r.session_id)}` }, title(r)), ' ', shortId(r.session_id));
  fact('Participants', participantsText(r));
  fact('Started', timeEl(r.started_at));
  fact('Stopped', timeEl(r.stopped_at));
  fact('Duration', fmtDuration(r.duration_s));
  if (r.status !== 'deleted') fact('Size', fmtBytes(r.size_bytes));
  if (m.stop_reason) fact('Why it stopped', String(m.stop_reason));
  const talk = r.talk_time ?? m.talk_time;
  if (talk && typeof talk === 'object') {
    fact('Talk time', Object.entries(talk).map(([role, s]) => `${ROLE_LABEL[role] ?? role} ${fmtDuration(s)}`).join(', '));
  }
  if (m.notice_hash) fact('Notice agreed to', el('code', { class: 'short-id', title: m.notice_hash }, `${m.notice_hash.slice(0, 12)}…`));
  if (r.deleted_at) fact('Deleted', timeEl(r.deleted_at), r.deleted_by ? ` by ${r.deleted_by === 'admin' ? 'an administrator' : 'a participant'}` : '');
  $('rec-trail').href = `#trail?session=${encodeURIComponent(r.session_id)}`;

  const tracks = $('rec-tracks');
  tracks.replaceChildren();
  const gone = $('rec-gone');
  if (r.status === 'deleted') {
    $('rec-mix').hidden = true;
    gone.textContent = 'The files of this recording were deleted. The consent trail keeps that it existed.';
    gone.hidden = false;
    $('recording-delete').hidden = true;
    transcript.show(null);
    return;
  }
  gone.hidden = true;
  $('recording-delete').hidden = false;
  transcript.show(r.status === 'recording' ? null : r.id);
  if (m.media_deleted) {
    tracks.append(el('p', { class: 'note' }, `The audio and video were deleted (${m.media_deleted.by === 'admin' ? 'by an administrator' : 'by a participant'}); the transcript is kept.`));
    $('rec-mix').hidden = true;
    return;
  }

  const transcripts = m.transcripts ?? [];
  const mix = $('rec-mix');
  mix.hidden = r.status === 'recording' || transcripts.length === 0;
  if (!mix.hidden) {
    const url = `${base(r.id)}/mix.wav`;
    $('rec-mix-audio').src = url;
    $('rec-mix-download').href = `${url}?download=1`;
  }
  // Each person's tracks together, the mentor first: voice, camera, screen,
  // then the voice-only file made for transcription.
  const names = Object.fromEntries((r.participants ?? m.participants ?? []).map((p) => [p.role, p.name]));
  const who = (role) => (names[role] ? `${names[role]} · ${(ROLE_LABEL[role] ?? role).toLowerCase()}` : ROLE_LABEL[role] ?? role);
  const items = [
    ...(m.tracks ?? r.tracks ?? []).map((t) => ({
      role: t.role,
      order: KIND_ORDER[t.kind] ?? 3,
      file: t.file,
      heading: KIND_LABEL[t.kind] ?? t.kind,
      info: [t.codec, fmtDuration(t.duration_s)].filter((x) => x && x !== '—').join(' · '),
      tag: t.kind === 'audio' ? 'audio' : 'video',
    })),
    ...transcripts.map((t) => ({
      role: t.role,
      order: 4,
      file: t.file,
      heading: 'Voice for transcription',
      info: typeof t.talk_seconds === 'number' ? `16 kHz WAV · ${fmtDuration(t.talk_seconds)} of speech` : '16 kHz WAV',
      tag: 'audio',
    })),
  ];
  items.sort((a, b) => (ROLE_ORDER[a.role] ?? 2) - (ROLE_ORDER[b.role] ?? 2) || a.order - b.order);
  for (const role of [...new Set(items.map((i) => i.role))]) {
    tracks.append(el('section', { class: 'person-tracks', dataset: { role } },
      el('h2', { class: 'section-head' }, who(role)),
      el('div', { class: 'track-grid' },
        items.filter((i) => i.role === role).map((i) => mediaCard(r.id, i.file, i.heading, i.info, i.tag)))));
  }
  if (r.status === 'recording') {
    tracks.prepend(el('p', { class: 'note' }, 'Still being written: the files hold what was recorded so far.'));
  }
}

function mediaCard(id, file, heading, info, tag) {
  const url = fileUrl(id, file);
  const player = el(tag, { controls: true, preload: 'metadata', src: url, 'data-testid': 'recording-player', playsinline: tag === 'video' });
  return el('article', { class: 'card media-card', dataset: { testid: 'recording-track', file } },
    el('h2', {}, heading),
    info ? el('p', { class: 'muted-text' }, info) : null,
    player,
    el('p', {}, el('a', { href: `${url}?download=1`, download: file, 'data-testid': 'recording-download' }, `Download ${file}`)));
}

async function deleteRecording() {
  const id = currentId;
  const ok = await confirmAction({
    title: 'Delete this recording?',
    text: 'Its files are deleted for good: audio, video and transcripts. The consent trail keeps that it existed and that you deleted it.',
    confirm: 'Delete recording',
  });
  if (!ok) return;
  try {
    const r = await api('DELETE', base(id));
    if (id === currentId) renderDetail(r ?? { id, status: 'deleted' });
    toast('Recording deleted.');
  } catch (err) {
    reportError(err, 'Could not delete the recording');
  }
}
