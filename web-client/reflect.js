// Entry point of the reflection page (/reflect#<token>[&recording=<id>]):
// one recorded call watched back, with its transcript, talk time, consent
// trail, and a way for either person to delete it.
//
// As on the pair home, the token (a join token or a personal token) comes
// in the URL fragment, moves into this tab's sessionStorage and leaves the
// address bar; every API call carries it as `Authorization: Bearer`, and
// reflect-sw.js adds it to the media files' range requests.
//
// Words come from the catalogs (i18n.js); what scripts wrote is written
// again when the person picks another language (`rewrite()`), without
// touching the player: a playing video keeps playing where it was.

import { initI18n, onLanguageChange, t } from './i18n.js';
import { ReflectApi } from './reflect-api.js';
import { fmtList, fmtSpeed, fmtStep, fmtWhen, plural } from './reflect-format.js';
import { authorizeMedia, SyncedPlayer } from './reflect-player.js';
import { showTalkTime, showTrail } from './reflect-trail.js';
import { Moments } from './reflect-moments.js';
import { Transcript } from './reflect-transcript.js';
import { $, confirmAction, setError, toast } from './ui.js';

const KEY = 'duet.reflect.link';
const POLL_MS = 10_000;

/** `{token, recording}` from the fragment (then tidied away) or this tab's storage. */
function takeLink() {
  let raw = location.hash.slice(1);
  if (raw) {
    try {
      sessionStorage.setItem(KEY, raw);
      window.history.replaceState(null, '', location.pathname + location.search);
    } catch {
      // No storage: leave the fragment, so a reload still works.
    }
  } else {
    try {
      raw = sessionStorage.getItem(KEY) || '';
    } catch {
      raw = '';
    }
  }
  const [token, ...rest] = raw.split('&');
  const params = new URLSearchParams(rest.join('&'));
  return { token: decodeURIComponent(token || ''), recording: params.get('recording') || '' };
}

/** Why the page shows no recording, by code: catalog keys. */
const DEAD = {
  no_token: 'reflect/dead.no-token',
  unauthorized: 'reflect/dead.unauthorized',
  not_found: 'reflect/dead.not-found',
};

const link = takeLink();
const api = new ReflectApi(link.token);
// The media worker starts now, beside the first API call, not after it: on
// a first visit it takes a good part of a second to install and claim.
const mediaReady = link.token ? authorizeMedia(link.token) : Promise.resolve(false);
let data = null;
let player = null;
let transcript = null;
let moments = null;
let pollTimer = 0;
/** What the page is showing that a script wrote, kept to write it again in another language. */
const shown = { dead: null, mediaNote: '', views: null };

// The page speaks the person's language before anything is shown.
await initI18n();
writeControls();

/** The skip buttons' and speeds' numbers, the language's way. */
function writeControls() {
  $('back').textContent = fmtStep(-10);
  $('forward').textContent = fmtStep(10);
  for (const option of $('speed').options) option.textContent = fmtSpeed(Number(option.value));
  // The player writes Play or Pause itself; without one the button stays Play.
  if (!player) $('play').textContent = t('reflect/play');
  if (!data && !shown.dead) $('reflect-title').textContent = t('reflect/opening');
}

function dead(code, detail) {
  clearTimeout(pollTimer);
  player?.stop();
  shown.dead = { code, detail };
  showDead();
  $('reflection').hidden = true;
  $('reflect-title').textContent = '';
  document.title = 'Duet';
  document.body.dataset.view = 'dead';
  if (code === 'unauthorized') {
    try {
      sessionStorage.removeItem(KEY);
    } catch {
      // Nothing stored.
    }
  }
}

/** The error line: our own sentence for a known code, else the server's words. */
function showDead() {
  const { code, detail } = shown.dead;
  const known = code === 'unauthorized' || code === 'not_found' || (code in DEAD && !detail);
  setError(known ? t(DEAD[code]) : (detail || t('reflect/error.other')));
}

function problem(err) {
  if (err?.status === 401) return dead('unauthorized');
  if (err?.status === 404) return dead('not_found');
  return dead('other', err?.message);
}

const roleName = (role) => data?.people?.find((p) => p.role === role)?.name || role;

function showHeader(d) {
  const title = d.recording.session_title || t('reflect/untitled');
  $('reflect-title').textContent = title;
  document.title = `${title} · Duet`;
  const when = $('reflect-when');
  when.textContent = fmtWhen(d.recording.started_at);
  when.hidden = !when.textContent;
}

/**
 * A deleted recording (or its media): say so, and what is left. One
 * sentence per case (when and by whom known or not), so each language
 * words it whole.
 */
function showDeleted(d) {
  const note = $('deleted-note');
  const rec = d.recording;
  const by = (who) => (who === 'mentor' || who === 'mentee' ? roleName(who)
    : t(who === 'server' ? 'reflect/by-server' : 'reflect/by-admin'));
  const sentence = (key, at, who) => {
    const date = at ? fmtWhen(at) : '';
    const form = `${date ? '.on' : ''}${who ? '.by' : ''}`;
    return t(`${key}${form}`, { date, who: who ? by(who) : '' });
  };
  if (rec.status === 'deleted') {
    note.textContent = sentence('reflect/deleted-all', rec.deleted_at, rec.deleted_by);
  } else if (rec.media_deleted) {
    note.textContent = sentence('reflect/deleted-media', rec.media_deleted.at, rec.media_deleted.by);
  } else {
    note.hidden = true;
    return false;
  }
  note.hidden = false;
  document.body.dataset.deleted = rec.status === 'deleted' ? 'all' : 'media';
  return true;
}

function showDeleteButtons(d) {
  $('delete-card').hidden = d.recording.status === 'deleted' || !d.viewer?.role;
  // Keeping only the transcript needs one: without it, only "everything".
  $('delete-media').hidden = Boolean(d.recording.media_deleted) || !d.tracks?.length
    || d.transcript?.status !== 'done';
}

/** Who opened this page, how often (every view is logged). */
async function showViews(d) {
  try {
    const { views } = await api.json('GET', `/api/v1/recordings/${encodeURIComponent(d.recording.id)}/views`);
    shown.views = views || [];
  } catch {
    shown.views = [];
  }
  writeViews();
}

function writeViews() {
  const line = $('views-line');
  const by = new Map();
  for (const v of shown.views || []) {
    // Keyed by who it was, not by the words, which change with the language.
    const key = v.who === 'admin' ? `admin:${v.admin}` : v.who;
    const seen = by.get(key) || { v, n: 0 };
    by.set(key, { v, n: seen.n + 1 });
  }
  const who = (v) => (v.who === 'admin' ? t('reflect/viewer-admin', { name: v.admin }) : roleName(v.who));
  line.textContent = by.size
    ? t('reflect/views', { list: fmtList([...by.values()].map(({ v, n }) => plural('reflect/viewer', n, { who: who(v), date: fmtWhen(v.at) }))) })
    : '';
  line.hidden = !by.size;
}

async function download(url, name, accept) {
  try {
    const blob = await api.blob(url, accept);
    const href = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = href;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 10_000);
  } catch (err) {
    toast(t('reflect/download-failed', { message: err.message }));
  }
}

function wireDownloads() {
  const info = () => data.transcript;
  const base = `transcript-${data.recording.id.slice(0, 8)}`;
  $('dl-vtt').addEventListener('click', () => download(info().vtt_url, `${base}.vtt`, 'text/vtt'));
  $('dl-md').addEventListener('click', () => download(info().md_url, `${base}.md`, 'text/markdown'));
  $('dl-json').addEventListener('click', () => download(info().url, `${base}.json`, 'application/json'));
}

async function addCaptions() {
  if (!player || !data.transcript?.vtt_url || player.captionsAdded) return;
  player.captionsAdded = true;
  try {
    const blob = await api.blob(data.transcript.vtt_url, 'text/vtt');
    player.addCaptions(URL.createObjectURL(blob), data.people);
  } catch {
    player.captionsAdded = false;
  }
}

async function startPlayer(d) {
  const tracks = d.tracks || [];
  const noPlayer = (key) => {
    shown.mediaNote = key;
    writeMediaNote();
    $('play').textContent = t('reflect/play');
    for (const id of ['play', 'back', 'forward', 'seek', 'speed']) $(id).disabled = true;
  };
  if (!tracks.length) {
    $('player').dataset.state = 'none';
    noPlayer(d.access === 'metadata' ? 'reflect/media.admin-only' : 'reflect/media.none');
    return;
  }
  if (!(await mediaReady)) {
    noPlayer('reflect/media.no-worker');
    return;
  }
  shown.mediaNote = '';
  writeMediaNote();
  player = new SyncedPlayer({
    stage: $('stage'),
    screen: $('screen'),
    play: $('play'),
    seek: $('seek'),
    time: $('time'),
    speed: $('speed'),
    back: $('back'),
    forward: $('forward'),
    captions: $('captions'),
  }, {
    tracks,
    people: d.people,
    duration: d.recording.duration_s,
    onTime: (at) => transcript?.setTime(at),
  });
  $('player').dataset.state = 'ready';
}

/** Why there is nothing to play, if there is not. */
function writeMediaNote() {
  const note = $('media-note');
  note.textContent = shown.mediaNote ? t(shown.mediaNote) : '';
  note.hidden = !shown.mediaNote;
}

async function showTranscript() {
  try {
    const done = await transcript.show(data.transcript);
    if (done) addCaptions();
    return done;
  } catch (err) {
    if (err?.status === 401) return problem(err);
    transcript.showProblem(err.message);
    return false;
  }
}

/** While the transcript is being made, asks again now and then. */
function pollTranscript() {
  clearTimeout(pollTimer);
  if (!['pending', 'running'].includes(data.transcript?.status)) return;
  pollTimer = setTimeout(async () => {
    try {
      const fresh = await api.reflect(data.recording.id);
      data.transcript = fresh.transcript;
      await showTranscript();
      showDeleteButtons(data);
      pollTranscript();
    } catch (err) {
      if (err?.status === 401 || err?.status === 404) problem(err);
      else pollTranscript();
    }
  }, POLL_MS);
}

async function remove(what) {
  const others = data.people.filter((p) => p.role !== data.viewer.role && p.name).map((p) => p.name);
  const media = what === 'media';
  const ok = await confirmAction(media ? {
    title: t('reflect/confirm-media.title'),
    text: t('reflect/confirm-media.text'),
    confirm: t('reflect/confirm-media.yes'),
  } : {
    title: t('reflect/confirm-all.title'),
    text: t('reflect/confirm-all.text', { others: others.length ? fmtList(others) : t('reflect/other-person') }),
    confirm: t('reflect/delete-all'),
  });
  if (!ok) return;
  try {
    if (media) await api.deleteMedia(data.recording.id);
    else await api.deleteAll(data.recording.id);
  } catch (err) {
    if (err.code === 'recording_in_progress') toast(t('reflect/delete-while-recording'));
    else toast(t('reflect/delete-failed', { message: err.message }));
    return;
  }
  player?.stop();
  player = null;
  await load();
  toast(t(media ? 'reflect/deleted-media.toast' : 'reflect/deleted-all.toast'));
}

/** The hints that name the other person (or say "the other person"). */
function writePeerHints(d) {
  const peer = d.people.find((p) => p.role !== d.viewer?.role)?.name;
  $('reflect-note-shared-label').textContent = peer ? t('reflect/share-with', { name: peer }) : t('reflect/share-with-other');
  $('moments-hint').textContent = t('reflect/moments-hint', { name: peer || t('reflect/other-person') });
}

/** Everything a script wrote, again in the language just picked; the player plays on. */
function rewrite() {
  writeControls();
  if (shown.dead) showDead();
  if (!data) return;
  showHeader(data);
  showDeleted(data);
  showTalkTime(data.talk_time, data.people);
  showTrail(data.trail, data.people);
  writeViews();
  writePeerHints(data);
  writeMediaNote();
  moments?.rewrite();
  transcript?.rewrite();
  player?.rewrite();
}

async function load() {
  let d;
  try {
    d = await api.reflect(link.recording || (data?.recording?.id ?? ''));
  } catch (err) {
    return problem(err);
  }
  const first = !data;
  data = d;
  showHeader(d);
  $('reflection').hidden = false;
  document.body.dataset.view = 'reflect';
  const deleted = showDeleted(d);
  showTalkTime(d.talk_time, d.people);
  showTrail(d.trail, d.people);
  showDeleteButtons(d);
  showViews(d);
  if (first) {
    transcript = new Transcript(api, {
      seek: (at) => player?.seek(at),
      duration: d.recording.duration_s || 0,
    });
    wireDownloads();
    moments = new Moments(api, {
      seek: (at) => {
        player?.seek(at);
        transcript?.setTime(at);
      },
      now: () => player?.now() ?? 0,
      names: roleName,
      viewer: d.viewer?.role || null,
    });
  }
  writePeerHints(d);
  moments.show(d);
  if (deleted || first) {
    $('stage').replaceChildren();
    $('screen').replaceChildren();
    await startPlayer(d);
  }
  if (d.recording.status === 'deleted') {
    $('transcript-list').replaceChildren();
    await transcript.show({ status: 'none' });
  } else {
    await showTranscript();
    pollTranscript();
  }
  return d;
}

onLanguageChange(rewrite);
if (!link.token) dead('no_token');
else {
  $('delete-media').addEventListener('click', () => remove('media'));
  $('delete-all').addEventListener('click', () => remove('all'));
  load();
}
