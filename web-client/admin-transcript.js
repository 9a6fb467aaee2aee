// A recording's transcript in the console: the job's status while it is
// made, then who said what and when, with a search that keeps only the
// matching lines; a time plays the conversation from there. Also the two
// transcript actions: transcribe again, and delete the media while keeping
// the transcript.

import { api } from './admin-api.js';
import { $, confirmAction, el, poll, reportError, ROLE_LABEL, toast } from './admin-ui.js';

const EVERY_MS = 2000;
const STATUS_TEXT = {
  pending: 'Waiting for its turn to be transcribed…',
  running: 'Being transcribed…',
  failed: 'Transcription failed.',
  off: 'Not transcribed.',
};

let stopPolling = null;
let currentId = null;
let segments = [];

const base = (id) => `/api/v1/recordings/${encodeURIComponent(id)}`;

export function init() {
  $('transcript-search').addEventListener('input', renderSegments);
  $('transcript-requeue').addEventListener('click', requeue);
  $('transcript-keep-only').addEventListener('click', deleteMedia);
}

export function stop() {
  stopPolling?.();
  stopPolling = null;
}

/** Shows the transcript of recording `id`; hides the section for none. */
export function show(id) {
  stop();
  currentId = id;
  segments = [];
  $('rec-transcript').hidden = id === null;
  if (id === null) return;
  $('transcript-search').value = '';
  $('transcript-lines').replaceChildren();
  stopPolling = poll(load, EVERY_MS);
}

async function load() {
  const id = currentId;
  let t;
  try {
    t = await api('GET', `${base(id)}/transcript`);
  } catch (err) {
    reportError(err, 'Could not load the transcript');
    throw err;
  }
  if (id !== currentId) return;
  const state = $('transcript-state');
  state.dataset.state = t.status;
  const progress = $('transcript-progress');
  progress.hidden = t.status !== 'running';
  progress.value = t.progress ?? 0;
  const done = t.status === 'done';
  state.textContent = done
    ? `${t.segments.length} ${t.segments.length === 1 ? 'line' : 'lines'}${t.language ? ` · language ${t.language}` : ''}${t.model ? ` · ${t.model}` : ''}`
    : [STATUS_TEXT[t.status] ?? t.status, t.reason ?? t.error ?? ''].filter(Boolean).join(' ');
  $('transcript-tools').hidden = !done;
  $('transcript-requeue').hidden = !(t.status === 'failed' || (t.status === 'off' && !/no model/.test(t.reason ?? '')));
  $('transcript-download-vtt').href = `${base(id)}/transcript?format=vtt`;
  $('transcript-download-md').href = `${base(id)}/transcript?format=md`;
  if (done) {
    segments = t.segments;
    renderSegments();
  }
  if (!(t.status === 'pending' || t.status === 'running')) stop();
}

function clock(s) {
  const t = Math.max(0, Math.floor(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor(t / 60) % 60;
  const sec = String(t % 60).padStart(2, '0');
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

function renderSegments() {
  const q = $('transcript-search').value.trim().toLowerCase();
  const shown = q ? segments.filter((s) => s.text.toLowerCase().includes(q) || s.name.toLowerCase().includes(q)) : segments;
  const lines = $('transcript-lines');
  lines.replaceChildren(...shown.map((s) =>
    el('li', { class: 'transcript-line', dataset: { testid: 'transcript-line', role: s.role } },
      el('button', {
        type: 'button',
        class: 'link-btn transcript-time',
        title: 'Play from here',
        onclick: () => playFrom(s.start_s),
      }, clock(s.start_s)),
      el('span', { class: 'transcript-who' }, `${s.name} · ${(ROLE_LABEL[s.role] ?? s.role).toLowerCase()}`),
      el('span', { class: 'transcript-text' }, ...marked(s.text, q)))));
  const empty = $('transcript-empty');
  empty.hidden = shown.length > 0;
  empty.textContent = q ? 'Nothing matches.' : 'No speech was found in this recording.';
}

function playFrom(seconds) {
  const audio = $('rec-mix-audio');
  if ($('rec-mix').hidden) return;
  audio.preload = 'auto';
  audio.currentTime = seconds;
  audio.play().catch(() => {});
}

async function requeue() {
  try {
    await api('POST', `${base(currentId)}/transcript`);
    toast('Queued for transcription.');
    show(currentId);
  } catch (err) {
    reportError(err, 'Could not queue the transcription');
  }
}

async function deleteMedia() {
  const ok = await confirmAction({
    title: 'Delete the audio and video, keep the transcript?',
    text: 'The recording’s audio and video files are deleted for good; the transcript stays. The consent trail records that you did it.',
    confirm: 'Delete media',
  });
  if (!ok) return;
  try {
    await api('DELETE', `${base(currentId)}/media`);
    toast('Media deleted; the transcript is kept.');
    window.dispatchEvent(new CustomEvent('duet:recording-changed'));
  } catch (err) {
    reportError(err, 'Could not delete the media');
  }
}
