// Calls that outlive a node (issue: several nodes behind one URL). Three
// `duet` nodes share one PostgreSQL database behind a round-robin front
// door (cluster.mjs); two Chromium pages join through it. When the node
// holding the call is killed (`kill -9`), both pages are back in a call on
// another node within 15 s, with nothing for the people to do; when it is
// drained, the call moves with one short reconnect.
//
// Needs DUET_TEST_DATABASE_URL: tests/run.sh runs the browser tests inside
// a throwaway PostgreSQL when it is root; elsewhere these tests skip.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { databaseUrl, startCluster } from './cluster.mjs';
import {
  connectBoth,
  e2e,
  launchPerson,
  TEST_TIMEOUT_MS,
  waitForFramesDecoded,
  waitForState,
  waitForVideoPlaying,
  waitUntil,
} from './harness.mjs';

const skip = databaseUrl() ? false : 'needs DUET_TEST_DATABASE_URL (tests/run.sh as root)';
const ctx = { server: null, people: [] };
let mentor;
let mentee;

before(async () => {
  if (skip) return;
  // Calls on a stopped node end at once (no grace to wait out), and move.
  ctx.server = await startCluster(3, { env: { DUET_SHUTDOWN_GRACE_PERIOD_S: '0' } });
  [mentor, mentee] = await Promise.all([launchPerson('mentor'), launchPerson('mentee')]);
  ctx.people = [mentor, mentee];
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
}, { timeout: TEST_TIMEOUT_MS });

// Both pages in a call, media decoded both ways, on one node (not
// `except`).
async function inOneCall(cluster, session, except) {
  await Promise.all([
    waitForState(mentor.page, 'connected'),
    waitForState(mentee.page, 'connected'),
  ]);
  const holder = await waitUntil('one node to hold the call', async () => {
    const node = await cluster.holder(session);
    return node && node !== except ? node : { ok: false, node: node?.id };
  });
  await Promise.all([
    waitForFramesDecoded(mentor.page, 20),
    waitForFramesDecoded(mentee.page, 20),
    waitForVideoPlaying(mentor.page, 'remote-video'),
    waitForVideoPlaying(mentee.page, 'remote-video'),
  ]);
  return holder;
}

// Starts noting each change of a page's `call-status` state, so that a
// reconnect shorter than a poll is not missed.
async function watchStates(page) {
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="call-status"]');
    window.__duetStates = [el.getAttribute('data-state')];
    new MutationObserver(() => window.__duetStates.push(el.getAttribute('data-state')))
      .observe(el, { attributes: true, attributeFilter: ['data-state'] });
  });
}

// Resolves when both pages have left 'connected' and come back to it,
// with the time that took from `since`.
async function backInCall(since, timeout) {
  await waitUntil('both pages to lose the call and get it back', async () => {
    const seen = await Promise.all([mentor.page, mentee.page].map((page) => page.evaluate(() => window.__duetStates)));
    const back = seen.every((states) => {
      const lost = states.findIndex((s) => s !== 'connected');
      return lost >= 0 && states.slice(lost).includes('connected');
    });
    return back || { ok: false, seen };
  }, { timeout, interval: 100 });
  return Date.now() - since;
}

e2e('kill -9 of the node holding a call: both pages are back within 15 s', ctx, async (t) => {
  if (skip) return t.skip(skip);
  const cluster = ctx.server;
  const session = await cluster.createSession();
  await connectBoth(session, mentor, mentee);
  const holder = await inOneCall(cluster, session);
  console.log(`the call is on ${holder.id}; killing it`);

  await Promise.all([watchStates(mentor.page), watchStates(mentee.page)]);
  const killedAt = Date.now();
  await holder.kill();
  const took = await backInCall(killedAt, 20_000);
  const now = await inOneCall(cluster, session, holder);
  const total = Date.now() - killedAt;
  console.log(`both pages were connected again ${took} ms after kill -9, on ${now.id}; media both ways after ${total} ms`);
  assert.notEqual(now.id, holder.id);
  assert.ok(total < 15_000, `back in a call within 15 s, media flowing: ${total} ms`);
  await cluster.nodes.find((n) => n === now).endSession(session.id);
});

e2e('draining the node holding a call moves it with one short reconnect', ctx, async (t) => {
  if (skip) return t.skip(skip);
  const cluster = ctx.server;
  const session = await cluster.createSession();
  await connectBoth(session, mentor, mentee);
  const holder = await inOneCall(cluster, session);
  console.log(`the call is on ${holder.id}; draining it`);

  await Promise.all([watchStates(mentor.page), watchStates(mentee.page)]);
  const drainedAt = Date.now();
  const stopped = holder.stop();
  const took = await backInCall(drainedAt, 15_000);
  const now = await inOneCall(cluster, session, holder);
  const total = Date.now() - drainedAt;
  console.log(`both pages were connected again ${took} ms after SIGTERM, on ${now.id}; media both ways after ${total} ms`);
  await stopped;
  assert.notEqual(now.id, holder.id);
  assert.ok(total < 10_000, `one short reconnect: ${total} ms`);
});
