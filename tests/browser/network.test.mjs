// Calls through bad networks, with real Chromium: both people reach Duet
// through the impairing relay (netbed.mjs), which shapes their traffic and
// moves their addresses. An address change (Wi-Fi to 4G) must be repaired
// by an ICE restart on the same connection within 3 s; 5 % loss each way
// must leave sound and pictures going.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  connectBoth,
  e2e,
  launchPerson,
  TEST_TIMEOUT_MS,
  waitForFramesDecoded,
  waitForState,
} from './harness.mjs';
import {
  classify,
  FRONT_IP,
  iceInfo,
  pageStats,
  sampleStats,
  selectedPair,
  startNetbed,
  summarize,
} from './netbed.mjs';

// The issue's goal for an address change: pictures again within 3 s.
const RECOVERY_GOAL_MS = 3000;
const LOSS_WINDOW_MS = 15_000;
const CLEAN_WINDOW_MS = 5_000;

const ctx = { server: null, people: [] };
let bed;
let mentor;
let mentee;
// Offers the server sent each page (a renegotiation it started).
const offersFromServer = { mentor: 0, mentee: 0 };

function countServerOffers(person) {
  person.context.on('page', (page) => page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => {
    try {
      if (JSON.parse(String(payload)).type === 'offer') offersFromServer[person.label] += 1;
    } catch {
      // Not JSON: not an offer.
    }
  })));
}

before(async () => {
  bed = await startNetbed();
  ctx.server = bed.server;
  [mentor, mentee] = await Promise.all([launchPerson('mentor'), launchPerson('mentee')]);
  ctx.people = [mentor, mentee];
  countServerOffers(mentor);
  countServerOffers(mentee);
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  if (bed) console.log(`nft guard dropped ${bed.guard.dropped() - bed.guard.probes} direct datagrams around the relay (besides its own probe)`);
  await bed?.stop();
}, { timeout: TEST_TIMEOUT_MS });

// A call whose both people go through the relay, checked on both pages.
async function callThroughRelay() {
  const session = await ctx.server.createSession();
  await connectBoth(session, mentor, mentee);
  await classify(bed, mentor.page, mentee.page);
  for (const person of [mentor, mentee]) {
    const pair = await selectedPair(person.page);
    assert.ok(pair, `${person.label}: a selected candidate pair`);
    assert.deepEqual(
      { address: pair.remote.address, port: pair.remote.port },
      { address: FRONT_IP, port: bed.front.port },
      `${person.label}'s selected pair goes to the relay, not around it: ${JSON.stringify(pair)}`,
    );
  }
  console.log(`selected pairs: both pages → ${bed.front.addr} (the relay); Duet's real media port is ${bed.mediaPort}`);
  return session;
}

e2e('an address change recovers through an ICE restart on the same connection within 3 s', ctx, async () => {
  const session = await callThroughRelay();
  await Promise.all([waitForFramesDecoded(mentee.page, 20), waitForFramesDecoded(mentor.page, 20)]);

  await mentee.page.evaluate(() => { window.duet.pc.__netbedMarker = 'before-switch'; });
  const menteeBefore = await iceInfo(mentee.page);
  const mentorBefore = await iceInfo(mentor.page);
  const mentorOffers = offersFromServer.mentor;

  const t0 = Date.now();
  const { moved } = await bed.cmd({ cmd: 'change_address', who: 'mentee' });
  assert.ok(moved >= 1, `the relay moved the mentee (${moved} client(s))`);

  // Poll the mentee's page: when packets stop, when its pc starts the
  // restart (a new local ufrag), and when frames are decoded again.
  const timeline = [];
  let lastPackets = null;
  let lastGrowth = t0;
  let stalledAt = null;
  let stalledFrames = null;
  let restartAt = null;
  let resumedAt = null;
  let lastState = menteeBefore.state;
  while (Date.now() - t0 < 12_000 && resumedAt === null) {
    const [s, ice] = await Promise.all([pageStats(mentee.page), iceInfo(mentee.page)]);
    const now = Date.now();
    if (s) {
      if (lastPackets !== null && s.video.packets > lastPackets) lastGrowth = now;
      lastPackets = s.video.packets;
      if (stalledAt === null && now - lastGrowth >= 300) {
        stalledAt = lastGrowth;
        stalledFrames = s.video.framesDecoded;
        timeline.push(`+${stalledAt - t0} ms video packets stop (frames ${stalledFrames})`);
      }
      if (stalledAt !== null && s.video.framesDecoded >= stalledFrames + 5) {
        resumedAt = now;
        timeline.push(`+${now - t0} ms frames decoded again (${s.video.framesDecoded})`);
      }
    }
    if (ice && restartAt === null && ice.local && ice.local !== menteeBefore.local) {
      restartAt = now;
      timeline.push(`+${now - t0} ms ICE restart: local ufrag ${menteeBefore.local} → ${ice.local}`);
    }
    if (ice && ice.state !== lastState) {
      timeline.push(`+${now - t0} ms connectionState ${lastState} → ${ice.state}`);
      lastState = ice.state;
    }
    await sleep(100);
  }
  console.log(`address change of the mentee:\n  ${timeline.join('\n  ')}`);
  assert.notEqual(stalledAt, null, 'media stopped reaching the old address (else the test moved nothing)');
  assert.notEqual(resumedAt, null, 'the mentee decodes frames again');
  const took = resumedAt - t0;
  console.log(`recovery: frames again ${took} ms after the switch (goal < ${RECOVERY_GOAL_MS} ms)`);

  const menteeAfter = await iceInfo(mentee.page);
  const mentorAfter = await iceInfo(mentor.page);
  assert.equal(menteeAfter.marker, 'before-switch', 'the mentee kept the same RTCPeerConnection');
  assert.notEqual(menteeAfter.local, menteeBefore.local, 'the mentee restarted ICE (a new local ufrag)');
  // RFC 8445 §9 has the answerer of a restart pick new credentials too;
  // Chromium copes either way, so this is only reported.
  console.log(`server ufrag for the mentee: ${menteeAfter.server === menteeBefore.server ? `unchanged by the restart (${menteeAfter.server})` : `${menteeBefore.server} → ${menteeAfter.server}`}`);
  assert.equal(offersFromServer.mentor, mentorOffers, 'the server sent the mentor no new offer');
  console.log(`mentor: ${mentorAfter.local === mentorBefore.local ? 'no ICE restart of its own' : `restarted ICE too (${mentorBefore.local} → ${mentorAfter.local})`}`);
  const pair = await selectedPair(mentee.page);
  assert.equal(pair?.remote?.address, FRONT_IP, `after the restart the mentee still goes through the relay: ${JSON.stringify(pair)}`);
  const { clients } = await bed.cmd({ cmd: 'stats' });
  const moves = clients.filter((c) => c.who === 'mentee').map((c) => c.addresses);
  console.log(`relay: the mentee's client(s) had ${moves.join(', ')} upstream address(es); selected pair after the restart ${pair.local.address}:${pair.local.port} → ${pair.remote.address}:${pair.remote.port}`);
  // The mentor gets the mentee's camera again too.
  await waitForFramesDecoded(mentor.page, 10);
  await waitForState(mentee.page, 'connected');
  assert.ok(took < RECOVERY_GOAL_MS, `frames decoded again within ${RECOVERY_GOAL_MS} ms of the switch, took ${took} ms: ${timeline.join('; ')}`);
  await ctx.server.endSession(session.id);
});

e2e('with 5 % loss each way, sound and pictures keep going both ways', ctx, async () => {
  const session = await callThroughRelay();
  await Promise.all([waitForFramesDecoded(mentee.page, 10), waitForFramesDecoded(mentor.page, 10)]);
  // A few clean seconds first, as a yardstick for the numbers under loss.
  const clean = [sampleStats(mentor.page), sampleStats(mentee.page)];
  await sleep(CLEAN_WINDOW_MS);
  const [mentorClean, menteeClean] = (await Promise.all(clean.map((s) => s.stop()))).map(summarize);
  console.log(`clean, mentor receives: ${JSON.stringify(mentorClean)}`);
  console.log(`clean, mentee receives: ${JSON.stringify(menteeClean)}`);

  const relayBefore = (await bed.cmd({ cmd: 'stats' })).stats;
  await bed.cmd({ cmd: 'scenario', name: 'loss-5' });
  const samplers = [sampleStats(mentor.page), sampleStats(mentee.page)];
  await sleep(LOSS_WINDOW_MS);
  const [mentorSamples, menteeSamples] = await Promise.all(samplers.map((s) => s.stop()));
  await bed.cmd({ cmd: 'scenario', name: 'clean' });
  const relay = (await bed.cmd({ cmd: 'stats' })).stats;

  const lossPct = (who, dir) => {
    const now = relay[who][dir];
    const was = relayBefore[who][dir];
    const pushed = now.pushed - was.pushed;
    return { pushed, lostPct: Math.round((1000 * (now.dropped_loss - was.dropped_loss)) / Math.max(1, pushed)) / 10 };
  };
  const relayed = {
    mentor: { up: lossPct('mentor', 'up'), down: lossPct('mentor', 'down') },
    mentee: { up: lossPct('mentee', 'up'), down: lossPct('mentee', 'down') },
  };
  console.log(`loss-5, relay: ${JSON.stringify(relayed)}`);
  const summary = { mentor: summarize(mentorSamples), mentee: summarize(menteeSamples) };
  for (const [who, s] of Object.entries(summary)) console.log(`loss-5, ${who} receives: ${JSON.stringify(s)}`);

  for (const [who, s] of Object.entries(summary)) {
    assert.ok(s && s.secs >= LOSS_WINDOW_MS / 1000 - 2, `${who}: a full window of samples`);
    for (const dir of ['up', 'down']) {
      assert.ok(relayed[who][dir].pushed > 100 && relayed[who][dir].lostPct > 1,
        `${who} ${dir}: the relay carried and thinned the traffic: ${JSON.stringify(relayed[who][dir])}`);
    }
    assert.ok(s.minAudioPacketsInASecond >= 10, `${who}: audio arrives every second: ${JSON.stringify(s)}`);
    assert.ok(s.fps >= 5, `${who}: video keeps being decoded (≥ 5 fps on average): ${JSON.stringify(s)}`);
  }
  await ctx.server.endSession(session.id);
});
