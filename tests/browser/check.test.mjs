// The connection check page in a real browser: with a join link it tests
// UDP, ICE-TCP and the TURN relay (a real coturn on loopback) against the
// real server, and says calls will work; without a link it does not hand out
// relay credentials. Inside the test namespace every path works, so a
// failure here is a broken path, not a blocked network.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { after, before } from 'node:test';

import { assertAccessible, assertKeyboardReachable } from './a11y.mjs';
import { LANGS, leftoverKeys, loadCatalogs, untranslated } from './i18n-check.mjs';
import {
  byTestId,
  e2e,
  launchPerson,
  screenshotPath,
  startServer,
  TEST_TIMEOUT_MS,
  textOf,
  waitUntil,
} from './harness.mjs';

const ctx = { server: null, people: [] };
const TURN_SECRET = 'browser-test-turn-shared-secret';
let person;
let coturn;
let catalogs;

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.on('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  catalogs = await loadCatalogs();
  const turnPort = await freeUdpPort();
  coturn = spawn('turnserver', [
    '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1',
    `--listening-port=${turnPort}`, '--min-port=53000', '--max-port=53999',
    '--use-auth-secret', `--static-auth-secret=${TURN_SECRET}`, '--realm=duet.test',
    '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', '--fingerprint',
    '--log-file=stdout', '--simple-log', '--pidfile=',
  ], { stdio: 'ignore' });
  process.once('exit', () => coturn.kill('SIGKILL'));
  ctx.server = await startServer({
    env: {
      DUET_TURN_URLS: `turn:127.0.0.1:${turnPort}?transport=udp`,
      DUET_TURN_SHARED_SECRET: TURN_SECRET,
    },
  });
  person = await launchPerson('visitor');
  ctx.people = [person];
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
  coturn?.kill('SIGKILL');
}, { timeout: TEST_TIMEOUT_MS });

async function states(page) {
  const out = {};
  for (const name of ['signaling', 'udp', 'tcp', 'relay', 'summary']) {
    out[name] = await byTestId(page, `check-${name}`).getAttribute('data-state');
  }
  return out;
}

async function runCheck(url) {
  const page = await person.open(url);
  await waitUntil('the check to finish', async () => {
    const s = await byTestId(page, 'check-summary').getAttribute('data-state');
    return s === 'ok' || s === 'failed';
  }, { timeout: 60_000 });
  return page;
}

e2e('from a join link, every path works: UDP, ICE-TCP and the TURN relay', ctx, async () => {
  const session = await ctx.server.createSession();
  const token = session.tokens.mentee;
  const page = await runCheck(`${ctx.server.base}/check#${token}`);
  assert.deepEqual(await states(page), {
    signaling: 'ok', udp: 'ok', tcp: 'ok', relay: 'ok', summary: 'ok',
  });
  assert.match(await textOf(page, 'check-summary'), /ready/);
  await page.screenshot({ path: screenshotPath('check.png') });
  await assertAccessible(page, 'the connection check');
  await assertKeyboardReachable(page, 'the connection check');
});

e2e('without a join link the relay is not tested and no credentials are handed out', ctx, async () => {
  const page = await runCheck(`${ctx.server.base}/check`);
  const s = await states(page);
  assert.equal(s.udp, 'ok');
  assert.equal(s.relay, 'skipped');
  assert.match(await textOf(page, 'check-relay'), /join link/);
  const plan = await ctx.server.api('POST', '/api/v1/check', {});
  assert.deepEqual(plan.json.ice_servers, []);
  assert.equal(plan.json.relay.configured, true);
  assert.equal(plan.json.relay.available, false);
});

/** What a row of the list says as its result (without its name). */
function resultOf(page, name) {
  return byTestId(page, `check-${name}`).locator('.check-result').textContent();
}

/** The catalog's "Works · {time}" for `ms`, the time formatted by the page's own Intl for `lang`. */
function worksIn(page, lang, ms) {
  return page.evaluate(({ lang, ms, text }) => text.replace('{time}', new Intl.NumberFormat(lang, {
    style: 'unit', unit: 'millisecond', unitDisplay: 'short', maximumFractionDigits: 0,
  }).format(ms)), { lang, ms, text: catalogs[lang]['check/result.works-in'] });
}

e2e('the check in each language: its own words, results and numbers, 375 px wide, Arabic right to left', ctx, async () => {
  const page = await runCheck(`${ctx.server.base}/check`);
  await page.setViewportSize({ width: 375, height: 740 });
  try {
    assert.equal(await byTestId(page, 'check-summary').getAttribute('data-state'), 'ok');
    // The server's round trip, as English writes it; the same time in every language.
    const rttMs = Number((await resultOf(page, 'signaling')).match(/([\d,]+) ms$/)?.[1].replaceAll(',', ''));
    assert.ok(Number.isFinite(rttMs), `a round trip in ${await resultOf(page, 'signaling')}`);
    await page.evaluate(() => { window.__samePage = true; });
    const timeIn = {};
    for (const lang of LANGS) {
      await byTestId(page, 'language-select').selectOption(lang);
      await waitUntil(`the check in ${lang}`, async () => (await page.evaluate(() => document.documentElement.lang)) === lang);
      const cat = catalogs[lang];
      assert.deepEqual(await untranslated(page, cat), [], `${lang}: every marked text from the catalog`);
      assert.deepEqual(await leftoverKeys(page, 'check/'), [], `${lang}: no key left on the page`);
      assert.equal(await page.evaluate(() => document.documentElement.dir), lang === 'ar' ? 'rtl' : 'ltr');
      assert.equal(await page.title(), cat['check/page-title']);
      // The results the script wrote, re-said in the new language.
      assert.equal(await byTestId(page, 'check-summary').textContent(), cat['check/summary.ready'], `${lang}: the summary`);
      if (lang !== 'en') assert.notEqual(cat['check/summary.ready'], catalogs.en['check/summary.ready']);
      assert.equal(await resultOf(page, 'udp'), cat['check/result.works']);
      assert.equal(await resultOf(page, 'relay'), cat['check/result.needs-link']);
      timeIn[lang] = await resultOf(page, 'signaling');
      assert.equal(timeIn[lang], await worksIn(page, lang, rttMs), `${lang}: the round trip`);
      // Fits a phone, in either direction.
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide <= 1, `${lang}: no sideways scrolling at 375 px (${wide} px too wide)`);
      for (const id of ['language-select', 'check-relay', 'check-summary']) {
        const box = await byTestId(page, id).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${lang}: ${id} fits in 375 px: ${JSON.stringify(box)}`);
      }
      if (lang === 'ar') {
        // The row mirrors: the result sits to the left of the check's name.
        const row = byTestId(page, 'check-udp');
        const name = await row.locator('.check-name').boundingBox();
        const result = await row.locator('.check-result').boundingBox();
        assert.ok(result.x + result.width <= name.x, `ar: the result left of the name: ${JSON.stringify({ name, result })}`);
        await assertAccessible(page, 'the connection check in Arabic');
        await page.screenshot({ path: screenshotPath('check-ar-phone.png') });
      }
    }
    // The number is the language's, not English digits and unit with
    // translated words: Arabic writes its own unit (Chromium's Japanese
    // and European languages write "ms" too; their digits group differently
    // only from 1 000 ms on).
    assert.notEqual(timeIn.ar, timeIn.en);
    assert.match(timeIn.ar, /ملي/);
    assert.equal(await page.evaluate(() => window.__samePage), true, 'switching language did not reload the page');

    // Arriving with the language already chosen (as from the join page): a
    // fresh check says its results in it from the start.
    await byTestId(page, 'language-select').selectOption('es');
    const fresh = await runCheck(`${ctx.server.base}/check`);
    assert.equal(await fresh.evaluate(() => document.documentElement.lang), 'es');
    assert.equal(await textOf(fresh, 'check-summary'), catalogs.es['check/summary.ready']);
    assert.doesNotMatch(await textOf(fresh, 'check-summary'), /ready|network/i);
    assert.equal(await resultOf(fresh, 'relay'), catalogs.es['check/result.needs-link']);
  } finally {
    // Back to English and a wide window for whatever runs next in this
    // browser (runCheck above opened a new tab in place of `page`).
    await person.page.evaluate(() => localStorage.setItem('duet.language', 'en')).catch(() => {});
    await person.page.setViewportSize({ width: 1280, height: 800 }).catch(() => {});
  }
});
