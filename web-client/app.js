// Entry point of the join page (/join#<token>). The token is the URL
// fragment: it never goes into a URL, a log or storage, and the fragment
// stays in the address bar so that a reload rejoins.
//
// Flow: check the link (preview) and open camera and microphone at the same
// time → pre-join screen → join → call → ended screen (with rejoin).

import { MomentMarker } from './call-moments.js';
import { CallPairPanel } from './call-pair.js';
import { wireControls } from './controls.js';
import { DevicePickers } from './devices.js';
import { initI18n, t } from './i18n.js';
import { LocalMedia } from './media.js';
import { mediaProblemText, refusalText } from './messages.js';
import { autoRejoin, fetchPreview, markInCall, renderPreview, saveName, wasInCall } from './prejoin.js';
import { Session } from './session.js';
import { Stage } from './stage.js';
import { renderStatus } from './status.js';
import { $, setError, setTitle, showView, toast } from './ui.js';

// The one global, for tests: the current RTCPeerConnection (or null).
window.duet = { pc: null };

// The page speaks the person's language before anything is shown.
await initI18n();

const token = location.hash.slice(1);
// The check page gets the link too (in its fragment, never sent), so it can
// test the TURN relay with this participant's credentials.
$('check-link').href = `/check#${token}`;
const joinButton = $('join-button');
let info = null;
let joinLabel = 'join.now';
setJoinLabel(joinLabel);

/** The join button's words, by catalog key (written again in another language). */
function setJoinLabel(key) {
  joinLabel = key;
  joinButton.textContent = t(key);
}

const media = new LocalMedia();
const stage = new Stage();
const pickers = new DevicePickers(media, [$('remote-video')]);
const session = new Session({
  token,
  media,
  stage,
  info: null,
  hooks: { onJoined, onRefused, onEnded },
});
const controls = wireControls({ session, media, stage, pickers, displayName });

function displayName() {
  return $('name-input').value.trim() || info?.you?.name || '';
}

function preJoinStatus(errorText) {
  renderStatus({ phase: 'prejoin', errorText });
}

async function startMedia() {
  $('media-retry').hidden = true;
  const status = await media.start();
  pickers.refresh();
  controls.reflect();
  showMediaProblem();
  return status;
}

/** On the pre-join screen: what is wrong with camera or microphone, if anything. */
function showMediaProblem() {
  const status = media.status;
  if (status.audio === 'pending' || session.phase !== 'prejoin' || session.errorText || linkDead) return;
  const problem = mediaProblemText(status, info?.peer?.name || 'the other person');
  // Replace only our own earlier notice, never another message (say, an
  // unreachable server).
  const current = $('error-message').textContent;
  if (problem || current === shownProblem) setError(problem);
  shownProblem = problem;
  $('media-retry').hidden = !problem || status.audio === 'unsupported';
}

let linkDead = false;
let mediaReady = null;
let shownProblem = '';

async function boot() {
  showView('prejoin');
  stage.attachSelf('prejoin');
  stage.setLocalStream(media.stream);
  media.addEventListener('change', () => stage.setLocalStream(media.stream));
  if (!token) {
    fail('no_token');
    return;
  }
  mediaReady = startMedia();
  pickers.setMeterRunning(true);
  pickers.applySavedSpeaker();
  const result = await fetchPreview(token);
  if (!result.ok && result.code !== 'unreachable') {
    fail(result.code);
    return;
  }
  if (result.ok) {
    info = result.info;
    session.info = info;
    setTitle(info.session.title);
    renderPreview(info);
    stage.expectedPeer = info.peer.name;
    stage.setPeer(null);
    showMediaProblem(); // now with the other person's name
    // A pair's call: its agenda and this call's notes beside the stage.
    const panel = info.pair?.id ? new CallPairPanel({ token, info, controls }) : null;
    new MomentMarker({ token, info, onMarked: () => panel?.loadMoments().catch(() => {}) });
  } else {
    setError(refusalText('unreachable'));
    $('joining-as').textContent = t('call/link-unchecked');
  }
  preJoinStatus('');
  joinButton.disabled = false;
  controls.reflect();
  if (wasInCall(info)) autoRejoin(join);
}

/** Codes with their own heading on the "cannot join" screen. */
const DEAD_HEADING = new Set(['invalid_token', 'token_expired', 'session_ended', 'no_token']);

/** The link cannot work: say why, and offer nothing to click. */
function fail(code) {
  linkDead = true;
  setError(refusalText(code));
  setTitle('');
  joinButton.disabled = true;
  preJoinStatus(t('call/cannot-join'));
  $('ended-heading').textContent = DEAD_HEADING.has(code) ? t(`call/dead.${code}`) : t('call/cannot-join');
  $('ended-detail').textContent = '';
  $('rejoin-button').hidden = true;
  showView('ended');
  // No call is coming: release the camera and microphone.
  pickers.setMeterRunning(false);
  (mediaReady || Promise.resolve()).then(() => media.stopAll());
}

async function join() {
  if (session.phase !== 'prejoin') return;
  joinButton.disabled = true;
  setJoinLabel('join.joining');
  // Wait for the camera/microphone answer, but not forever: a permission
  // prompt left open must not keep someone out. Tracks that arrive later
  // are put on the connection as they come.
  await Promise.race([mediaReady, new Promise((r) => setTimeout(r, 5000))]);
  const name = displayName();
  saveName(info, name);
  setError('');
  session.join(name);
}

// Another link pasted into this tab changes only the fragment, which
// browsers do not reload for: start over with the new token.
window.addEventListener('hashchange', () => location.reload());

$('media-retry').addEventListener('click', () => {
  mediaReady = startMedia();
});

$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (!joinButton.disabled) join();
});

function onJoined() {
  markInCall(info, true);
  setError('');
  pickers.setMeterRunning(false);
  placeDevices('call');
  showView('call');
  stage.attachSelf('call');
  controls.reflect();
  // The join button is gone: put keyboard focus on the first control.
  $('mute-audio').focus({ preventScroll: true });
}

/** The device pickers live on the pre-join card, and in the call's Devices panel. */
function placeDevices(where) {
  if (where === 'call') $('settings-slot').append($('devices'));
  else $('join-form').insertBefore($('devices'), $('rejoin-note'));
}

function onRefused(code, text) {
  placeDevices('prejoin');
  setError(text);
  showView('prejoin');
  stage.attachSelf('prejoin');
  // Only a full room may free up; a dead link stays dead.
  const retry = code === 'session_full';
  joinButton.disabled = !retry;
  setJoinLabel(retry ? 'join.again' : 'join.now');
  if (retry) pickers.setMeterRunning(true);
  else fail(code);
}

/**
 * The end screen per way of ending: whether it offers to join again, and
 * whether it has a detail line (`call/ended.{kind}.detail`) under the
 * heading (`call/ended.{kind}`); the button says `call/ended.{kind}.action`.
 */
const ENDED = {
  left: { action: true, detail: false },
  replaced: { action: true, detail: true },
  server_shutdown: { action: true, detail: true },
  ended: { action: false, detail: true },
  expired: { action: false, detail: true },
  session_ended: { action: false, detail: true },
  token_expired: { action: false, detail: true },
  invalid_token: { action: false, detail: true },
  error: { action: true, detail: false },
};
let ending = null;

function onEnded(kind, text) {
  markInCall(info, false);
  placeDevices('prejoin');
  controls.closePanels();
  ending = { kind: kind in ENDED ? kind : 'error', text };
  const button = $('rejoin-button');
  button.disabled = false;
  renderEnded();
  const action = !button.hidden;
  // A recorded call: watch it back on the reflection page, with this link's token.
  const reflect = $('reflect-link');
  reflect.hidden = !session.recording.recorded || kind === 'replaced';
  reflect.href = `/reflect#${token}`;
  showView('ended');
  stage.attachSelf('prejoin');
  if (action) button.focus();
}

/** The end screen's words, again in a newly chosen language. */
function renderEnded() {
  const { kind, text } = ending;
  const shape = ENDED[kind];
  $('ended-heading').textContent = t(`call/ended.${kind}`);
  // The session's own reason (already in the page's language) beats the
  // generic detail, except for a replaced tab, whose detail says more.
  const detail = shape.detail ? t(`call/ended.${kind}.detail`) : '';
  $('ended-detail').textContent = text && kind !== 'replaced' ? text : detail;
  const button = $('rejoin-button');
  button.hidden = !shape.action;
  if (shape.action && !button.disabled) button.textContent = t(`call/ended.${kind}.action`);
}

// Low-bandwidth mode, remembered on this device: a weak connection
// usually stays weak for the next call too.
const LOW_BW_KEY = 'duet.lowBandwidth';
$('low-bandwidth').checked = (() => {
  try {
    return localStorage.getItem(LOW_BW_KEY) === '1';
  } catch {
    return false;
  }
})();
session.setLowBandwidth($('low-bandwidth').checked);
$('low-bandwidth').addEventListener('change', () => {
  const on = $('low-bandwidth').checked;
  session.setLowBandwidth(on);
  try {
    localStorage.setItem(LOW_BW_KEY, on ? '1' : '0');
  } catch {
    // Not remembered; this call still has it.
  }
  toast(t(on ? 'call/low-bandwidth-on' : 'call/low-bandwidth-off'));
});

$('rejoin-button').addEventListener('click', async () => {
  const button = $('rejoin-button');
  button.disabled = true;
  button.textContent = t('call/rejoining');
  ending = null;
  mediaReady = startMedia();
  await mediaReady;
  setError('');
  session.join(displayName());
});

boot();

// Another language chosen: what scripts wrote is written again in it.
window.addEventListener('duet-language', () => {
  setJoinLabel(joinLabel);
  controls.reflect();
  session.render();
  session.recording.render();
  session.captions.render();
  if (info) renderPreview(info);
  if (ending) renderEnded();
});
