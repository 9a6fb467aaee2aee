// The consent flow in the page, as people use it: one asks to record, both
// read the notice and agree, both see the recording indicator while media
// is written, one stops it, and the indicator goes away for both. Files
// appear on disk only once both agreed. A person whose page is in a
// language the operator wrote the notice in reads that text, and the trail
// keeps which text each agreed to.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';

import {
  byTestId,
  dumpDiagnostics,
  e2e,
  joinCall,
  launchPerson,
  startServer,
  TEST_TIMEOUT_MS,
  waitForState,
  waitUntil,
} from './harness.mjs';

const ctx = { server: null, people: [] };
let mentor;
let mentee;
let session;

/** The operator's notice in Spanish (`recording.notices`). */
const SPANISH_NOTICE = 'Grabamos el audio y el vídeo de los dos, solo con el permiso de ambos.';
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

before(async () => {
  ctx.server = await startServer({
    env: { DUET_RECORDING_NOTICES: `{ es = ${JSON.stringify(SPANISH_NOTICE)} }` },
  });
  session = await ctx.server.createSession({ title: 'Recorded 1:1', recording: 'allowed' });
  [mentor, mentee] = await Promise.all([launchPerson('mentor'), launchPerson('mentee')]);
  ctx.people = [mentor, mentee];
  try {
    await Promise.all([
      joinCall(mentor, session.links.mentor),
      joinCall(mentee, session.links.mentee),
    ]);
    await Promise.all([
      waitForState(mentor.page, 'connected'),
      waitForState(mentee.page, 'connected'),
    ]);
  } catch (err) {
    await dumpDiagnostics('joining the call', ctx);
    throw err;
  }
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
}, { timeout: TEST_TIMEOUT_MS });

function mediaFiles() {
  const root = join(ctx.server.dataDir, 'recordings');
  let dirs = [];
  try {
    dirs = readdirSync(root);
  } catch {
    return [];
  }
  return dirs.flatMap((d) => {
    try {
      return readdirSync(join(root, d)).filter((f) => /\.(ogg|webm)$/.test(f));
    } catch {
      return [];
    }
  });
}

const indicatorVisible = (page) => byTestId(page, 'recording-indicator').isVisible();

e2e('request, both consent, both see the indicator, revoke, it is gone for both', ctx, async () => {
  for (const p of [mentor, mentee]) {
    assert.equal(await indicatorVisible(p.page), false, 'no indicator before consent');
  }
  await byTestId(mentor.page, 'record-request').click();

  // Both are asked, with the notice text.
  for (const p of [mentor, mentee]) {
    await waitUntil('the consent dialog', () => byTestId(p.page, 'consent-accept').isVisible());
    const dialog = await p.page.locator('dialog[open]').innerText();
    assert.match(dialog, /record/i, 'the notice says what is recorded');
  }

  // One yes is not enough: nothing on disk, no indicator.
  await byTestId(mentor.page, 'consent-accept').click();
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(mediaFiles(), [], 'one consent writes nothing');
  assert.equal(await indicatorVisible(mentor.page), false);

  await byTestId(mentee.page, 'consent-accept').click();
  for (const p of [mentor, mentee]) {
    await waitUntil('the recording indicator', () => indicatorVisible(p.page));
  }
  await waitUntil('recorded files', async () => mediaFiles().length >= 4);

  await byTestId(mentee.page, 'consent-revoke').click();
  for (const p of [mentor, mentee]) {
    await waitUntil('the indicator to go', async () => !(await indicatorVisible(p.page)));
  }
  const trail = await ctx.server.api('GET', `/api/v1/sessions/${session.id}/consent`);
  const actions = trail.json.events.map((e) => e.action);
  assert.deepEqual(actions, ['request', 'consent', 'consent', 'start', 'revoke', 'stop']);
});

e2e('a page in Spanish shows the operator\'s Spanish notice; the trail keeps what each read', ctx, async () => {
  await byTestId(mentee.page, 'language-select').selectOption('es');
  await byTestId(mentor.page, 'record-request').click();
  for (const p of [mentor, mentee]) {
    await waitUntil('the consent dialog', () => byTestId(p.page, 'consent-accept').isVisible());
  }
  const notice = (p) => p.page.locator('#consent-notice');
  assert.equal(await notice(mentee).textContent(), SPANISH_NOTICE);
  assert.equal(await notice(mentee).getAttribute('lang'), 'es');
  const english = await notice(mentor).textContent();
  assert.match(english, /record/i, 'the English page shows the notice itself');
  await byTestId(mentee.page, 'consent-accept').click();
  await byTestId(mentor.page, 'consent-accept').click();
  for (const p of [mentor, mentee]) {
    await waitUntil('the recording indicator', () => indicatorVisible(p.page));
  }
  await byTestId(mentor.page, 'consent-revoke').click();
  for (const p of [mentor, mentee]) {
    await waitUntil('the indicator to go', async () => !(await indicatorVisible(p.page)));
  }
  const trail = await ctx.server.api('GET', `/api/v1/sessions/${session.id}/consent`);
  const events = trail.json.events;
  const last = events.filter((e) => e.recording_id === events.at(-1).recording_id);
  const consentOf = (role) => last.find((e) => e.action === 'consent' && e.role === role);
  assert.equal(consentOf('mentee').notice_hash, sha256(SPANISH_NOTICE), 'the mentee agreed to the Spanish text');
  assert.equal(consentOf('mentor').notice_hash, sha256(english), 'the mentor agreed to the notice itself');
  const policy = await ctx.server.api('GET', '/api/v1/policy');
  assert.equal(policy.json.translations.es.text, SPANISH_NOTICE);
  assert.equal(policy.json.translations.es.hash, sha256(SPANISH_NOTICE));
  await byTestId(mentee.page, 'language-select').selectOption('en');
});

e2e('declining ends the request and records nothing', ctx, async () => {
  const before = mediaFiles().length;
  await byTestId(mentee.page, 'record-request').click();
  await waitUntil('the consent dialog', () => byTestId(mentor.page, 'consent-decline').isVisible());
  await byTestId(mentor.page, 'consent-decline').click();
  await waitUntil('the mentee dialog to close', async () => !(await byTestId(mentee.page, 'consent-accept').isVisible()));
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(mediaFiles().length, before, 'a decline writes nothing');
  for (const p of [mentor, mentee]) {
    assert.equal(await indicatorVisible(p.page), false);
  }
});
