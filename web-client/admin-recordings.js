// Recordings: the list (refreshed while one is still being written), and
// one recording: play or download each track, hear both speakers together,
// delete it (the consent trail keeps that it existed and who deleted it).
//
// Words come from the catalog (`admin/recordings.*`); sizes, durations and
// dates go through Intl in the page's language (admin-ui.js). A language
// switch redraws the view from the last answer, keeping the players (and
// where they are).

import { api } from './admin-api.js';
import * as transcript from './admin-transcript.js';
import {
  $, confirmAction, el, fillTable, fmtBytes, fmtDuration, fmtList, pill, poll, reportError, roleLabel,
  setText, shortId, showError, td, timeEl, toast,
} from './admin-ui.js';
import { onLanguageChange, t } from './i18n.js';

const LIST_EVERY_MS = 5000;
const DETAIL_EVERY_MS = 3000;

const STATUSES = ['recording', 'complete', 'interrupted', 'deleted'];
const KINDS = ['audio', 'camera', 'screen'];
const KIND_ORDER = { audio: 0, camera: 1, screen: 2 };
const ROLE_ORDER = { mentor: 0, mentee: 1 };

let stopPolling = null;
let currentId = null;
// The last answers drawn, to redraw them in another language.
let listShown = null;
let detailShown = null;
// Set when the recording must be drawn again even if its status is the same.
let redraw = false;

export function init() {
  $('recording-delete').addEventListener('click', deleteRecording);
  transcript.init();
  // Deleting the media changes the tracks: draw the recording again.
  window.addEventListener('duet:recording-changed', () => {
    if (currentId !== null) showDetail(currentId);
  });
  onLanguageChange(() => {
    if (!$('view-recordings').hidden && listShown) renderList(listShown);
    if (!$('view-recording').hidden && detailShown) renderDetail(detailShown);
  });
}

export function stop() {
  stopPolling?.();
  stopPolling = null;
  transcript.stop();
}

const base = (id) => `/api/v1/recordings/${encodeURIComponent(id)}`;
const fileUrl = (id, name) => `${base(id)}/files/${encodeURIComponent(name)}`;

// ---------- words and numbers ----------

function statusLabel(status) {
  return STATUSES.includes(status) ? t(`admin/recordings.status.${status}`) : status;
}

/**
 * A translated sentence with an element where its `{field}` is: the
 * catalog decides where the element goes (word order differs by language).
 */
function withNode(key, field, node) {
  const [before, after = ''] = t(key).split(`{${field}}`);
  return [before, node, after].filter((x) => x !== '');
}

function participantsText(r) {
  const people = r.participants ?? r.manifest?.participants ?? [];
  if (!people.length) return '—';
  const byRole = [...people].sort((a, b) => (ROLE_ORDER[a.role] ?? 2) - (ROLE_ORDER[b.role] ?? 2));
  return fmtList(byRole.map((p) => t('admin/recordings.participant', { name: p.name, role: roleLabel(p.role) })));
}

function title(r) {
  return r.session_title ?? r.manifest?.session?.title ?? r.manifest?.title ?? t('admin/recordings.untitled');
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
    reportError(err, () => t('admin/recordings.list-failed'));
    throw err;
  }
  showError('');
  renderList(list?.recordings ?? []);
}

function renderList(recordings) {
  listShown = recordings;
  const rows = recordings.map((r) => {
    const link = el('a', { href: `#recordings/${encodeURIComponent(r.id)}`, class: 'row-link' }, title(r));
    const row = el('tr', { class: 'clickable', dataset: { testid: 'recording-row', id: r.id, status: r.status, session: r.session_id ?? '' } },
      td(t('admin/recordings.session'), link),
      td(t('admin/recordings.participants'), participantsText(r)),
      td(t('admin/recordings.started'), timeEl(r.started_at)),
      td(t('admin/recordings.duration'), fmtDuration(r.duration_s)),
      td(t('admin/recordings.size'), r.status === 'deleted' ? '—' : fmtBytes(r.size_bytes)),
      td(t('admin/recordings.status'), pill(statusLabel(r.status), r.status, { 'data-testid': 'recording-row-status' })));
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
  redraw = true;
  // The same recording again (back from elsewhere, or its media deleted):
  // keep what is drawn, so a player keeps its place until the redraw.
  if (id === currentId && detailShown) {
    stopPolling = poll(loadDetail, DETAIL_EVERY_MS);
    return;
  }
  currentId = id;
  detailShown = null;
  setText($('rec-title'), () => t('admin/recordings.loading'));
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
      setText($('rec-title'), () => t('admin/recordings.not-found'));
      detailShown = null;
      stop();
      return;
    }
    reportError(err, () => t('admin/recordings.load-failed'));
    throw err;
  }
  if (id !== currentId) return;
  showError('');
  // Rebuilding the players would stop one that is playing: only redraw
  // when something changed that matters (the status).
  if (redraw || r.status !== detailShown?.status) renderDetail(r);
  redraw = false;
  if (r.status !== 'recording') {
    stopPolling?.();
    stopPolling = null;
  }
}

function renderDetail(r) {
  // The players already on the page for this recording in this status
  // are moved into the new cards as they are (still playing, same place).
  const reuse = detailShown?.id === r.id && detailShown?.status === r.status;
  const players = new Map(reuse
    ? [...$('rec-tracks').querySelectorAll('[data-testid="recording-player"]')].map((p) => [p.getAttribute('src'), p])
    : []);
  detailShown = r;
  document.title = t('admin/recordings.page-title', { title: title(r) });
  setText($('rec-title'), title(r));
  const status = $('rec-status');
  status.textContent = statusLabel(r.status);
  status.dataset.state = r.status;

  const m = r.manifest ?? {};
  const facts = $('rec-facts');
  facts.replaceChildren();
  const fact = (k, ...v) => facts.append(el('div', {}, el('dt', {}, k), el('dd', {}, ...v)));
  fact(t('admin/recordings.session'), el('a', { href: `#sessions/${encodeURIComponent(r.session_id)}` }, title(r)), ' ', shortId(r.session_id));
  fact(t('admin/recordings.participants'), participantsText(r));
  fact(t('admin/recordings.started'), timeEl(r.started_at));
  fact(t('admin/recordings.stopped'), timeEl(r.stopped_at));
  fact(t('admin/recordings.duration'), fmtDuration(r.duration_s));
  if (r.status !== 'deleted') fact(t('admin/recordings.size'), fmtBytes(r.size_bytes));
  // The server's own words (kept as written, like its error messages).
  if (m.stop_reason) fact(t('admin/recordings.stop-reason'), String(m.stop_reason));
  const talk = r.talk_time ?? m.talk_time;
  if (talk && typeof talk === 'object') {
    const each = Object.entries(talk)
      .sort(([a], [b]) => (ROLE_ORDER[a] ?? 2) - (ROLE_ORDER[b] ?? 2))
      .map(([role, s]) => t('admin/recordings.talk-of', { role: roleLabel(role), duration: fmtDuration(s) }));
    fact(t('admin/recordings.talk-time'), fmtList(each));
  }
  if (m.notice_hash) fact(t('admin/recordings.notice'), el('code', { class: 'short-id', title: m.notice_hash }, `${m.notice_hash.slice(0, 12)}…`));
  if (r.deleted_at) {
    const by = r.deleted_by && (r.deleted_by === 'admin' ? 'admin' : 'participant');
    const when = timeEl(r.deleted_at);
    fact(t('admin/recordings.deleted'), ...(by ? withNode(`admin/recordings.deleted-by-${by}`, 'when', when) : [when]));
  }
  $('rec-trail').href = `#trail?session=${encodeURIComponent(r.session_id)}`;

  const tracks = $('rec-tracks');
  tracks.replaceChildren();
  const gone = $('rec-gone');
  if (r.status === 'deleted') {
    $('rec-mix').hidden = true;
    gone.textContent = t('admin/recordings.gone');
    gone.hidden = false;
    $('recording-delete').hidden = true;
    transcript.show(null);
    return;
  }
  gone.hidden = true;
  $('recording-delete').hidden = false;
  transcript.show(r.status === 'recording' ? null : r.id);
  if (m.media_deleted) {
    const by = m.media_deleted.by === 'admin' ? 'admin' : 'participant';
    tracks.append(el('p', { class: 'note' }, t(`admin/recordings.media-deleted-by-${by}`)));
    $('rec-mix').hidden = true;
    return;
  }

  const transcripts = m.transcripts ?? [];
  const mix = $('rec-mix');
  mix.hidden = r.status === 'recording' || transcripts.length === 0;
  if (!mix.hidden) {
    const url = `${base(r.id)}/mix.wav`;
    // Setting `src` again, even to the same URL, reloads it and stops it.
    const audio = $('rec-mix-audio');
    if (audio.getAttribute('src') !== url) audio.src = url;
    $('rec-mix-download').href = `${url}?download=1`;
  }
  // Each person's tracks together, the mentor first: voice, camera, screen,
  // then the voice-only file made for transcription.
  const names = Object.fromEntries((r.participants ?? m.participants ?? []).map((p) => [p.role, p.name]));
  const who = (role) => (names[role] && role in ROLE_ORDER
    ? t(`admin/recordings.person.${role}`, { name: names[role] })
    : names[role] ?? roleLabel(role));
  const wav = '16 kHz WAV';
  const items = [
    ...(m.tracks ?? r.tracks ?? []).map((tr) => ({
      role: tr.role,
      order: KIND_ORDER[tr.kind] ?? 3,
      file: tr.file,
      heading: KINDS.includes(tr.kind) ? t(`admin/recordings.kind.${tr.kind}`) : tr.kind,
      info: [tr.codec, fmtDuration(tr.duration_s)].filter((x) => x && x !== '—').join(' · '),
      tag: tr.kind === 'audio' ? 'audio' : 'video',
    })),
    ...transcripts.map((tr) => ({
      role: tr.role,
      order: 4,
      file: tr.file,
      heading: t('admin/recordings.kind.transcription'),
      info: typeof tr.talk_seconds === 'number'
        ? `${wav} · ${t('admin/recordings.speech', { duration: fmtDuration(tr.talk_seconds) })}`
        : wav,
      tag: 'audio',
    })),
  ];
  items.sort((a, b) => (ROLE_ORDER[a.role] ?? 2) - (ROLE_ORDER[b.role] ?? 2) || a.order - b.order);
  for (const role of [...new Set(items.map((i) => i.role))]) {
    tracks.append(el('section', { class: 'person-tracks', dataset: { role } },
      el('h2', { class: 'section-head' }, who(role)),
      el('div', { class: 'track-grid' },
        items.filter((i) => i.role === role).map((i) => mediaCard(r.id, i, players)))));
  }
  if (r.status === 'recording') {
    tracks.prepend(el('p', { class: 'note' }, t('admin/recordings.still-writing')));
  }
}

function mediaCard(id, { file, heading, info, tag }, players) {
  const url = fileUrl(id, file);
  const player = players.get(url)
    ?? el(tag, { controls: true, preload: 'metadata', src: url, 'data-testid': 'recording-player', playsinline: tag === 'video' });
  return el('article', { class: 'card media-card', dataset: { testid: 'recording-track', file } },
    el('h2', {}, heading),
    info ? el('p', { class: 'muted-text' }, info) : null,
    player,
    el('p', {}, el('a', { href: `${url}?download=1`, download: file, 'data-testid': 'recording-download' },
      t('admin/recordings.download', { file }))));
}

async function deleteRecording() {
  const id = currentId;
  const ok = await confirmAction({
    title: t('admin/recordings.delete-confirm.title'),
    text: t('admin/recordings.delete-confirm.text'),
    confirm: t('admin/recordings.delete-confirm.confirm'),
  });
  if (!ok) return;
  try {
    const r = await api('DELETE', base(id));
    if (id === currentId) renderDetail(r ?? { id, status: 'deleted' });
    toast(t('admin/recordings.deleted-toast'));
  } catch (err) {
    reportError(err, () => t('admin/recordings.delete-failed'));
  }
}
