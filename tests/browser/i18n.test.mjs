// The join page and the call in the person's language: every catalog has
// every key; in each language the join page and the call show their own
// words (no English key left) and fit a 375 px screen; the browser's language is picked up, the
// `language-select` switches at once and is remembered; Arabic lays the
// page out right to left. Screenshot: the call in Japanese.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import {
  byTestId,
  callState,
  e2e,
  launchPerson,
  REPO_ROOT,
  screenshotPath,
  startServer,
  TEST_TIMEOUT_MS,
  waitForState,
  waitUntil,
} from './harness.mjs';
import { untranslated as untranslatedIn } from './i18n-check.mjs';

const CATALOGS = join(REPO_ROOT, 'web-client', 'i18n');
const LANGS = ['en', 'es', 'fr', 'de', 'pt', 'ja', 'ar'];
const ctx = { server: null, people: [] };
let person;
let japanese;
const catalogs = {};

before(async () => {
  for (const lang of LANGS) {
    catalogs[lang] = (await import(pathToFileURL(join(CATALOGS, `${lang}.js`)).href)).default;
  }
  ctx.server = await startServer();
  [person, japanese] = await Promise.all([
    launchPerson('reader', { viewport: { width: 375, height: 667 } }),
    launchPerson('japanese', { viewport: { width: 1280, height: 800 }, contextOptions: { locale: 'ja-JP' } }),
  ]);
  ctx.people = [person, japanese];
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
}, { timeout: TEST_TIMEOUT_MS });

test('every catalog has exactly the English keys, and keeps each {field}', () => {
  const files = readdirSync(CATALOGS).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort();
  assert.deepEqual(files, [...LANGS].sort(), 'one file per language');
  const keys = Object.keys(catalogs.en).sort();
  for (const lang of LANGS) {
    assert.deepEqual(Object.keys(catalogs[lang]).sort(), keys, `${lang}: the same keys as English`);
    for (const key of keys) {
      const fields = (s) => (s.match(/\{\w+\}/g) ?? []).sort();
      assert.deepEqual(fields(catalogs[lang][key]), fields(catalogs.en[key]), `${lang}.${key}: the same fields`);
      assert.ok(catalogs[lang][key].trim(), `${lang}.${key} is not empty`);
    }
  }
});

test('no script writes an English sentence of its own: every one is a catalog key', () => {
  // A quoted text that starts with a capital and has a second word is a
  // sentence for people ("That speaker could not be used."): it belongs in
  // the catalogs. Comments, log lines and thrown errors are for developers.
  const WEB = join(REPO_ROOT, 'web-client');
  const sentence = /(['"`])[A-Z][a-z]+( [a-zA-Z,.'’…]+)+[.!?…]?\1/;
  const found = [];
  for (const file of readdirSync(WEB).filter((f) => f.endsWith('.js'))) {
    readFileSync(join(WEB, file), 'utf8').split('\n').forEach((line, i) => {
      const code = line.trim();
      if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return;
      if (/console\.|new Error\(/.test(code)) return;
      if (sentence.test(code)) found.push(`${file}:${i + 1}: ${code}`);
    });
  }
  assert.deepEqual(found, [], 'English written by scripts, not from a catalog');
});

/** What the page shows for each marked element and attribute, against the catalog. */
const untranslated = (page, lang) => untranslatedIn(page, catalogs[lang]);

/** Wider than the screen: something does not wrap. */
const overflows = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

e2e('the join page in each language: its own words, none left over, 375 px wide', ctx, async () => {
  const session = await ctx.server.createSession({ mentor: 'Ada', mentee: 'Grace' });
  for (const lang of LANGS) {
    const page = await person.open('about:blank');
    await page.goto(ctx.server.base + '/healthz');
    await page.evaluate((l) => localStorage.setItem('duet.language', l), lang);
    await page.goto(session.links.mentee);
    await byTestId(page, 'name-input').waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    assert.equal(await page.evaluate(() => document.documentElement.dir), lang === 'ar' ? 'rtl' : 'ltr');
    assert.equal(await byTestId(page, 'language-select').inputValue(), lang);
    assert.equal((await byTestId(page, 'join-button').textContent()).trim(), catalogs[lang]['join.now']);
    assert.deepEqual(await untranslated(page, lang), [], `${lang}: every marked text in ${lang}`);
    if (lang !== 'en') {
      assert.notEqual(catalogs[lang]['prejoin-heading'], catalogs.en['prejoin-heading']);
    }
    assert.ok(await overflows(page) <= 1, `${lang}: the join page fits 375 px`);
    const box = await byTestId(page, 'join-button').boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${lang}: the join button on screen: ${JSON.stringify(box)}`);
  }
  await ctx.server.endSession(session.id);
});

e2e('the call in each language, waiting for the other person: its own words, 375 px wide', ctx, async () => {
  for (const lang of LANGS) {
    const session = await ctx.server.createSession({ mentor: 'Ada', mentee: 'Grace' });
    const page = await person.open('about:blank');
    await page.goto(ctx.server.base + '/healthz');
    await page.evaluate((l) => localStorage.setItem('duet.language', l), lang);
    await page.goto(session.links.mentee);
    await byTestId(page, 'join-button').click();
    await waitForState(page, 'waiting');
    assert.equal(await byTestId(page, 'call-status').textContent(),
      catalogs[lang]['status.waiting'].replace('{name}', 'Ada'), `${lang}: the call's status`);
    assert.deepEqual(await untranslated(page, lang), [], `${lang}: every marked text in the call`);
    assert.equal(await byTestId(page, 'mute-audio').getAttribute('title'), catalogs[lang]['mic.mute']);
    assert.ok(await overflows(page) <= 1, `${lang}: the call fits 375 px`);
    for (const id of ['mute-audio', 'mute-video', 'leave']) {
      const box = await byTestId(page, id).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${lang}: ${id} on screen: ${JSON.stringify(box)}`);
    }
    await ctx.server.endSession(session.id);
    await waitForState(page, 'ended');
  }
});

e2e('the browser\'s language is the default; the switcher changes the page at once and is remembered', ctx, async () => {
  const session = await ctx.server.createSession({ mentor: 'Ada', mentee: 'Grace' });
  const page = await japanese.open(session.links.mentor);
  await byTestId(page, 'name-input').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'ja', 'from navigator.languages (ja-JP)');
  assert.equal((await byTestId(page, 'join-button').textContent()).trim(), catalogs.ja['join.now']);

  await byTestId(page, 'language-select').selectOption('de');
  await waitUntil('the page in German', async () => (
    (await byTestId(page, 'join-button').textContent()).trim() === catalogs.de['join.now']
  ));
  assert.deepEqual(await untranslated(page, 'de'), []);
  await page.reload();
  await byTestId(page, 'name-input').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'de', 'remembered over the browser\'s');
  await byTestId(page, 'language-select').selectOption('ja');
  await ctx.server.endSession(session.id);
});

e2e('the call in Japanese and in Arabic (right to left), on a phone', ctx, async () => {
  const session = await ctx.server.createSession({ mentor: 'Ada', mentee: 'Grace' });
  const ja = await japanese.open(session.links.mentor);
  await byTestId(ja, 'join-button').click();
  await waitForState(ja, 'waiting');
  const status = await byTestId(ja, 'call-status').textContent();
  assert.equal(status, catalogs.ja['status.waiting'].replace('{name}', 'Grace'));

  const page = await person.open('about:blank');
  await page.goto(ctx.server.base + '/healthz');
  await page.evaluate(() => localStorage.setItem('duet.language', 'ar'));
  await page.goto(session.links.mentee);
  await byTestId(page, 'join-button').click();
  await Promise.all([waitForState(page, 'connected'), waitForState(ja, 'connected')]);
  assert.equal(await byTestId(ja, 'call-status').textContent(), catalogs.ja['status.in-call'].replace('{name}', 'Grace'));
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  assert.deepEqual(await untranslated(page, 'ar'), []);
  assert.ok(await overflows(page) <= 1, 'the call in Arabic fits 375 px');
  for (const id of ['mute-audio', 'mute-video', 'leave']) {
    const box = await byTestId(page, id).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${id} on screen in Arabic: ${JSON.stringify(box)}`);
  }
  assert.equal(await byTestId(page, 'mute-audio').getAttribute('title'), catalogs.ar['mic.mute']);
  // The self-view sits at the end of the line: right in Japanese, left in Arabic.
  const selfSide = async (p) => p.evaluate(() => {
    const self = document.getElementById('self-slot').getBoundingClientRect();
    const stage = document.getElementById('stage').getBoundingClientRect();
    return self.left + self.width / 2 < stage.left + stage.width / 2 ? 'left' : 'right';
  });
  assert.equal(await selfSide(ja), 'right');
  assert.equal(await selfSide(page), 'left', 'the self-view mirrors in right to left');
  // What scripts write in the call is the catalog's too: the other
  // person's connection (its label) and the end screen.
  assert.equal(await byTestId(ja, 'peer-connection-quality').getAttribute('aria-label'),
    catalogs.ja['call/quality.theirs.good'].replace('{name}', 'Grace'));
  await ja.screenshot({ path: screenshotPath('call-ja.png') });
  await page.screenshot({ path: screenshotPath('call-ar-phone.png') });
  await ctx.server.endSession(session.id);
  await waitUntil('the call ended', async () => (await callState(ja)) === 'ended');
  await waitUntil('the end screen in Japanese', async () => (
    (await ja.locator('#ended-heading').textContent()) === catalogs.ja['call/ended.ended']
  ));
  assert.equal(await ja.locator('#ended-detail').textContent(), catalogs.ja['call/ended.ended.detail']);
  assert.equal(await page.locator('#ended-heading').textContent(), catalogs.ar['call/ended.ended']);
});
