// One scenario of the bad-network matrix, measured twice in one run: the
// call through Duet (netbed.mjs) and the direct call between the same two
// pages (directcall.mjs), each under the same impairment; then judged
// against the goal.
//
// Each person *receives*: the mentor's numbers are about the mentee's
// camera and voice reaching the mentor, and the other way round.

import { setTimeout as sleep } from 'node:timers/promises';

import { connectBoth, waitForFramesDecoded } from './harness.mjs';
import { directCall, hangUpDirect } from './directcall.mjs';
import { classify, sampleStats, summarize } from './netbed.mjs';

// How long a scenario runs before and while it is measured. Bandwidth
// estimators need several seconds to settle after conditions change.
export const SETTLE_MS = Number(process.env.DUET_NETWORK_SETTLE_MS ?? 8000);
export const WINDOW_MS = Number(process.env.DUET_NETWORK_WINDOW_MS ?? 15_000);
// Scenarios with events (an outage, an address change) are measured from
// the moment the events start, long enough to see the recovery.
const EVENT_WINDOW_MS = 25_000;

// The goal, against the direct call in the same run. Freezes and
// concealment get a small absolute allowance, since on a clean link both
// are near zero and 1.2 × 0 would fail on one stray freeze. Concealment's
// is two points: at uplink-500 the sender's congestion control keeps a
// deeper queue on its uplink when Duet gives the feedback (RTT 27–47 ms
// against 5–19 ms direct), and the other person hears 0.2–1.3 % of audio
// concealed against 0 % (16 runs here), while seeing 960-wide video
// against 640 direct. One point failed CI at 1.1 %; docs/network.md.
export const GOAL = {
  framesShare: 0.9,
  widthShare: 0.5,
  freezeRatio: 1.2,
  freezeAllowanceS: 0.5,
  concealRatio: 1.2,
  concealAllowancePct: 2.0,
};

// Runs `name` on one call: `start()` connects it, `relayCmd` drives the
// relay in front of it, `stop()` hangs up. Returns both people's samples.
async function measureOne({ name, people, relayCmd, start, stop }) {
  await start();
  await Promise.all(people.map((p) => waitForFramesDecoded(p.page, 10)));
  const { scenario } = await relayCmd({ cmd: 'scenario', name });
  let samplers;
  if (scenario.events.length) {
    samplers = people.map((p) => sampleStats(p.page));
    await relayCmd({ cmd: 'events' });
    await sleep(EVENT_WINDOW_MS);
  } else {
    await sleep(SETTLE_MS);
    samplers = people.map((p) => sampleStats(p.page));
    await sleep(WINDOW_MS);
  }
  const [mentor, mentee] = await Promise.all(samplers.map((s) => s.stop()));
  await relayCmd({ cmd: 'scenario', name: 'clean' });
  await stop();
  return { mentor, mentee };
}

// Both calls under the scenario called `name` (tests/src/impair/scenario.rs).
// `duetBed` is netbed's, `directBed` directcall's. `direct: false` skips the yardstick (an address change breaks a
// TURN allocation, which a plain page does not repair, so there is nothing
// fair to compare with; its goal is absolute).
export async function measureScenario({ name, duetBed, directBed, mentor, mentee, direct = true }) {
  const people = [mentor, mentee];
  let session;
  const duet = await measureOne({
    name,
    people,
    relayCmd: (c) => duetBed.cmd(c),
    async start() {
      session = await duetBed.server.createSession();
      await connectBoth(session, mentor, mentee);
      await classify(duetBed, mentor.page, mentee.page);
    },
    async stop() {
      await duetBed.server.endSession(session.id);
    },
  });
  let directSamples = null;
  if (direct) {
    directSamples = await measureOne({
      name,
      people,
      relayCmd: (c) => directBed.cmd(c),
      start: () => directCall(directBed, duetBed.server.base, mentor, mentee),
      stop: () => hangUpDirect(mentor, mentee),
    });
  }
  return { name, duet, direct: directSamples };
}

// The median of per-sample frame widths: what a person mostly saw, not
// the best or last second.
function medianWidth(samples) {
  const widths = samples.map((s) => s.video.frameWidth).sort((a, b) => a - b);
  return widths.length ? widths[Math.floor(widths.length / 2)] : 0;
}

// What one receiver saw over the window, for the report and the goal.
export function receiverSummary(samples) {
  const s = summarize(samples);
  if (!s) return null;
  const frames = samples.at(-1).video.framesDecoded - samples[0].video.framesDecoded;
  return { ...s, frames, medianWidth: medianWidth(samples) };
}

// The goal's checks for one receiver: each `{what, ok, duet, direct, need}`.
export function judge(duet, direct) {
  const pct = (x) => Math.round(x * 100);
  return [
    {
      what: 'frames decoded',
      duet: duet.frames,
      direct: direct.frames,
      need: `≥ ${pct(GOAL.framesShare)} % of direct`,
      ok: duet.frames >= GOAL.framesShare * direct.frames,
    },
    {
      what: 'median width',
      duet: duet.medianWidth,
      direct: direct.medianWidth,
      need: `≥ ${pct(GOAL.widthShare)} % of direct`,
      ok: duet.medianWidth >= GOAL.widthShare * direct.medianWidth,
    },
    {
      what: 'freeze time (s)',
      duet: duet.freezeSecs,
      direct: direct.freezeSecs,
      need: `≤ ${GOAL.freezeRatio} × direct + ${GOAL.freezeAllowanceS} s`,
      ok: duet.freezeSecs <= GOAL.freezeRatio * direct.freezeSecs + GOAL.freezeAllowanceS,
    },
    {
      what: 'audio concealed (%)',
      duet: duet.concealedPct,
      direct: direct.concealedPct,
      need: `≤ ${GOAL.concealRatio} × direct + ${GOAL.concealAllowancePct} pt`,
      ok: duet.concealedPct <= GOAL.concealRatio * direct.concealedPct + GOAL.concealAllowancePct,
    },
  ];
}

// Per-second series of one receiver's samples, for plots.
export function perSecond(samples) {
  return samples.slice(1).map((s, i) => {
    const p = samples[i];
    const secs = Math.max(0.001, (s.at - p.at) / 1000);
    const samplesIn = s.audio.totalSamplesReceived - p.audio.totalSamplesReceived;
    return {
      t: (s.at - samples[0].at) / 1000,
      fps: (s.video.framesDecoded - p.video.framesDecoded) / secs,
      width: s.video.frameWidth,
      concealedPct: samplesIn > 0 ? (100 * (s.audio.concealedSamples - p.audio.concealedSamples)) / samplesIn : 0,
      kbps: (8 * (s.sent.videoBytes - p.sent.videoBytes)) / secs / 1000,
    };
  });
}
