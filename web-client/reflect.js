// Entry point of the reflection page (/reflect#<token>[&recording=<id>]):
// one recorded call watched back, with its transcript, talk time, consent
// trail, and a way for either person to delete it.
//
// As on the pair home, the token (a join token or a personal token) comes
// in the URL fragment, moves into this tab's sessionStorage and leaves the
// address bar; every API call carries it as `Authorization: Bearer`, and
// reflect-sw.js adds it to the media files' range requests.

import { ReflectApi } from './reflect-api.js';
import { authorizeMedia, SyncedPlayer } from './reflect-player.js';
import { showTalkTime, showTrail } from './reflect-trail.js';
import { Moments } from './reflect-moments.js';
import { Transcript } from './reflect-transcript.js';
import { fmtDayTime } from './pair-time.js';
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

const DEAD = {
  no_token: 'This page needs the link you were given. Open it exactly as it is.',
  unauthorized: 'This link does not work any more: it may have been replaced, revoked or expired. '
    + 'Open the recording from your pair home or your call link again.',
  not_found: 'There is no recording here for this link: nothing was recorded, it was deleted, '
    + 'or it belongs to someone else.',
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

function dead(code, detail) {
  clearTimeout(pollTimer);
  player?.stop();
  setError(detail && code !== 'unauthorized' && code !== 'not_found' ? detail : (DEAD[code] || detail || DEAD.unauthorized));
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

function problem(err) {
  if (err?.status === 401) return dead('unauthorized');
  if (err?.status === 404) return dead('not_found');
  return dead('other', err?.message || 'Something went wrong.');
}

const roleName = (role) => data?.people?.find((p) => p.role === role)?.name || role;

function showHeader(d) {
  const title = d.recording.session_title || 'Your recorded call';
  $('reflect-title').textContent = title;
  document.title = `${title} · Duet`;
  const when = $('reflect-when');
  when.textContent = fmtDayTime(new Date(d.recording.started_at));
  when.hidden = false;
}

/** A deleted recording (or its media): say so, and what is left. */
function showDeleted(d) {
  const note = $('deleted-note');
  const rec = d.recording;
  const by = (who) => (who === 'mentor' || who === 'mentee' ? roleName(who)
    : who === 'server' ? 'the server (its keeping period ran out)' : 'an administrator');
  if (rec.status === 'deleted') {
    note.textContent = `This recording was deleted${rec.deleted_at ? ` on ${fmtDayTime(new Date(rec.deleted_at))}` : ''}`
      + `${rec.deleted_by ? ` by ${by(rec.deleted_by)}` : ''}. Its video, sound and transcript are gone; the consent trail stays.`;
  } else if (rec.media_deleted) {
    note.textContent = `The video and sound were deleted${rec.media_deleted.at ? ` on ${fmtDayTime(new Date(rec.media_deleted.at))}` : ''}`
      + `${rec.media_deleted.by ? ` by ${by(rec.media_deleted.by)}` : ''}. The transcript is kept.`;
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
  const line = $('views-line');
  try {
    const { views } = await api.json('GET', `/api/v1/recordings/${encodeURIComponent(d.recording.id)}/views`);
    const by = new Map();
    for (const v of views || []) {
      const who = v.who === 'admin' ? `an administrator (${v.admin})` : roleName(v.who);
      const seen = by.get(who) || { n: 0, last: null };
      by.set(who, { n: seen.n + 1, last: v.at });
    }
    line.textContent = by.size
      ? `Watched by ${[...by].map(([who, v]) => `${who} ${v.n === 1 ? 'once' : `${v.n} times`}, last ${fmtDayTime(new Date(v.last))}`).join('; ')}.`
      : '';
    line.hidden = !by.size;
  } catch {
    line.hidden = true;
  }
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
    toast(`Could not download: ${err.message}`);
  }
}

function wireDownloads() {
  const t = () => data.transcript;
  const base = `transcript-${data.recording.id.slice(0, 8)}`;
  $('dl-vtt').addEventListener('click', () => download(t().vtt_url, `${base}.vtt`, 'text/vtt'));
  $('dl-md').addEventListener('click', () => download(t().md_url, `${base}.md`, 'text/markdown'));
  $('dl-json').addEventListener('click', () => download(t().url, `${base}.json`, 'application/json'));
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
  const note = $('media-note');
  if (!tracks.length) {
    $('player').dataset.state = 'none';
    note.textContent = d.access === 'metadata'
      ? 'This server keeps recordings from administrators: only the facts are shown.'
      : 'There is no video or sound to play.';
    note.hidden = false;
    for (const id of ['play', 'back', 'forward', 'seek', 'speed']) $(id).disabled = true;
    return;
  }
  if (!(await mediaReady)) {
    note.textContent = 'This browser cannot play the recording here (it needs service workers). '
      + 'The transcript below still works.';
    note.hidden = false;
    for (const id of ['play', 'back', 'forward', 'seek', 'speed']) $(id).disabled = true;
    return;
  }
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
    onTime: (t) => transcript?.setTime(t),
  });
  $('player').dataset.state = 'ready';
}

async function showTranscript() {
  try {
    const done = await transcript.show(data.transcript);
    if (done) addCaptions();
    return done;
  } catch (err) {
    if (err?.status === 401) return problem(err);
    $('transcript-state').textContent = `The transcript could not be loaded: ${err.message}`;
    $('transcript-state').hidden = false;
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
  const others = data.people.filter((p) => p.role !== data.viewer.role).map((p) => p.name).join(' and ');
  const media = what === 'media';
  const ok = await confirmAction({
    title: media ? 'Delete the video and sound?' : 'Delete the whole recording?',
    text: media
      ? 'Both cameras, both voices and any shared screen of this call are deleted for good. The transcript, talk time and consent trail stay.'
      : `The video, the sound and the transcript of this call are deleted for good, for ${others || 'the other person'} too. Only the consent trail stays, saying that you deleted it.`,
    confirm: media ? 'Delete video and sound' : 'Delete everything',
  });
  if (!ok) return;
  try {
    if (media) await api.deleteMedia(data.recording.id);
    else await api.deleteAll(data.recording.id);
  } catch (err) {
    if (err.code === 'recording_in_progress') toast('The recording is still being made: it can be deleted once the call stops recording.');
    else toast(`Could not delete: ${err.message}`);
    return;
  }
  player?.stop();
  player = null;
  await load();
  toast(media ? 'The video and sound are deleted.' : 'The recording is deleted.');
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
  showTrail(d.trail);
  showDeleteButtons(d);
  showViews(d);
  if (first) {
    transcript = new Transcript(api, {
      seek: (t) => player?.seek(t),
      duration: d.recording.duration_s || 0,
    });
    wireDownloads();
    moments = new Moments(api, {
      seek: (t) => {
        player?.seek(t);
        transcript?.setTime(t);
      },
      now: () => player?.now() ?? 0,
      names: roleName,
      viewer: d.viewer?.role || null,
    });
    const peer = d.people.find((p) => p.role !== d.viewer?.role);
    if (peer?.name) {
      $('reflect-note-shared-label').textContent = `Share with ${peer.name}`;
      $('moments-peer').textContent = peer.name;
    }
  }
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

if (!link.token) dead('no_token');
else {
  $('delete-media').addEventListener('click', () => remove('media'));
  $('delete-all').addEventListener('click', () => remove('all'));
  load();
}
