// Reading and driving the web client's page through the contract's test
// ids: call state, joining, media playback and RTP stats. Every wait polls
// a condition with a generous timeout; none sleeps as an assertion.

import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { REPO_ROOT, waitUntil } from './util.mjs';

export const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

// `call-status`'s `data-state` now, or null when the page has none.
export async function callState(page) {
  return page.evaluate(
    () => document.querySelector('[data-testid="call-status"]')?.getAttribute('data-state') ?? null,
  );
}

// Waits until `call-status`'s `data-state` is `state` (or one of them).
export async function waitForState(page, state, opts) {
  const wanted = Array.isArray(state) ? state : [state];
  let seen = null;
  await waitUntil(`call-status data-state ${wanted.join('|')}`, async () => {
    seen = await callState(page);
    return wanted.includes(seen) ? { ok: true } : { ok: false, state: seen };
  }, opts);
  return seen;
}

// Opens a join link and joins the call the way a person does: optionally
// types a name, clicks `join-button`.
export async function joinCall(person, link, { name } = {}) {
  const page = await person.open(link);
  await clickJoin(page, { name });
  return page;
}

export async function clickJoin(page, { name } = {}) {
  const input = byTestId(page, 'name-input');
  await input.waitFor({ state: 'visible' });
  if (name !== undefined) await input.fill(name);
  const button = byTestId(page, 'join-button');
  await waitUntil('join-button to be enabled', () => button.isEnabled());
  await button.click();
}

// Both people join `session` and see each other.
export async function connectBoth(session, mentor, mentee) {
  await Promise.all([joinCall(mentor, session.links.mentor), joinCall(mentee, session.links.mentee)]);
  await Promise.all([
    waitForState(mentor.page, 'connected'),
    waitForState(mentee.page, 'connected'),
    waitForVideoPlaying(mentor.page, 'remote-video'),
    waitForVideoPlaying(mentee.page, 'remote-video'),
  ]);
}

// Reads a media element's playback: size and clock.
export async function videoInfo(page, testid) {
  return page.evaluate((id) => {
    const v = document.querySelector(`[data-testid="${id}"]`);
    if (!v) return { present: false };
    const r = v.getBoundingClientRect();
    const style = getComputedStyle(v);
    return {
      present: true,
      width: v.videoWidth,
      height: v.videoHeight,
      time: v.currentTime,
      paused: v.paused,
      readyState: v.readyState,
      hasStream: Boolean(v.srcObject),
      shown: r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none'
        && !v.hidden && !v.closest('[hidden]'),
    };
  }, testid);
}

// Waits until the `<video data-testid=testid>` shows frames: it has a size,
// is visible, and its `currentTime` moves on between two polls.
export async function waitForVideoPlaying(page, testid, opts) {
  let prev = null;
  return waitUntil(`${testid} to play (videoWidth > 0, currentTime advancing, visible)`, async () => {
    const info = await videoInfo(page, testid);
    const advancing = prev !== null && info.time > prev;
    if (info.present) prev = info.time;
    return info.present && info.width > 0 && info.shown && advancing ? info : { ok: false, ...info };
  }, { interval: 300, ...opts });
}

// Waits until `testid` is absent, hidden or zero-sized.
export async function waitForVideoHidden(page, testid, opts) {
  return waitUntil(`${testid} to be hidden`, async () => {
    const info = await videoInfo(page, testid);
    return !info.present || !info.shown ? { ok: true, ...info } : { ok: false, ...info };
  }, opts);
}

// Stats of the page's current peer connection: `window.duet.pc` when the
// client exposes it, else the last recorded one that is not closed.
export async function inboundStats(page) {
  return page.evaluate(async () => {
    let pc = window.duet?.pc;
    if (!pc) {
      const all = window.__duetTestPCs ?? [];
      pc = [...all].reverse().find((p) => p.connectionState !== 'closed');
    }
    if (!pc) return null;
    const stats = await pc.getStats();
    const out = { audioPackets: 0, videoPackets: 0, framesDecoded: 0, connectionState: pc.connectionState };
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'audio') out.audioPackets += s.packetsReceived ?? 0;
      if (s.kind === 'video') {
        out.videoPackets += s.packetsReceived ?? 0;
        out.framesDecoded += s.framesDecoded ?? 0;
      }
    });
    return out;
  });
}

export async function inboundAudioPackets(page) {
  return (await inboundStats(page))?.audioPackets ?? 0;
}

// Waits until inbound audio `packetsReceived` is above zero and grows.
export async function waitForAudioFlowing(page, opts) {
  let first = null;
  return waitUntil('inbound audio packetsReceived to grow', async () => {
    const n = await inboundAudioPackets(page);
    if (first === null && n > 0) first = n;
    return first !== null && n > first ? { ok: true, first, now: n } : { ok: false, first, now: n };
  }, { interval: 300, ...opts });
}

// Waits until inbound video `framesDecoded` grows by `frames` from now.
export async function waitForFramesDecoded(page, frames = 10, opts) {
  let first = null;
  return waitUntil(`inbound video framesDecoded to grow by ${frames}`, async () => {
    const s = await inboundStats(page);
    const n = s?.framesDecoded ?? 0;
    if (first === null) first = n;
    return n - first >= frames ? { ok: true, first, now: n } : { ok: false, first, now: n, stats: s };
  }, { interval: 300, ...opts });
}

// Text of an element, '' when it is absent.
export async function textOf(page, testid) {
  const el = byTestId(page, testid).first();
  if ((await el.count()) === 0) return '';
  return (await el.innerText({ timeout: 2_000 })).trim();
}

// Where screenshots go: `docs/screenshots/` when DUET_SCREENSHOTS=1 (to
// refresh the docs' pictures), else a temp folder, so a normal run never
// touches the git tree.
export function screenshotPath(name) {
  let dir;
  if (process.env.DUET_SCREENSHOTS === '1') {
    dir = join(REPO_ROOT, 'docs', 'screenshots');
  } else {
    dir = join(tmpdir(), 'duet-browser-screenshots');
  }
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
