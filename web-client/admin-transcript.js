// A recording's transcript in the console: the job's status while it is
// made, then who said what and when, with a search that keeps only the
// matching lines; a time plays the conversation from there. Also the two
// transcript actions: transcribe again, and delete the media while keeping
// the transcript.
//
// Words come from the catalog (`admin/transcript.*`). What was said, the
// model's name and the server's error messages are shown as they are.

import { api } from './admin-api.js';
import { $, confirmAction, el, poll, reportError, toast } from './admin-ui.js';
import { onLanguageChange, t } from './i18n.js';
import { languageName, plural } from './intl-format.js';

const EVERY_MS = 2000;
const STATUSES = ['pending', 'running', 'failed', 'off'];
const ROLES = ['mentor', 'mentee'];
// The server explains an "off" or "pending" transcript in English; the ones
// it can give are known, so they are said in the page's language.
const REASONS = [
  [/no model/, 'reason.no-model'],
  [/not transcribed/, 'reason.not-transcribed'],
  [/still being written/, 'reason.still-writing'],
];

let stopPolling = null;
let currentId = null;
let last = null;
let segments = [];

const base = (id) => `/api/v1/recordings/${encodeURIComponent(id)}`;

export function init() {
  $('transcript-search').addEventListener('input', renderSegments);
  $('transcript-requeue').addEventListener('click', requeue);
  $('transcript-keep-only').addEventListener('click', deleteMedia);
  onLanguageChange(() => {
    if (last && currentId !== null) render(last);
  });
}

export function stop() {
  stopPolling?.();
  stopPolling = null;
}

/**
 * Shows the transcript of recording `id`; hides the section for none.
 * The same recording again keeps the search and the lines until the next
 * answer redraws them.
 */
export function show(id) {
  stop();
  const same = id !== null && id === currentId;
  currentId = id;
  $('rec-transcript').hidden = id === null;
  if (id === null) {
    last = null;
    segments = [];
    return;
  }
  if (!same) {
    last = null;
    segments = [];
    $('transcript-search').value = '';
    $('transcript-lines').replaceChildren();
  }
  stopPolling = poll(load, EVERY_MS);
}

async function load() {
  const id = currentId;
  let answer;
  try {
    answer = await api('GET', `${base(id)}/transcript`);
  } catch (err) {
    reportError(err, () => t('admin/transcript.load-failed'));
    throw err;
  }
  if (id !== currentId) return;
  render(answer);
  if (!(answer.status === 'pending' || answer.status === 'running')) stop();
}

function reasonText(reason) {
  if (!reason) return '';
  const known = REASONS.find(([pattern]) => pattern.test(reason));
  return known ? t(`admin/transcript.${known[1]}`) : reason;
}

function doneText(tr) {
  const bits = [plural('admin/transcript.lines', tr.segments.length)];
  if (tr.language) bits.push(t('admin/transcript.language', { language: languageName(tr.language) }));
  if (tr.model) bits.push(tr.model);
  return bits.join(' · ');
}

function render(tr) {
  last = tr;
  const id = currentId;
  const state = $('transcript-state');
  state.dataset.state = tr.status;
  const progress = $('transcript-progress');
  progress.hidden = tr.status !== 'running';
  progress.value = tr.progress ?? 0;
  const done = tr.status === 'done';
  const status = STATUSES.includes(tr.status) ? t(`admin/transcript.status.${tr.status}`) : tr.status;
  const why = reasonText(tr.reason) || tr.error;
  state.textContent = done
    ? doneText(tr)
    : (why ? t('admin/transcript.status-why', { status, why }) : status);
  $('transcript-tools').hidden = !done;
  $('transcript-requeue').hidden = !(tr.status === 'failed' || (tr.status === 'off' && !/no model/.test(tr.reason ?? '')));
  $('transcript-download-vtt').href = `${base(id)}/transcript?format=vtt`;
  $('transcript-download-md').href = `${base(id)}/transcript?format=md`;
  if (done) {
    segments = tr.segments;
    renderSegments();
  }
}

function clock(s) {
  const total = Math.max(0, Math.floor(s));
  const h = Math.floor(total / 3600);
  const m = Math.floor(total / 60) % 60;
  const sec = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** The text with every match of `q` marked (built as nodes, never HTML). */
function marked(text, q) {
  if (!q) return [text];
  const out = [];
  const lower = text.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, at)) {
    out.push(text.slice(at, i), el('mark', {}, text.slice(i, i + q.length)));
    at = i + q.length;
  }
  out.push(text.slice(at));
  return out;
}

function speaker(s) {
  return ROLES.includes(s.role) ? t(`admin/transcript.speaker.${s.role}`, { name: s.name }) : `${s.name} · ${s.role}`;
}

function renderSegments() {
  const q = $('transcript-search').value.trim().toLowerCase();
  const shown = q ? segments.filter((s) => s.text.toLowerCase().includes(q) || s.name.toLowerCase().includes(q)) : segments;
  const lines = $('transcript-lines');
  lines.replaceChildren(...shown.map((s) =>
    el('li', { class: 'transcript-line', dataset: { testid: 'transcript-line', role: s.role } },
      el('button', {
        type: 'button',
        class: 'link-btn transcript-time',
        title: t('admin/transcript.play-from'),
        onclick: () => playFrom(s.start_s),
      }, clock(s.start_s)),
      el('span', { class: 'transcript-who' }, speaker(s)),
      el('span', { class: 'transcript-text' }, ...marked(s.text, q)))));
  const empty = $('transcript-empty');
  empty.hidden = shown.length > 0;
  empty.textContent = q ? t('admin/transcript.no-match') : t('admin/transcript.no-speech');
}

function playFrom(seconds) {
  const audio = $('rec-mix-audio');
  if ($('rec-mix').hidden) return;
  audio.preload = 'auto';
  audio.currentTime = seconds;
  audio.play().catch(() => {});
}

async function requeue() {
  const id = currentId;
  try {
    await api('POST', `${base(id)}/transcript`);
    toast(t('admin/transcript.queued'));
    // From the start: the old status and lines are no longer true.
    currentId = null;
    show(id);
  } catch (err) {
    reportError(err, () => t('admin/transcript.queue-failed'));
  }
}

async function deleteMedia() {
  const ok = await confirmAction({
    title: t('admin/transcript.delete-media-confirm.title'),
    text: t('admin/transcript.delete-media-confirm.text'),
    confirm: t('admin/transcript.delete-media-confirm.confirm'),
  });
  if (!ok) return;
  try {
    await api('DELETE', `${base(currentId)}/media`);
    toast(t('admin/transcript.media-deleted'));
    window.dispatchEvent(new CustomEvent('duet:recording-changed'));
  } catch (err) {
    reportError(err, () => t('admin/transcript.delete-media-failed'));
  }
}
