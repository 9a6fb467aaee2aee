// The ways a call goes on or ends: a reload rejoins, leaving frees the place
// and tells the other person, ending the session over the API ends it in
// both pages.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import {
  byTestId,
  callState,
  clickJoin,
  connectBoth,
  e2e,
  joinCall,
  launchPerson,
  startServer,
  TEST_TIMEOUT_MS,
  textOf,
  waitForFramesDecoded,
  waitForState,
  waitForVideoPlaying,
  waitUntil,
} from './harness.mjs';

const ctx = { server: null, people: [] };
let mentor;
let mentee;

before(async () => {
  ctx.server = await startServer();
  [mentor, mentee] = await Promise.all([launchPerson('mentor'), launchPerson('mentee')]);
  ctx.people = [mentor, mentee];
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
}, { timeout: TEST_TIMEOUT_MS });

e2e('reloading the page rejoins the call', ctx, async () => {
  const session = await ctx.server.createSession();
  await connectBoth(session, mentor, mentee);

  await mentee.page.reload();
  // A person lands either back in the call or on the join screen again;
  // on the join screen they click join.
  const where = await waitUntil('the reloaded page to rejoin or offer to join', async () => {
    const state = await callState(mentee.page).catch(() => null);
    if (state === 'connected') return 'in the call';
    if (await byTestId(mentee.page, 'join-button').isVisible()) return 'join screen';
    return { ok: false, state };
  });
  console.log(`after a reload the mentee is ${where === 'join screen' ? 'on the join screen (clicks join)' : 'back in the call'}`);
  // The page may also go on by itself a moment after showing the join
  // screen (it rejoins once the camera is ready), taking the button away
  // under the click: then there is nothing to click, and the waits below
  // decide.
  if (where === 'join screen') {
    await byTestId(mentee.page, 'join-button').click({ timeout: 5000 }).catch(async (e) => {
      if (await byTestId(mentee.page, 'join-button').isVisible()) throw e;
    });
  }

  await Promise.all([
    waitForState(mentee.page, 'connected'),
    waitForState(mentor.page, 'connected'),
    waitForVideoPlaying(mentee.page, 'remote-video'),
  ]);
  // The mentor's page decodes the reloaded page's camera, not a frozen frame.
  await waitForFramesDecoded(mentor.page, 20);
  await waitForVideoPlaying(mentor.page, 'remote-video');
  const seen = await ctx.server.getSession(session.id);
  assert.equal(seen.mentee.connected, true);
  await ctx.server.endSession(session.id);
});

e2e('a second tab with the same link takes over, and the first is told why', ctx, async () => {
  const session = await ctx.server.createSession();
  await connectBoth(session, mentor, mentee);

  const first = mentee.page;
  const second = await mentee.context.newPage();
  await second.goto(session.links.mentee);
  await clickJoin(second);
  await Promise.all([
    waitForState(first, ['ended', 'error']),
    waitForState(second, 'connected'),
    waitForVideoPlaying(second, 'remote-video'),
  ]);
  const said = (await textOf(first, 'call-status')) || (await textOf(first, 'error-message'));
  assert.notEqual(said, '', 'the first tab says why it left the call');
  console.log(`the replaced tab says: "${said}"`);
  await waitForFramesDecoded(mentor.page, 20);
  await waitForVideoPlaying(mentor.page, 'remote-video');
  await waitForState(mentor.page, 'connected');

  mentee.page = second;
  await first.close();
  await ctx.server.endSession(session.id);
});

e2e('when the mentee leaves, the mentor waits', ctx, async () => {
  const session = await ctx.server.createSession();
  // Alone in the call, the mentor waits; then the mentee comes.
  await joinCall(mentor, session.links.mentor);
  await waitForState(mentor.page, 'waiting');
  await joinCall(mentee, session.links.mentee);
  await Promise.all([
    waitForState(mentor.page, 'connected'),
    waitForState(mentee.page, 'connected'),
    waitForVideoPlaying(mentor.page, 'remote-video'),
    waitForVideoPlaying(mentee.page, 'remote-video'),
  ]);

  await byTestId(mentee.page, 'leave').click();
  await waitForState(mentor.page, 'waiting');
  await waitForState(mentee.page, ['ended', 'waiting']);
  await waitUntil('the API to show the mentee gone', async () => {
    const s = await ctx.server.getSession(session.id);
    return s.mentee.connected === false && s.mentor.connected === true ? true : { ok: false, s };
  });

  // The mentee comes back with the same link, and the call resumes.
  await mentee.open(session.links.mentee);
  await clickJoin(mentee.page);
  await Promise.all([
    waitForState(mentor.page, 'connected'),
    waitForState(mentee.page, 'connected'),
    waitForVideoPlaying(mentor.page, 'remote-video'),
    waitForVideoPlaying(mentee.page, 'remote-video'),
  ]);
  await ctx.server.endSession(session.id);
});

e2e('ending the session over the API ends it in both pages', ctx, async () => {
  const session = await ctx.server.createSession();
  await connectBoth(session, mentor, mentee);

  await ctx.server.endSession(session.id);
  await Promise.all([waitForState(mentor.page, 'ended'), waitForState(mentee.page, 'ended')]);

  // The link no longer works, and the page says so.
  await mentee.open(session.links.mentee);
  const message = byTestId(mentee.page, 'error-message');
  await waitUntil('an error-message for the ended session', async () => {
    if (await message.isVisible()) return true;
    // If the page still offers to join, joining must be refused.
    const button = byTestId(mentee.page, 'join-button');
    if (await button.isVisible() && await button.isEnabled()) await button.click();
    return false;
  });
  assert.notEqual(await textOf(mentee.page, 'error-message'), '');
  assert.notEqual(await callState(mentee.page).catch(() => null), 'connected');
});
