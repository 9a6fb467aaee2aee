// The admin console at /admin in a real browser, against the real server:
// signing in (and a wrong password), creating a session and reading its
// links, two Rust peers (`duet-peer`) joining with those links and
// recording with both consents, the session live and then ended from the
// console, the recording played and deleted, the consent trail exported as
// CSV, the policy's notice changed, and the audit log of all of it. Then
// the login form and every view in each of Duet's languages (i18n.js),
// Arabic laid out right to left.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';

import { assertAccessible, assertKeyboardReachable } from './a11y.mjs';
import { LANGS, leftoverKeys, loadCatalogs, untranslated } from './i18n-check.mjs';
import {
  byTestId,
  createAdmin,
  duetBin,
  e2e,
  launchPerson,
  screenshotPath,
  startServer,
  TEST_TIMEOUT_MS,
  textOf,
  waitUntil,
} from './harness.mjs';

const ADMIN = 'testadmin';
const PASSWORD = 'correct horse battery staple';

const ctx = { server: null, people: [] };
const peers = [];
let admin;
let page;
let catalogs;
// Filled in by the walkthrough, read by the checks after it.
let sessionId;

function peerBin() {
  return process.env.DUET_PEER_BIN ?? join(dirname(duetBin()), 'duet-peer');
}

// One `duet-peer`: a Rust WebRTC participant. Its stdout lines (`connected`,
// `recording`, `ended <reason>`) are collected in `lines`.
function startPeer(label, token, extra = []) {
  const ws = `${ctx.server.base.replace(/^http/, 'ws')}/api/v1/ws`;
  const child = spawn(peerBin(), ['--ws', ws, '--token', token, '--name', label, ...extra], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const peer = { label, child, lines: [], stderr: [] };
  createInterface({ input: child.stdout }).on('line', (l) => peer.lines.push(l));
  createInterface({ input: child.stderr }).on('line', (l) => {
    peer.stderr.push(l);
    if (peer.stderr.length > 40) peer.stderr.shift();
  });
  peer.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  peers.push(peer);
  return peer;
}

function waitForLine(peer, line) {
  return waitUntil(`${peer.label} to print "${line}"`, () => (peer.lines.includes(line)
    ? { ok: true }
    : { ok: false, lines: peer.lines, stderr: peer.stderr.slice(-5) }));
}

const tokenOf = (link) => link.slice(link.indexOf('#') + 1);

async function rowIn(testid, id) {
  const row = page.locator(`[data-testid="${testid}"][data-id="${id}"]`);
  await row.waitFor({ state: 'visible' });
  return row;
}

// A fetch from the page: same origin, so it carries the console's cookie.
function pageFetch(url, init = {}) {
  return page.evaluate(async ([u, i]) => {
    const res = await fetch(u, i);
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      disposition: res.headers.get('content-disposition'),
      text: await res.text(),
    };
  }, [url, init]);
}

// A screenshot for docs/admin.md, without the passing notices.
async function shot(name, opts = {}) {
  await page.evaluate(() => document.getElementById('toasts')?.replaceChildren());
  await page.screenshot({ path: screenshotPath(name), ...opts });
}

before(async () => {
  assert.ok(existsSync(peerBin()), `${peerBin()} is missing: cargo build -p duet-tests --bin duet-peer`);
  // With the test's Whisper model, so the recording page shows a transcript
  // (tests/run.sh sets DUET_TEST_WHISPER_MODEL).
  const model = process.env.DUET_TEST_WHISPER_MODEL;
  assert.ok(model, 'DUET_TEST_WHISPER_MODEL must name the test model (tests/run.sh sets it)');
  catalogs = await loadCatalogs();
  ctx.server = await startServer({ extraArgs: ['--transcription-model', model] });
  // The server reads accounts from its database, so one made now works at once.
  await createAdmin(ctx.server.dataDir, ADMIN, PASSWORD);
  admin = await launchPerson('admin', { viewport: { width: 1280, height: 860 } });
  ctx.people = [admin];
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  for (const p of peers) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
}, { timeout: TEST_TIMEOUT_MS });

e2e('/admin without a login shows the login form; the API without a cookie answers 401', ctx, async () => {
  page = await admin.open(`${ctx.server.base}/admin`);
  await byTestId(page, 'admin-username').waitFor({ state: 'visible' });
  assert.equal(await byTestId(page, 'admin-password').isVisible(), true);
  assert.equal(await byTestId(page, 'nav-sessions').isVisible(), false, 'no console before login');
  assert.equal(await byTestId(page, 'admin-logout').isVisible(), false);

  const session = await ctx.server.createSession({ title: 'Token probe' });
  for (const [method, path] of [
    ['GET', '/api/v1/admin/me'],
    ['GET', '/api/v1/sessions'],
    ['GET', '/api/v1/recordings'],
    ['GET', '/api/v1/consent'],
    ['GET', '/api/v1/policy'],
    ['GET', '/api/v1/audit'],
    ['PUT', '/api/v1/policy'],
  ]) {
    const bare = await fetch(`${ctx.server.base}${path}`, { method });
    assert.equal(bare.status, 401, `${method} ${path} without a credential`);
    // A join token is no admin credential.
    const withToken = await fetch(`${ctx.server.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${session.tokens.mentor}` },
    });
    assert.equal(withToken.status, 401, `${method} ${path} with a join token`);
  }
  // The page's own fetch, without a cookie yet.
  assert.equal((await pageFetch('/api/v1/sessions')).status, 401);
  await shot('admin-login.png');
  await assertAccessible(page, 'the console\'s login');
  await assertKeyboardReachable(page, 'the console\'s login');
});

/**
 * Picks `lang` in the top bar's language-select and waits for the page to
 * be in it (the catalog is a module loaded on demand).
 */
async function chooseLanguage(lang) {
  await byTestId(page, 'language-select').selectOption(lang);
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

/** Every marked text in `lang`, and nothing on screen that looks like a key of the console's. */
async function assertSpeaks(lang, where) {
  assert.deepEqual(await untranslated(page, catalogs[lang]), [], `${where} in ${lang}: every marked text`);
  assert.deepEqual(await leftoverKeys(page, 'admin/'), [], `${where} in ${lang}: no catalog key left on screen`);
  assert.equal(await page.evaluate(() => document.documentElement.dir), lang === 'ar' ? 'rtl' : 'ltr', `${where} in ${lang}: direction`);
}

e2e('before login, the language-select turns the login form into each language, errors too', ctx, async () => {
  await byTestId(page, 'admin-username').waitFor({ state: 'visible' });
  for (const lang of LANGS) {
    await chooseLanguage(lang);
    await assertSpeaks(lang, 'the login form');
    assert.equal(await byTestId(page, 'admin-login').textContent(), catalogs[lang]['admin/login.submit']);
    assert.equal(await page.title(), catalogs[lang]['admin/page-title']);
    if (lang !== 'en') assert.notEqual(catalogs[lang]['admin/login.heading'], catalogs.en['admin/login.heading'], lang);
  }
  // An error the page made follows a change of language while it is shown.
  await byTestId(page, 'admin-login').click();
  await waitUntil('the missing-fields error', async () => (await textOf(page, 'admin-error')) === catalogs.ar['admin/login.missing']);
  await assertAccessible(page, 'the login form in Arabic');
  await page.screenshot({ path: '/tmp/admin-login-ar.png' });
  await chooseLanguage('ja');
  assert.equal(await textOf(page, 'admin-error'), catalogs.ja['admin/login.missing']);
  // The rest of the walkthrough reads English messages.
  await chooseLanguage('en');
  assert.equal(await textOf(page, 'admin-error'), catalogs.en['admin/login.missing']);
});

e2e('a wrong password shows the server\'s error; the right one opens the console', ctx, async () => {
  await byTestId(page, 'admin-username').fill(ADMIN);
  await byTestId(page, 'admin-password').fill('not the password at all');
  await byTestId(page, 'admin-login').click();
  await waitUntil('the login error', () => byTestId(page, 'admin-error').isVisible());
  assert.match(await textOf(page, 'admin-error'), /wrong username or password/i);
  assert.equal(await byTestId(page, 'nav-sessions').isVisible(), false);

  await byTestId(page, 'admin-password').fill(PASSWORD);
  await byTestId(page, 'admin-login').click();
  await byTestId(page, 'nav-sessions').waitFor({ state: 'visible' });
  assert.equal(await byTestId(page, 'admin-error').isVisible(), false);
  assert.match(await textOf(page, 'admin-user'), new RegExp(ADMIN));

  // The cookie works for API calls from the page; a change without the
  // CSRF header is refused.
  assert.equal((await pageFetch('/api/v1/sessions')).status, 200);
  const forged = await pageFetch('/api/v1/policy', {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"retention_days":1}',
  });
  assert.equal(forged.status, 403, forged.text);
  assert.match(forged.text, /csrf_failed/);

  // A reload keeps the login (GET /me gives the CSRF token back).
  await page.reload();
  await byTestId(page, 'nav-sessions').waitFor({ state: 'visible' });
});

e2e('create a session, see it live with two peers recording, end it from the console', ctx, async () => {
  await byTestId(page, 'nav-sessions').click();
  await byTestId(page, 'session-title').fill('Console 1:1');
  await byTestId(page, 'session-mentor').fill('Ada');
  await byTestId(page, 'session-mentee').fill('Grace');
  await byTestId(page, 'session-recording').check();
  await byTestId(page, 'session-create').click();
  await byTestId(page, 'link-mentor').waitFor({ state: 'visible' });
  const mentorLink = await byTestId(page, 'link-mentor').inputValue();
  const menteeLink = await byTestId(page, 'link-mentee').inputValue();
  assert.match(mentorLink, /\/join#.+/);
  assert.match(menteeLink, /\/join#.+/);
  assert.notEqual(mentorLink, menteeLink);
  sessionId = await byTestId(page, 'session-created').getAttribute('data-id');
  assert.ok(sessionId, 'the created card names the session');

  // Copy says whether it copied, then is the button's own label again.
  const copy = byTestId(page, 'copy-mentor');
  await copy.click();
  await waitUntil('the copy button to say what happened', async () => (
    /^(Copied|Select and copy)$/.test(await copy.textContent())
  ));
  await waitUntil('the copy button back to its label', async () => (await copy.textContent()) === 'Copy');

  // Upcoming: nobody has joined yet.
  await byTestId(page, 'filter-upcoming').click();
  await rowIn('session-row', sessionId);
  await shot('admin-sessions.png');
  await assertAccessible(page, 'the console\'s sessions');
  await assertKeyboardReachable(page, 'the console\'s sessions');

  // Both join with the links' tokens; the mentor asks to record and both
  // consent to the notice they are shown.
  const mentor = startPeer('Ada', tokenOf(mentorLink), ['--request']);
  const mentee = startPeer('Grace', tokenOf(menteeLink), ['--record']);
  await Promise.all([waitForLine(mentor, 'connected'), waitForLine(mentee, 'connected')]);

  await byTestId(page, 'filter-live').click();
  const row = await rowIn('session-row', sessionId);
  await row.locator('a').click();
  await waitUntil('both participants connected in the live view', async () => {
    const states = await page.locator('[data-testid="live-participant"]').evaluateAll(
      (els) => els.map((e) => `${e.dataset.role}:${e.dataset.connected}`),
    );
    return states.includes('mentor:true') && states.includes('mentee:true') ? { ok: true } : { ok: false, states };
  });
  await Promise.all([waitForLine(mentor, 'recording'), waitForLine(mentee, 'recording')]);
  await waitUntil('the live view to say recording', async () => (
    (await byTestId(page, 'live-recording').getAttribute('data-state')) === 'recording'));
  const mentorCard = page.locator('[data-testid="live-participant"][data-role="mentor"]');
  assert.match(await mentorCard.innerText(), /Ada/);
  assert.ok(await mentorCard.locator('[data-testid="live-quality"]').count(), 'a quality rating');
  // Let some media be written, then take the picture for the docs.
  await new Promise((r) => setTimeout(r, 3000));
  await shot('admin-live.png');

  await byTestId(page, 'session-end').click();
  await byTestId(page, 'confirm-yes').click();
  await Promise.all([waitForLine(mentor, 'ended ended'), waitForLine(mentee, 'ended ended')]);
  await waitUntil('the live view to say ended', async () => (
    (await byTestId(page, 'live-status').getAttribute('data-state')) === 'ended'));
  assert.equal(await byTestId(page, 'session-end').isVisible(), false);

  await byTestId(page, 'nav-sessions').click();
  await byTestId(page, 'filter-ended').click();
  await rowIn('session-row', sessionId);
  await byTestId(page, 'filter-live').click();
  await waitUntil('the session gone from live', async () => (
    (await page.locator(`[data-testid="session-row"][data-id="${sessionId}"]`).count()) === 0));
});

e2e('the recording is complete, plays, and is deleted after a confirmation', ctx, async () => {
  assert.ok(sessionId, 'needs the session of the previous test');
  await byTestId(page, 'nav-recordings').click();
  const row = page.locator(`[data-testid="recording-row"][data-session="${sessionId}"]`);
  await waitUntil('the recording to be complete', async () => (
    (await row.count()) === 1 && (await row.getAttribute('data-status')) === 'complete'
      ? { ok: true } : { ok: false, status: (await row.count()) ? await row.getAttribute('data-status') : 'absent' }));
  assert.match(await row.innerText(), /Console 1:1/);
  assert.match(await row.innerText(), /Ada/);
  const recordingId = await row.getAttribute('data-id');
  await row.locator('a').click();
  await waitUntil('the players', async () => (await page.locator('[data-testid="recording-player"]').count()) >= 2);
  assert.equal(await byTestId(page, 'recording-status').getAttribute('data-state'), 'complete');

  // Each track's URL serves the file to the console's cookie, and the mix
  // is a WAV.
  const srcs = await page.locator('[data-testid="recording-player"]').evaluateAll((els) => els.map((e) => e.getAttribute('src')));
  for (const src of srcs) {
    const res = await pageFetch(src, { method: 'GET' });
    assert.equal(res.status, 200, `${src}: ${res.text.slice(0, 200)}`);
  }
  const download = await page.locator('[data-testid="recording-download"]').first().getAttribute('href');
  const saved = await pageFetch(download);
  assert.equal(saved.status, 200);
  assert.match(saved.disposition ?? '', /^attachment/);
  const mixSrc = await byTestId(page, 'recording-mix').getAttribute('src');
  assert.equal(mixSrc, `/api/v1/recordings/${recordingId}/mix.wav`);
  const mix = await pageFetch(mixSrc);
  assert.equal(mix.status, 200, mix.text.slice(0, 200));
  assert.match(mix.type ?? '', /audio\/(wav|x-wav|wave)/);
  // Every track loads in its own element (the cookie authenticates it).
  await waitUntil('every player to load its metadata', () => page.evaluate(() => {
    const players = [...document.querySelectorAll('[data-testid="recording-player"]')];
    const states = players.map((p) => ({ file: p.closest('[data-file]')?.dataset.file, ready: p.readyState, error: p.error?.code ?? null }));
    return states.every((s) => s.ready >= 1) ? { ok: true } : { ok: false, states };
  }));
  // The peers sent a tone, not speech; the transcript is still made. The
  // job runs only when the CPU is otherwise idle (SCHED_IDLE), and this
  // machine also runs the browser: give it time.
  await waitUntil('the transcript to be made', async () => {
    const state = await byTestId(page, 'transcript-state').getAttribute('data-state');
    return state === 'done' ? { ok: true } : { ok: false, state };
  }, { timeout: 100_000 });
  assert.equal(await byTestId(page, 'recording-transcript').isVisible(), true);
  assert.equal(await byTestId(page, 'transcript-search').isVisible(), true);
  const transcript = await pageFetch(`/api/v1/recordings/${recordingId}/transcript`);
  assert.equal(transcript.status, 200);
  assert.equal(JSON.parse(transcript.text).status, 'done');
  await shot('admin-recording.png', { fullPage: true });

  // Cancel first: nothing happens.
  await byTestId(page, 'recording-delete').click();
  await byTestId(page, 'confirm-no').click();
  assert.equal(await byTestId(page, 'recording-status').getAttribute('data-state'), 'complete');

  await byTestId(page, 'recording-delete').click();
  await byTestId(page, 'confirm-yes').click();
  await waitUntil('the recording to show deleted', async () => (
    (await byTestId(page, 'recording-status').getAttribute('data-state')) === 'deleted'));
  assert.equal(await page.locator('[data-testid="recording-player"]').count(), 0);
  assert.equal((await pageFetch(srcs[0])).status, 404, 'the files are gone');

  await byTestId(page, 'nav-recordings').click();
  await waitUntil('the list to show deleted', async () => (
    (await row.getAttribute('data-status')) === 'deleted'));
});

e2e('the consent trail shows the session and exports it as CSV', ctx, async () => {
  assert.ok(sessionId, 'needs the session of the earlier tests');
  await byTestId(page, 'nav-trail').click();
  await byTestId(page, 'trail-session').fill(sessionId);
  await byTestId(page, 'trail-apply').click();
  await waitUntil('trail rows of the session', async () => (
    (await page.locator(`[data-testid="trail-row"][data-session="${sessionId}"]`).count()) >= 6));
  assert.equal(await page.locator('[data-testid="trail-row"]').count(),
    await page.locator(`[data-testid="trail-row"][data-session="${sessionId}"]`).count(), 'only that session');
  await shot('admin-trail.png');

  const href = await byTestId(page, 'trail-export-csv').getAttribute('href');
  assert.match(href, /^\/api\/v1\/consent\?/);
  assert.match(href, /format=csv/);
  assert.match(href, new RegExp(`session=${sessionId}`));
  const csv = await pageFetch(href);
  assert.equal(csv.status, 200, csv.text);
  assert.match(csv.type ?? '', /text\/csv/);
  const [header, ...lines] = csv.text.trim().split(/\r?\n/);
  const cols = header.split(',');
  assert.deepEqual(cols, ['seq', 'at', 'session_id', 'recording_id', 'action', 'role',
    'participant_id', 'actor', 'notice_hash', 'notice_version', 'detail']);
  const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
  assert.ok(rows.every((r) => r.session_id === sessionId), 'every row is the session\'s');
  const actions = rows.map((r) => r.action);
  const expect = ['request', 'consent', 'consent', 'start'];
  assert.deepEqual(actions.slice(0, 4), expect, actions.join(' '));
  // Ending the session stops the recording: `stop` or `interruption` ("the
  // session ended"), then the admin's deletion is a `discard`.
  assert.ok(actions.some((a) => a === 'stop' || a === 'interruption'), actions.join(' '));
  const discard = rows.find((r) => r.action === 'discard');
  assert.ok(discard, actions.join(' '));
  assert.equal(discard.actor, 'admin');
  assert.equal(actions.at(-1), 'discard');
  assert.ok(rows.filter((r) => r.action === 'consent').every((r) => r.notice_version === '1'), 'consents name notice version 1');

  const json = await pageFetch(await byTestId(page, 'trail-export-json').getAttribute('href'));
  assert.equal(json.status, 200);
  assert.equal(JSON.parse(json.text).events.length, rows.length);
});

e2e('the policy: a new notice becomes version 2, the old one stays listed', ctx, async () => {
  await byTestId(page, 'nav-policy').click();
  await waitUntil('the notice text', async () => (await byTestId(page, 'policy-notice').inputValue()).length > 0);
  assert.equal(await page.locator('[data-testid="policy-version"]').count(), 1);
  await byTestId(page, 'policy-notice').fill('This session will be recorded: audio, video and a transcript. Either of you can stop it at any time.');
  await byTestId(page, 'policy-retention').fill('30');
  await byTestId(page, 'policy-save').click();
  await waitUntil('two notice versions', async () => (await page.locator('[data-testid="policy-version"]').count()) === 2);
  assert.equal(await page.locator('[data-testid="policy-version"][data-current="true"]').getAttribute('data-version'), '2');
  const policy = JSON.parse((await pageFetch('/api/v1/policy')).text);
  assert.equal(policy.retention_days, 30);
  assert.equal(policy.notice.version, 2);

  // The notice in Spanish, in the operator's words: a version of its own,
  // listed with its language; emptying the box takes it away again.
  const spanish = 'Esta sesión se grabará: audio, vídeo y una transcripción. Cualquiera de los dos puede pararla.';
  await page.locator('#policy-translations > summary').click();
  const box = page.locator('[data-testid="policy-notice-translation"][data-lang="es"]');
  await box.fill(spanish);
  await byTestId(page, 'policy-save').click();
  await waitUntil('three notice versions', async () => (await page.locator('[data-testid="policy-version"]').count()) === 3);
  const withSpanish = JSON.parse((await pageFetch('/api/v1/policy')).text);
  assert.equal(withSpanish.translations.es.text, spanish);
  assert.equal(withSpanish.translations.es.language, 'es');
  assert.equal(withSpanish.notice.version, 2, 'the notice itself is unchanged');
  assert.equal(await page.locator('[data-testid="policy-version-language"]').count(), 1);
  // From the top: the sticky bar would otherwise sit mid-picture.
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('admin-policy.png', { fullPage: true });
  await box.fill('');
  await byTestId(page, 'policy-save').click();
  await waitUntil('no translation in force', async () => (
    Object.keys(JSON.parse((await pageFetch('/api/v1/policy')).text).translations).length === 0
  ));
  assert.equal(await page.locator('[data-testid="policy-version"]').count(), 3, 'its text stays on record');
});

e2e('the audit log shows logins, the session, its end and the deletion, newest first', ctx, async () => {
  await byTestId(page, 'nav-audit').click();
  const want = ['login_failed', 'login', 'session_create', 'session_end', 'recording_delete', 'policy_change'];
  let actions = [];
  await waitUntil('the audit rows', async () => {
    actions = await page.locator('[data-testid="audit-row"]').evaluateAll((els) => els.map((e) => e.dataset.action));
    return want.every((a) => actions.includes(a)) ? { ok: true } : { ok: false, actions };
  });
  const seqs = await page.locator('[data-testid="audit-row"]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'newest first');
  assert.ok(actions.indexOf('recording_delete') < actions.indexOf('session_create'), 'the deletion above the creation');
  await shot('admin-audit.png');
});

e2e('the nodes view lists this server, live, with the sessions it holds', ctx, async () => {
  // Someone in a call: the session is placed on this node.
  const held = await ctx.server.createSession({ title: 'Held here' });
  const alone = startPeer('Ada', tokenOf(held.links.mentor));
  await byTestId(page, 'nav-nodes').click();
  const row = page.locator('[data-testid="node-row"]');
  await waitUntil('this node listed as live', async () => (await row.count()) === 1
    && (await row.getAttribute('data-state')) === 'live');
  assert.match(await row.textContent(), /this one/);
  const link = row.locator('[data-testid="node-session"]');
  await waitUntil('the held session under the node', async () => (await link.count()) === 1
    && (await link.textContent()) === 'Held here'
    ? { ok: true } : { ok: false, text: await row.textContent() }, { timeout: 15_000 });
  await shot('admin-nodes.png');
  await link.click();
  await page.waitForFunction((id) => location.hash === `#sessions/${id}`, held.id);
  alone.child.kill();
  await ctx.server.endSession(held.id);
});

e2e('every view of the console in each language: its words, no key left, dates for the locale; Arabic right to left', ctx, async () => {
  assert.ok(sessionId, 'needs the session of the earlier tests');
  // A pair, so the pair views have something to say.
  const made = await ctx.server.api('POST', '/api/v1/pairs', {
    title: 'Language pair', mentor: { name: 'Ada' }, mentee: { name: 'Grace' },
  });
  assert.equal(made.status, 201, made.text);
  const pairId = made.json.id;
  const recordings = JSON.parse((await pageFetch('/api/v1/recordings')).text).recordings;
  const recordingId = recordings.find((r) => r.session_id === sessionId)?.id;
  assert.ok(recordingId, 'the recording of the walkthrough');

  const count = (selector) => page.locator(selector).count();
  // Each view by its fragment, and what shows it has loaded.
  const views = [
    ['#sessions', async () => (await count('[data-testid="session-row"]')) > 0 || byTestId(page, 'sessions-empty').isVisible()],
    [`#sessions/${sessionId}`, async () => (await count('[data-testid="live-participant"]')) === 2],
    ['#pairs', async () => (await count(`[data-testid="pair-row"][data-id="${pairId}"]`)) === 1],
    [`#pairs/${pairId}`, async () => (await count('[data-testid="pair-person"]')) === 2],
    ['#recordings', async () => (await count(`[data-testid="recording-row"][data-id="${recordingId}"]`)) === 1],
    [`#recordings/${recordingId}`, async () => (await byTestId(page, 'recording-status').getAttribute('data-state')) === 'deleted'],
    [`#trail?session=${sessionId}`, async () => (await count('[data-testid="trail-row"]')) >= 6],
    // Two versions of the notice and the Spanish one (the policy test).
    ['#policy', async () => (await count('[data-testid="policy-version"]')) === 3],
    ['#audit', async () => (await count('[data-testid="audit-row"]')) > 0],
    ['#nodes', async () => (await count('[data-testid="node-row"]')) === 1],
  ];
  for (const [hash, loaded] of views) {
    await page.evaluate((h) => { location.hash = h; }, hash);
    await waitUntil(`${hash} to load`, loaded);
    for (const lang of LANGS) {
      await chooseLanguage(lang);
      await assertSpeaks(lang, hash);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 1, `${hash} in ${lang}: no sideways scrolling`);
    }
  }

  // Times follow the language: the audit log's newest time, in English and
  // then in German and Japanese, as Intl writes it for each.
  await page.evaluate(() => { location.hash = '#audit'; });
  const firstTime = page.locator('[data-testid="audit-row"] time').first();
  await chooseLanguage('en');
  await firstTime.waitFor({ state: 'visible' });
  const english = await firstTime.textContent();
  const iso = await firstTime.getAttribute('datetime');
  for (const lang of ['de', 'ja']) {
    await chooseLanguage(lang);
    const expected = await page.evaluate(([l, at]) => new Intl.DateTimeFormat(l, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(at)), [lang, iso]);
    await waitUntil(`the audit time in ${lang}`, async () => (await firstTime.textContent()) === expected
      ? { ok: true } : { ok: false, shown: await firstTime.textContent(), expected });
    assert.notEqual(expected, english, `${lang} writes the time otherwise than English`);
  }
  // The event names are the log's own record and stay as they are.
  assert.equal(await page.locator('[data-testid="audit-row"] .audit-action').first().textContent(),
    await page.locator('[data-testid="audit-row"]').first().getAttribute('data-action'));

  // Arabic: the top bar mirrored (Duet at the right, Log out at the left),
  // and no serious accessibility fault in a list, a form and a detail view.
  await chooseLanguage('ar');
  const brand = await page.locator('.admin-topbar .brand').boundingBox();
  const logout = await byTestId(page, 'admin-logout').boundingBox();
  assert.ok(brand.x > logout.x, `right to left: Duet (${brand.x}) right of Log out (${logout.x})`);
  await assertAccessible(page, 'the audit log in Arabic');
  await page.screenshot({ path: '/tmp/admin-audit-ar.png' });
  for (const hash of ['#sessions', `#recordings/${recordingId}`, `#pairs/${pairId}`]) {
    const [, loaded] = views.find(([h]) => h === hash);
    await page.evaluate((h) => { location.hash = h; }, hash);
    await waitUntil(`${hash} to load in Arabic`, loaded);
    await assertAccessible(page, `${hash} in Arabic`);
    await page.screenshot({ path: `/tmp/admin-${hash.slice(1).split('/')[0]}-ar.png`, fullPage: true });
  }
  await chooseLanguage('en');
  await ctx.server.api('DELETE', `/api/v1/pairs/${pairId}`);
});

e2e('on a phone: the sessions list as cards; a lost login shows the form again; log out', ctx, async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await byTestId(page, 'nav-sessions').click();
  await byTestId(page, 'filter-ended').click();
  await rowIn('session-row', sessionId);
  await page.evaluate(() => window.scrollTo(0, 0));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow}px too wide)`);
  await shot('admin-phone.png');
  await page.setViewportSize({ width: 1280, height: 860 });

  // The login ends behind the page's back (another tab logs out): the next
  // refresh of the list gets 401 and the page asks to sign in again.
  await byTestId(page, 'filter-upcoming').click();
  const ended = await page.evaluate(async () => {
    const me = await (await fetch('/api/v1/admin/me')).json();
    const res = await fetch('/api/v1/admin/logout', { method: 'POST', headers: { 'x-csrf-token': me.csrf_token } });
    return res.status;
  });
  assert.equal(ended, 204);
  await byTestId(page, 'admin-username').waitFor({ state: 'visible' });
  assert.match(await textOf(page, 'admin-error'), /sign in again/i);
  assert.equal(await byTestId(page, 'nav-sessions').isVisible(), false);
  assert.equal(await byTestId(page, 'admin-username').inputValue(), ADMIN, 'the username is kept');

  // Sign in again, then out with the button.
  await byTestId(page, 'admin-password').fill(PASSWORD);
  await byTestId(page, 'admin-login').click();
  await byTestId(page, 'nav-sessions').waitFor({ state: 'visible' });
  await byTestId(page, 'admin-logout').click();
  await byTestId(page, 'admin-username').waitFor({ state: 'visible' });
  assert.equal((await pageFetch('/api/v1/admin/me')).status, 401);
  await page.reload();
  await byTestId(page, 'admin-username').waitFor({ state: 'visible' });
  assert.equal(await byTestId(page, 'nav-sessions').isVisible(), false);
});

e2e('repeated wrong passwords: the login form shows the server\'s rate limit', ctx, async () => {
  // Runs last: the limit also holds for this client address, for 15 minutes.
  await byTestId(page, 'admin-username').fill(ADMIN);
  let text = '';
  for (let attempt = 1; attempt <= 8 && !/too many/i.test(text); attempt += 1) {
    await byTestId(page, 'admin-password').fill(`wrong password ${attempt}`);
    await byTestId(page, 'admin-login').click();
    await waitUntil('an answer to the login', async () => (
      (await byTestId(page, 'admin-login').isEnabled()) && (await byTestId(page, 'admin-error').isVisible())));
    text = await textOf(page, 'admin-error');
  }
  assert.match(text, /too many/i);
  // Now even the right password is refused until the window passes.
  await byTestId(page, 'admin-password').fill(PASSWORD);
  await byTestId(page, 'admin-login').click();
  await waitUntil('the refusal', async () => /too many/i.test(await textOf(page, 'admin-error')));
  assert.equal(await byTestId(page, 'nav-sessions').isVisible(), false);
  await shot('admin-rate-limited.png');
});
