// Live captions as people use them: two Chromium pages whose fake
// microphones play known espeak-ng speech, a server with the real tiny.en
// model. The mentor turns captions on; the mentee, asked, agrees, and the
// mentor's page shows the mentee's words under the mentee's name; nothing
// of the mentee before they agreed; turning captions off stops them; a
// speaker who declined is never captioned. Screenshot: docs/screenshots/
// call-captions.png.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before } from 'node:test';

import { assertAccessible } from './a11y.mjs';
import {
  byTestId,
  connectBoth,
  e2e,
  launchPerson,
  scratchDir,
  screenshotPath,
  startServer,
  TEST_TIMEOUT_MS,
  waitUntil,
} from './harness.mjs';

const MODEL = process.env.DUET_TEST_WHISPER_MODEL;
const MULTILINGUAL = process.env.DUET_TEST_WHISPER_MULTILINGUAL_MODEL;
const SPEECH = {
  mentor: 'Tell me how the release went and what you would change next time.',
  mentee: 'The release went well but the testing took longer than we planned.',
};
const ctx = { server: null, people: [] };
let mentor;
let mentee;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A WAV of `text` spoken, then two seconds of silence: the fake microphone loops it. */
function speech(role, text = SPEECH[role], voice = 'en-us') {
  const file = join(scratchDir(`captions-${role}`), `${role}.wav`);
  execFileSync('espeak-ng', ['-v', voice, '-s', '150', '-w', file, `${text} [[_:_:_:_:_:_:_:_:]]`]);
  return file;
}

/** Word error rate of `heard` against `said`: word edits over words said. */
function wordErrorRate(said, heard) {
  const words = (s) => s.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean);
  const a = words(said);
  const b = words(heard);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const cur = [i];
    for (let j = 1; j <= b.length; j += 1) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return a.length ? prev[b.length] / a.length : 0;
}

/**
 * The best match for `said` among `role`'s final lines a page showed:
 * the model may cut a sentence into two or three lines, so runs of up to
 * three lines in a row are tried. `{ text, name, wer }`.
 */
async function bestFinal(page, role, said) {
  const finals = (await page.evaluate(() => window.__captionsFinal ?? []))
    .filter((l) => l.role === role);
  let best = { text: '', name: '', wer: 1 };
  for (let i = 0; i < finals.length; i += 1) {
    for (let j = i + 1; j <= Math.min(finals.length, i + 3); j += 1) {
      const text = finals.slice(i, j).map((l) => l.text).join(' ');
      const wer = wordErrorRate(said, text);
      if (wer < best.wer) best = { text, name: finals[i].name, wer };
    }
  }
  return best;
}

/** The caption lines a page shows now: role, name, text, final. */
function lines(page) {
  return page.locator('[data-testid="caption-line"]').evaluateAll((els) => els.map((e) => ({
    role: e.dataset.role,
    name: e.querySelector('.caption-name')?.textContent ?? '',
    text: e.querySelector('.caption-text')?.textContent ?? '',
    final: e.dataset.final === 'true',
  })));
}

/** Records every caption line a page ever shows, from now on. */
async function watchLines(page) {
  await page.evaluate(() => {
    window.__captionsSeen = [];
    window.__captionsFinal = [];
    const seen = window.__captionsSeen;
    const finals = new Map();
    new MutationObserver(() => {
      for (const e of document.querySelectorAll('[data-testid="caption-line"]')) {
        const line = {
          role: e.dataset.role,
          name: e.querySelector('.caption-name')?.textContent ?? '',
          text: e.querySelector('.caption-text')?.textContent ?? '',
          at: Date.now(),
        };
        seen.push(line);
        if (e.dataset.final === 'true') finals.set(`${line.role}:${e.dataset.line}`, line);
      }
      window.__captionsFinal = [...finals.values()];
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}
const seenLines = (page) => page.evaluate(() => window.__captionsSeen ?? []);

// Both cameras off: two Chromiums encoding and decoding video take both
// cores of a CI machine, where captions (nice 10, below the browsers)
// would wait. On a server, nothing but Duet runs.
async function camerasOff(people = [mentor, mentee]) {
  for (const person of people) {
    const button = byTestId(person.page, 'mute-video');
    if ((await button.getAttribute('aria-pressed')) !== 'true') await button.click();
  }
}

before(async () => {
  assert.ok(MODEL, 'DUET_TEST_WHISPER_MODEL must name the test model (tests/run.sh sets it)');
  ctx.server = await startServer({ extraArgs: ['--transcription-model', MODEL] });
  [mentor, mentee] = await Promise.all([
    launchPerson('mentor', { args: [`--use-file-for-fake-audio-capture=${speech('mentor')}`] }),
    launchPerson('mentee', { args: [`--use-file-for-fake-audio-capture=${speech('mentee')}`] }),
  ]);
  ctx.people = [mentor, mentee];
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
}, { timeout: TEST_TIMEOUT_MS });

e2e('captions: asked, agreed, shown under the speaker\'s name, and stopped', ctx, async () => {
  const session = await ctx.server.createSession({ mentor: 'Ada', mentee: 'Grace' });
  await connectBoth(session, mentor, mentee);
  await camerasOff();
  await watchLines(mentor.page);
  const toggle = byTestId(mentor.page, 'captions-toggle');
  await toggle.click();
  await waitUntil('the toggle pressed', async () => (await toggle.getAttribute('aria-pressed')) === 'true');
  // The mentee is asked, in words that say where their speech goes.
  const accept = byTestId(mentee.page, 'captions-accept');
  await accept.waitFor({ state: 'visible' });
  assert.match(await mentee.page.locator('#captions-ask-text').textContent(), /Ada.*not stored/s);
  await assertAccessible(mentee.page, 'the call asking to caption');

  // Not agreed yet: a whole loop of the mentee's speech, and none of it
  // shows. The mentor, who agreed by turning captions on, reads their own.
  await waitUntil('the mentor\'s own words captioned', async () => {
    const own = await bestFinal(mentor.page, 'mentor', SPEECH.mentor);
    return own.wer < 0.3 || { ok: false, own };
  }, { timeout: 30_000 });
  assert.deepEqual((await seenLines(mentor.page)).filter((l) => l.role === 'mentee'), [],
    'the mentee was captioned before agreeing');

  await accept.click();
  const agreedAt = Date.now();
  const heard = await waitUntil('the mentee\'s words on the mentor\'s page', async () => {
    const theirs = await bestFinal(mentor.page, 'mentee', SPEECH.mentee);
    return theirs.wer < 0.3 ? theirs : { ok: false, theirs };
  }, { timeout: 30_000, interval: 100 });
  console.log(`the mentee's line, ${Date.now() - agreedAt} ms after agreeing: ${JSON.stringify(heard)}`);
  assert.equal(heard.name, 'Grace', 'under the speaker\'s name');
  assert.ok(wordErrorRate(SPEECH.mentee, heard.text) < 0.3, heard.text);
  // The mentee does not read captions: none on their page.
  assert.equal((await lines(mentee.page)).length, 0);
  await mentor.page.screenshot({ path: screenshotPath('call-captions.png') });

  // Off: the lines go, and nothing more comes for a whole loop.
  await toggle.click();
  await waitUntil('the lines gone', async () => (await lines(mentor.page)).length === 0);
  const offAt = Date.now();
  await sleep(8000);
  const late = (await seenLines(mentor.page)).filter((l) => l.at > offAt + 500);
  assert.deepEqual(late, [], 'captions after they were turned off');
  await ctx.server.endSession(session.id);
});

e2e('a speaker who declines is never captioned', ctx, async () => {
  const session = await ctx.server.createSession({ mentor: 'Ada', mentee: 'Grace' });
  await connectBoth(session, mentor, mentee);
  await camerasOff();
  await watchLines(mentee.page);
  await byTestId(mentee.page, 'captions-toggle').click();
  const decline = byTestId(mentor.page, 'captions-decline');
  await decline.waitFor({ state: 'visible' });
  await decline.click();
  await byTestId(mentor.page, 'captions-accept').waitFor({ state: 'hidden' });
  // The mentee reads their own words, and never the mentor's.
  await waitUntil('the mentee\'s own words', async () => {
    const own = await bestFinal(mentee.page, 'mentee', SPEECH.mentee);
    return own.wer < 0.3 || { ok: false, own };
  }, { timeout: 30_000 });
  await sleep(6000);
  assert.deepEqual((await seenLines(mentee.page)).filter((l) => l.role === 'mentor'), [],
    'the mentor declined and was captioned');
  await ctx.server.endSession(session.id);
});

e2e('with a multilingual model, Spanish speech is read in English', ctx, async () => {
  assert.ok(MULTILINGUAL, 'DUET_TEST_WHISPER_MULTILINGUAL_MODEL must name the base model (tests/run.sh sets it)');
  const server = await startServer({ extraArgs: ['--transcription-model', MULTILINGUAL] });
  const spanish = await launchPerson('mentee-es', {
    args: [`--use-file-for-fake-audio-capture=${speech('mentee-es', 'Terminé el plan de migración y lo envié al equipo ayer.', 'es')}`],
  });
  ctx.people.push(spanish);
  try {
    const session = await server.createSession({ mentor: 'Ada', mentee: 'Lucía' });
    await connectBoth(session, mentor, spanish);
    await camerasOff([mentor, spanish]);
    await watchLines(mentor.page);
    // The translation is offered because this model can do it.
    await mentor.page.locator('#settings-toggle').click();
    const translate = byTestId(mentor.page, 'captions-translate');
    await translate.waitFor({ state: 'attached' });
    await byTestId(mentor.page, 'captions-toggle').click();
    await waitUntil('the translation offered', async () => translate.isVisible());
    await translate.check();
    await byTestId(spanish.page, 'captions-accept').click();
    const english = ['finished', 'migration', 'plan', 'sent', 'team', 'yesterday'];
    const heard = await waitUntil('the Spanish words, in English', async () => {
      const finals = (await mentor.page.evaluate(() => window.__captionsFinal ?? []))
        .filter((l) => l.role === 'mentee');
      const hit = finals.find((l) => english.filter((w) => l.text.toLowerCase().includes(w)).length >= 3);
      return hit || { ok: false, finals };
    }, { timeout: 45_000, interval: 200 });
    console.log(`translated on the mentor's page: ${JSON.stringify(heard)}`);
    const lang = await mentor.page.locator('[data-testid="caption-line"][data-role="mentee"]').last().getAttribute('lang');
    assert.equal(lang, 'en', 'a translated line says it is English');
    await server.endSession(session.id);
  } finally {
    await spanish.close();
    ctx.people = ctx.people.filter((p) => p !== spanish);
    await server.stop();
  }
});
