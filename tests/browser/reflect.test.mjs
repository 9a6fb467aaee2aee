// The reflection page, as the two people use it after a recorded call: the
// mentee opens it from the pair home, plays both cameras and both voices
// on one timeline (they stay in step), seeks, reads the consent trail; a
// stranger's link gets a clear error. In each of Duet's languages the page
// speaks that language (switched under a playing video, which plays on).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before } from 'node:test';

import { assertAccessible, assertKeyboardReachable } from './a11y.mjs';
import { leftoverKeys, loadCatalogs, untranslated } from './i18n-check.mjs';

import {
  byTestId,
  createAdmin,
  dumpDiagnostics,
  e2e,
  joinCall,
  launchPerson,
  rebaseLink,
  scratchDir,
  screenshotPath,
  startServer,
  TEST_TIMEOUT_MS,
  textOf,
  waitForState,
  waitUntil,
} from './harness.mjs';

const ctx = { server: null, people: [] };
let mentor;
let mentee;
const pair = { id: null, tokens: {} };
let recordingId = null;
/** When the test saw recording start, and when Alan marked a moment (s after it). */
const marks = { recordingSeen: 0, alanAt: 0 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MODEL = process.env.DUET_TEST_WHISPER_MODEL;
const SPEECH = {
  mentor: 'How did the budget review go this week? Tell me about the hardest part.',
  mentee: 'The budget review went well. The hardest part was the timeline for the new team.',
};

/** A WAV of `text` spoken, with a pause after it, for Chromium's fake microphone. */
function speech(role) {
  const file = join(scratchDir(`speech-${role}`), `${role}.wav`);
  execFileSync('espeak-ng', ['-s', '150', '-w', file, `${SPEECH[role]} [[_:_:_:]]`]);
  return file;
}

before(async () => {
  ctx.server = await startServer({ extraArgs: MODEL ? ['--transcription-model', MODEL] : [] });
  await createAdmin(ctx.server.dataDir, 'reflectadmin', 'a long and correct password');
  const voice = (role) => (MODEL ? [`--use-file-for-fake-audio-capture=${speech(role)}`] : []);
  [mentor, mentee] = await Promise.all([
    launchPerson('mentor', { viewport: { width: 1280, height: 900 }, args: voice('mentor') }),
    launchPerson('mentee', { viewport: { width: 1280, height: 900 }, args: voice('mentee') }),
  ]);
  ctx.people = [mentor, mentee];
  try {
    const created = await ctx.server.api('POST', '/api/v1/pairs', {
      title: 'Grace and Alan', mentor: { name: 'Grace' }, mentee: { name: 'Alan' }, recording: 'allowed',
    });
    assert.equal(created.status, 201, created.text);
    pair.id = created.json.id;
    pair.tokens = created.json.tokens;
    const soon = new Date(Math.ceil((Date.now() + 5 * 60_000) / 60_000) * 60_000);
    const scheduled = await ctx.server.api('POST', `/api/v1/pairs/${pair.id}/sessions`,
      { starts_at: soon.toISOString().replace(/\.\d{3}Z$/, 'Z'), duration_min: 30 });
    assert.equal(scheduled.status, 201, scheduled.text);
    // Both join the way the pair home's Join does.
    const links = {};
    for (const role of ['mentor', 'mentee']) {
      const res = await ctx.server.api('POST', `/api/v1/pairs/${pair.id}/join`, undefined, { token: pair.tokens[role] });
      assert.equal(res.status, 200, res.text);
      links[role] = rebaseLink(res.json.link, ctx.server.base);
    }
    await Promise.all([joinCall(mentor, links.mentor), joinCall(mentee, links.mentee)]);
    await Promise.all([waitForState(mentor.page, 'connected'), waitForState(mentee.page, 'connected')]);

    // Both agree to record, and they talk (a tone) for a while.
    const [m, a] = [mentor.page, mentee.page];
    await byTestId(m, 'record-request').click();
    for (const page of [m, a]) {
      await waitUntil('the consent dialog', () => byTestId(page, 'consent-accept').isVisible());
      await byTestId(page, 'consent-accept').click();
    }
    await Promise.all([m, a].map((page) => waitUntil('recording', () => byTestId(page, 'recording-indicator').isVisible())));
    marks.recordingSeen = Date.now();
    await sleep(3_000);
    // Alan marks a moment with the button, labels it and shares it; Grace
    // marks one with the keyboard and keeps it to herself.
    marks.alanAt = (Date.now() - marks.recordingSeen) / 1000;
    await byTestId(a, 'mark-moment').click();
    await byTestId(a, 'moment-box').waitFor({ state: 'visible' });
    assert.match(await a.locator('#moment-said').innerText(), /of the recording/);
    await byTestId(a, 'moment-label').fill('the budget question');
    await byTestId(a, 'moment-shared').check();
    await byTestId(a, 'moment-save').click();
    await byTestId(a, 'moment-box').waitFor({ state: 'hidden' });
    await m.keyboard.press('Alt+KeyM');
    await byTestId(m, 'moment-box').waitFor({ state: 'visible' });
    await m.keyboard.press('Escape');
    await byTestId(m, 'moment-box').waitFor({ state: 'hidden' });
    // Grace shows her screen for a while in the middle.
    await sleep(2_000);
    await byTestId(m, 'share-screen').click();
    await sleep(5_000);
    await byTestId(m, 'share-screen').click();
    await sleep(6_000);
    // One after the other: the first leaving changes the other's page
    // (the waiting view) under a click aimed at it.
    await byTestId(a, 'leave').click();
    await waitForState(a, 'ended');
    await byTestId(m, 'leave').click();
    await waitForState(m, 'ended');
    // The end screen of a recorded call leads to its reflection page.
    for (const page of [m, a]) {
      await byTestId(page, 'ended-reflect-link').waitFor({ state: 'visible' });
      assert.match(await byTestId(page, 'ended-reflect-link').getAttribute('href'), /^\/reflect#./);
    }
  } catch (err) {
    await dumpDiagnostics('the recorded call', ctx);
    throw err;
  }
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
}, { timeout: TEST_TIMEOUT_MS });

/** Moves the player to `to` seconds, as dragging the seek bar does. */
function seek(page, to) {
  return page.evaluate((at) => {
    const s = document.querySelector('[data-testid="reflection-seek"]');
    s.value = String(at);
    s.dispatchEvent(new Event('input', { bubbles: true }));
  }, to);
}

/** Where the player's clock is (the seek bar follows it). */
const playerAt = (page) => page.evaluate(() => Number(document.querySelector('[data-testid="reflection-seek"]').value));

/** A catalog text with its `{time}` as a pattern for any player time ("1:05"). */
const withTime = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('\\{time\\}', '\\d+:\\d\\d')}$`);

/** Each camera's place on the recording's clock, read at one instant. */
function positions(page) {
  return page.evaluate(() => [...document.querySelectorAll('[data-testid="reflection-video"]')].map((v) => ({
    role: v.dataset.role,
    hidden: v.hidden,
    paused: v.paused,
    t: v.currentTime,
    at: v.currentTime + Number(v.dataset.offsetS),
    ready: v.readyState,
  })));
}

e2e('the mentee opens it from the pair home, plays both people in step and seeks', ctx, async () => {
  const a = await mentee.open(`${ctx.server.base}/pair#${pair.tokens.mentee}`);
  await byTestId(a, 'pair-home').waitFor({ state: 'visible' });
  const link = byTestId(a, 'reflect-link').first();
  await waitUntil('the reflect link', async () => {
    if ((await link.count()) === 1) return true;
    await a.evaluate(() => window.dispatchEvent(new Event('focus')));
    return false;
  }, { interval: 500 });
  const href = await link.getAttribute('href');
  recordingId = new URLSearchParams(href.split('&').slice(1).join('&')).get('recording');
  assert.ok(recordingId, href);
  await link.click();
  await a.waitForURL(/\/reflect$/);
  assert.equal(new URL(a.url()).hash, '', 'the token left the address bar');
  await byTestId(a, 'reflection').waitFor({ state: 'visible' });
  assert.match(await a.locator('#reflect-title').innerText(), /\S/);

  // One camera per person, both ready to play.
  const videos = byTestId(a, 'reflection-video');
  await waitUntil('two cameras', async () => (await videos.count()) === 2);
  assert.deepEqual((await videos.evaluateAll((vs) => vs.map((v) => v.dataset.role))).sort(), ['mentee', 'mentor']);
  await waitUntil('both cameras loaded', async () => (await positions(a)).every((p) => p.ready >= 1));

  await byTestId(a, 'reflection-play').click();
  await waitUntil('playing', async () => (await byTestId(a, 'reflection-play').getAttribute('aria-pressed')) === 'true');
  // Over ten seconds both advance, and never more than 150 ms apart.
  const first = await positions(a);
  let worst = 0;
  let samples = 0;
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const ps = await positions(a);
    const visible = ps.filter((p) => !p.hidden && !p.paused);
    if (visible.length === 2) {
      samples++;
      worst = Math.max(worst, Math.abs(visible[0].at - visible[1].at));
    }
  }
  // The voices (the .ogg tracks) play on the same clock.
  const all = await a.evaluate(() => [...document.querySelectorAll('audio, [data-testid="reflection-video"]')].map((m) => ({
    kind: m.dataset.kind, role: m.dataset.role, paused: m.paused, rate: m.playbackRate, at: m.currentTime + Number(m.dataset.offsetS),
  })));
  console.log(`# all ${JSON.stringify(all)} master ${await a.evaluate(() => document.querySelector('[data-testid="reflection-seek"]').value)}`);
  const voices = all.filter((m) => m.kind === 'audio');
  assert.equal(voices.length, 2, 'both voices');
  const cam = all.find((m) => m.kind === 'camera');
  for (const v of voices.filter((x) => !x.paused)) {
    assert.ok(Math.abs(v.at - cam.at) <= 0.25, `the ${v.role}'s voice is with the cameras: ${v.at} vs ${cam.at}`);
  }
  const last = await positions(a);
  for (const role of ['mentor', 'mentee']) {
    const t0 = first.find((p) => p.role === role).at;
    const t1 = last.find((p) => p.role === role).at;
    assert.ok(t1 - t0 > 5, `the ${role}'s camera advanced: ${t0} → ${t1}`);
  }
  console.log(`# cameras in step: worst ${(worst * 1000).toFixed(0)} ms apart over ${samples} samples`);
  assert.ok(samples >= 10, `both cameras played together (${samples} samples)`);
  assert.ok(worst <= 0.15, `the cameras stayed in step: worst ${worst.toFixed(3)} s apart`);

  // Seeking moves every player there, playing or paused.
  const seekTo = (t) => seek(a, t);
  await byTestId(a, 'reflection-play').click();
  await waitUntil('paused', async () => (await byTestId(a, 'reflection-play').getAttribute('aria-pressed')) === 'false');
  for (const target of [3, 9]) {
    await seekTo(target);
    await waitUntil(`both players at ${target} s`, async () => {
      const ps = await positions(a);
      const ok = ps.every((p) => p.hidden || Math.abs(p.at - target) <= 0.5);
      return ok || { ok: false, ps };
    });
  }
  // And while playing: the j key goes 10 s back.
  await byTestId(a, 'reflection-play').click();
  await sleep(500);
  await a.locator('body').press('j');
  await waitUntil('both players back near the start', async () => {
    const ps = await positions(a);
    return ps.every((p) => p.hidden || p.at < 2.5) || { ok: false, ps };
  });
  await byTestId(a, 'reflection-play').click();

  // The shared screen: large while it was shared, gone before and after.
  const screen = byTestId(a, 'reflection-screen');
  assert.equal(await screen.count(), 1, 'one shared screen');
  const offset = Number(await screen.getAttribute('data-offset-s'));
  assert.ok(offset > 2, `the screen starts later: ${offset}`);
  await seekTo(offset + 1.5);
  await waitUntil('the screen shown', async () => (await screen.isVisible()) && (await a.locator('#screen').isVisible()));
  const screenBox = await a.locator('#screen').boundingBox();
  const camBox = await byTestId(a, 'reflection-video').first().boundingBox();
  assert.ok(screenBox.width > camBox.width, `the screen is large: ${screenBox.width} vs ${camBox.width}`);
  await seekTo(1);
  await waitUntil('the screen hidden', async () => !(await a.locator('#screen').isVisible()));

  // The consent trail, in plain words.
  const trail = byTestId(a, 'consent-trail').locator('li.trail-line');
  assert.ok((await trail.count()) >= 2, await textOf(a, 'consent-trail'));
  assert.match(await textOf(a, 'consent-trail'), /Alan agreed to notice version \d+/);
  assert.match(await textOf(a, 'consent-trail'), /Recording ended: (Alan|Grace) left the call/);
  assert.equal(await byTestId(a, 'talk-time').isVisible(), true);
  // Every view is logged, and the two people see who looked.
  await waitUntil('the views line', async () => /Watched by Alan/.test(await textOf(a, 'recording-views')));

  // The docs' picture shows the transcript when there is one (below).
  if (!MODEL) await a.screenshot({ path: screenshotPath('reflect.png') });

  // On a phone: one column, the controls fit.
  await a.setViewportSize({ width: 375, height: 740 });
  try {
    for (const id of ['reflection-play', 'reflection-seek', 'reflection-speed']) {
      const box = await byTestId(a, id).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${id} fits: ${JSON.stringify(box)}`);
    }
    const width = await a.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 376, `no sideways scrolling: ${width}`);
    await a.screenshot({ path: screenshotPath('reflect-phone.png') });
  } finally {
    await a.setViewportSize({ width: 1280, height: 900 });
  }
});

e2e('bookmarks from the call sit on the timeline; notes at a time are shared or private', ctx, async () => {
  const a = await mentee.open(`${ctx.server.base}/reflect#${pair.tokens.mentee}&recording=${recordingId}`);
  await byTestId(a, 'reflection').waitFor({ state: 'visible' });
  // Alan's shared bookmark, where he made it (the server's clock started
  // a little before the test saw the indicator: allow a second).
  const bookmarks = byTestId(a, 'timeline-bookmark');
  await waitUntil('the bookmarks', async () => (await bookmarks.count()) >= 1);
  const seen = await bookmarks.evaluateAll((bs) => bs.map((b) => ({ at: Number(b.dataset.atS), label: b.getAttribute('aria-label') })));
  assert.equal(seen.length, 1, `Grace's private mark is hers alone: ${JSON.stringify(seen)}`);
  assert.match(seen[0].label, /the budget question/);
  assert.ok(Math.abs(seen[0].at - marks.alanAt) <= 1.0, `at ${seen[0].at} s, made at ${marks.alanAt.toFixed(2)} s`);
  // Who spoke when: a lane per person.
  assert.equal(await byTestId(a, 'speech-lane').count(), 2);
  // A click on the bookmark moves the players there.
  await bookmarks.first().click();
  await waitUntil('the players at the bookmark', async () => {
    const ps = await positions(a);
    return ps.every((p) => p.hidden || Math.abs(p.at - seen[0].at) <= 0.5) || { ok: false, ps };
  });

  // Two notes at this time: one shared with Grace, one private.
  await byTestId(a, 'reflect-note-input').fill('Grace asked the right question here');
  await byTestId(a, 'reflect-note-shared').check();
  await byTestId(a, 'reflect-note-save').click();
  await byTestId(a, 'reflect-note-input').fill('Only for me: prepare numbers');
  await byTestId(a, 'reflect-note-shared').uncheck();
  await byTestId(a, 'reflect-note-save').click();
  await waitUntil('two notes on the timeline', async () => (await byTestId(a, 'timeline-note').count()) === 2);
  const noteAt = Number(await byTestId(a, 'timeline-note').first().getAttribute('data-at-s'));
  assert.ok(Math.abs(noteAt - seen[0].at) <= 1.0, `the note sits where the player was: ${noteAt}`);

  const m = await mentor.open(`${ctx.server.base}/reflect#${pair.tokens.mentor}&recording=${recordingId}`);
  await byTestId(m, 'reflection').waitFor({ state: 'visible' });
  await waitUntil('Grace\'s moments', async () => (await byTestId(m, 'moment-item').count()) >= 2);
  const hers = await textOf(m, 'moment-list');
  assert.match(hers, /Grace asked the right question here/);
  assert.doesNotMatch(hers, /Only for me/);
  assert.match(hers, /the budget question/);
  // Her own private mark from the call is there for her.
  assert.equal(await byTestId(m, 'timeline-bookmark').count(), 2);
  await assertAccessible(a, 'the reflection page');
  await assertKeyboardReachable(a, 'the reflection page');
});

e2e('in every language: its own words and dates, 375 px wide, Arabic right to left; the video plays on', ctx, async () => {
  const catalogs = await loadCatalogs();
  const a = await mentee.open(`${ctx.server.base}/reflect#${pair.tokens.mentee}&recording=${recordingId}`);
  await byTestId(a, 'reflection').waitFor({ state: 'visible' });
  await waitUntil('both cameras loaded', async () => {
    const ps = await positions(a);
    return (ps.length === 2 && ps.every((p) => p.ready >= 1)) || { ok: false, ps };
  });
  await waitUntil('the views line', async () => (await textOf(a, 'recording-views')) !== '');
  const when = async () => ({
    header: await textOf(a, 'reflect-when'),
    trail: await byTestId(a, 'consent-trail').locator('time').first().innerText(),
  });
  const dates = { en: await when() };
  await a.setViewportSize({ width: 375, height: 740 });
  try {
    await byTestId(a, 'reflection-play').click();
    await waitUntil('playing', async () => (await byTestId(a, 'reflection-play').getAttribute('aria-pressed')) === 'true');
    // Marks the media elements: a rebuilt player would have new ones.
    await a.evaluate(() => document.querySelectorAll('video, audio').forEach((m) => { m.keptForTest = true; }));
    for (const lang of ['es', 'fr', 'de', 'pt', 'ja', 'ar', 'en']) {
      const cat = catalogs[lang];
      // Well inside the recording, so it is still playing after the switch.
      await seek(a, 2);
      await waitUntil('the player at 2 s', async () => (await playerAt(a)) >= 2);
      const before = await playerAt(a);
      await byTestId(a, 'language-select').selectOption(lang);
      await waitUntil(`the page in ${lang}`, async () => (await a.evaluate(() => document.documentElement.lang)) === lang);
      const after = await playerAt(a);
      assert.ok(after >= before - 0.2 && after - before < 5, `${lang}: the video played on from ${before} s: ${after} s`);
      assert.equal(await byTestId(a, 'reflection-play').getAttribute('aria-pressed'), 'true', `${lang}: still playing`);
      assert.ok(await a.evaluate(() => [...document.querySelectorAll('video, audio')].every((m) => m.keptForTest)),
        `${lang}: the same players, not new ones`);

      assert.equal(await a.evaluate(() => document.documentElement.dir), lang === 'ar' ? 'rtl' : 'ltr');
      assert.deepEqual(await untranslated(a, cat), [], `${lang}: every marked text in ${lang}`);
      assert.deepEqual(await leftoverKeys(a, 'reflect/'), [], `${lang}: no key shown as text`);
      // What the scripts wrote is in this language too.
      assert.equal(await byTestId(a, 'reflection-play').innerText(), cat['reflect/pause']);
      assert.equal(await a.locator('#moments-hint').innerText(), cat['reflect/moments-hint'].replace('{name}', 'Grace'));
      assert.match(await byTestId(a, 'reflect-note-save').innerText(), withTime(cat['reflect/add-note']));
      assert.ok((await textOf(a, 'recording-views')).startsWith(cat['reflect/views'].split('{list}')[0]),
        `${lang}: ${await textOf(a, 'recording-views')}`);
      if (lang !== 'en') assert.notEqual(cat['reflect/transcript-heading'], catalogs.en['reflect/transcript-heading']);
      // The trail is worded in this language from its parts: who asked,
      // who agreed to which version of the notice.
      const lines = await byTestId(a, 'consent-trail').locator('li.trail-line > span').allInnerTexts();
      assert.equal(lines[0], cat['reflect/trail.request'].replace('{name}', 'Grace'), `${lang}: ${lines[0]}`);
      const agreed = new RegExp(cat['reflect/trail.consent'].replace('{name}', 'Alan').replace('{version}', '\\d+'));
      assert.ok(lines.some((l) => agreed.test(l)), `${lang}: Alan's consent in ${JSON.stringify(lines)}`);
      dates[lang] = await when();

      const width = await a.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 376, `${lang}: no sideways scrolling at 375 px: ${width}`);
      const pill = await byTestId(a, 'reflect-when').boundingBox();
      const page = await byTestId(a, 'reflection').boundingBox();
      assert.ok(pill.y + pill.height <= page.y + 1, `${lang}: the date stays in the top bar: ${JSON.stringify({ pill, page })}`);
      for (const id of ['language-select', 'reflection-play', 'reflection-seek']) {
        const box = await byTestId(a, id).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${lang}: ${id} on screen: ${JSON.stringify(box)}`);
      }
      if (lang === 'ar') {
        await a.screenshot({ path: screenshotPath('reflect-ar-phone.png') });
        await assertAccessible(a, 'the reflection page in Arabic');
      }
    }
    // Dates are the language's own, in the header and in the trail.
    for (const lang of ['de', 'ja']) {
      assert.notEqual(dates[lang].header, dates.en.header, `${lang}: the recording's date`);
      assert.notEqual(dates[lang].trail, dates.en.trail, `${lang}: the trail's times`);
    }
    assert.match(dates.ja.header, /月/);
    assert.deepEqual(dates.en, await when(), 'back in English, the English dates');
    await byTestId(a, 'reflection-play').click();
  } finally {
    // The next tests read English.
    await a.evaluate(() => localStorage.setItem('duet.language', 'en'));
    await a.setViewportSize({ width: 1280, height: 900 });
  }
});

e2e('a stranger\'s link gets a clear error, not the recording', ctx, async () => {
  const other = await ctx.server.createSession({ title: 'Someone else', recording: 'allowed' });
  const page = await mentor.open(`${ctx.server.base}/reflect#${other.tokens.mentee}&recording=${recordingId}`);
  await byTestId(page, 'error-message').waitFor({ state: 'visible' });
  assert.match(await textOf(page, 'error-message'), /no recording here/i);
  assert.equal(await byTestId(page, 'reflection').isVisible(), false);
  assert.equal(await byTestId(page, 'reflection-video').count(), 0);

  const broken = await mentor.open(`${ctx.server.base}/reflect#not-a-real-token`);
  await byTestId(broken, 'error-message').waitFor({ state: 'visible' });
  assert.match(await textOf(broken, 'error-message'), /does not work/i);
});

e2e('the transcript follows the playback; a click on a line plays from there', ctx, async (t) => {
  if (!MODEL) {
    t.skip('no DUET_TEST_WHISPER_MODEL');
    return;
  }
  const a = await mentee.open(`${ctx.server.base}/reflect#${pair.tokens.mentee}&recording=${recordingId}`);
  await byTestId(a, 'reflection').waitFor({ state: 'visible' });
  const segments = byTestId(a, 'transcript-segment');
  await waitUntil('the transcript', async () => (await segments.count()) >= 3
    || { ok: false, state: await textOf(a, 'transcript-state') }, { timeout: 120_000, interval: 1000 });
  const roles = new Set(await segments.evaluateAll((ss) => ss.map((s) => s.dataset.role)));
  assert.deepEqual([...roles].sort(), ['mentee', 'mentor']);
  assert.match(await textOf(a, 'transcript'), /hardest/i);

  // Playing: the highlighted line moves on.
  const current = () => a.evaluate(() => {
    const c = document.querySelector('[data-testid="transcript-segment"].current');
    return c ? Number(c.dataset.startS) : null;
  });
  await byTestId(a, 'reflection-play').click();
  await waitUntil('a highlighted line', async () => (await current()) !== null, { timeout: 20_000 });
  const firstLine = await current();
  await waitUntil('the highlight to move on', async () => {
    const now = await current();
    return (now !== null && now > firstLine) || { ok: false, firstLine, now };
  }, { timeout: 20_000 });
  await byTestId(a, 'reflection-play').click();

  // A click on a later line (the last one that starts well before the
  // end; the model's times may run past the media): every player goes there.
  const duration = Number(await byTestId(a, 'reflection-seek').getAttribute('max'));
  const starts = await segments.evaluateAll((ss) => ss.map((x) => Number(x.dataset.startS)));
  const pick = starts.findLastIndex((x) => x < duration - 2 && x > 2);
  assert.ok(pick >= 0, `a later line: ${starts} in ${duration} s`);
  const last = segments.nth(pick);
  const at = starts[pick];
  await last.locator('button').click();
  await waitUntil(`the players at ${at} s`, async () => {
    const ps = await positions(a);
    return (ps.some((p) => !p.hidden) && ps.every((p) => p.hidden || Math.abs(p.at - at) <= 0.5)) || { ok: false, ps };
  });
  assert.equal(await current(), at);

  // Search marks the lines and the timeline.
  await byTestId(a, 'transcript-search').fill('hardest');
  await waitUntil('hits', async () => (await a.locator('[data-testid="transcript-segment"].hit').count()) >= 1);
  assert.ok((await byTestId(a, 'search-hit').count()) >= 1, 'a mark on the timeline');
  await a.locator('body').click({ position: { x: 5, y: 5 } });
  await a.screenshot({ path: screenshotPath('reflect.png') });
});

e2e('either person deletes it: the page says what goes, then that it went', ctx, async () => {
  const page = await mentor.open(`${ctx.server.base}/reflect#${pair.tokens.mentor}&recording=${recordingId}`);
  await byTestId(page, 'reflection').waitFor({ state: 'visible' });
  if (MODEL) {
    // With a transcript, the video and sound can go on their own first.
    await byTestId(page, 'delete-media').click();
    assert.match(await page.locator('#confirm-text').innerText(), /cameras.*voices.*transcript.*stay/s);
    await byTestId(page, 'confirm-yes').click();
    await byTestId(page, 'deleted-note').waitFor({ state: 'visible' });
    assert.match(await textOf(page, 'deleted-note'), /video and sound were deleted.*transcript is kept/i);
    await waitUntil('the cameras gone', async () => (await byTestId(page, 'reflection-video').count()) === 0);
    assert.ok((await byTestId(page, 'transcript-segment').count()) >= 1, 'the transcript stays');
  } else {
    // No transcript on this server: keeping only the transcript is not offered.
    assert.equal(await byTestId(page, 'delete-media').isVisible(), false);
  }
  await byTestId(page, 'delete-all').click();
  assert.match(await page.locator('#confirm-text').innerText(), /video, the sound and the transcript.*Alan/s);
  await byTestId(page, 'confirm-yes').click();
  await waitUntil('the deleted state', async () => /recording was deleted.*by Grace/i.test(await textOf(page, 'deleted-note'))
    || { ok: false, note: await textOf(page, 'deleted-note') });
  await waitUntil('the cameras gone', async () => (await byTestId(page, 'reflection-video').count()) === 0);
  assert.equal(await byTestId(page, 'delete-all').isVisible(), false);
  // The other person reads it in the trail.
  const res = await ctx.server.api('GET', `/api/v1/reflect?recording=${recordingId}`, undefined, { token: pair.tokens.mentee });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.tracks, []);
  const a = await mentee.open(`${ctx.server.base}/reflect#${pair.tokens.mentee}&recording=${recordingId}`);
  await byTestId(a, 'deleted-note').waitFor({ state: 'visible' });
  assert.match(await textOf(a, 'consent-trail'), /Grace deleted/);
});
