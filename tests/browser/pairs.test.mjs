// A mentoring pair end to end, in real browsers against the real server:
// an admin creates the pair in the console; the mentor (in Berlin) and the
// mentee (in New York) open their personal links; the mentor schedules and
// each sees the time in their own zone and the other's; both fill the
// agenda and confirm the agreement; they join a call from the pair home,
// write a private and a shared note and tick an agenda item in the call's
// side panel; afterwards the mentee's pair home shows the shared note and
// never the private one, and the call in its history. A revoked link, an
// ended pair (read-only, still exportable) and a deleted one close the
// page as they should.
//
// The tests run in order and build on each other (one pair, one story).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';

import { assertAccessible, assertKeyboardReachable } from './a11y.mjs';
import { LANGS, leftoverKeys, loadCatalogs, untranslated } from './i18n-check.mjs';

import {
  byTestId,
  clickJoin,
  createAdmin,
  e2e,
  launchPerson,
  rebaseLink,
  screenshotPath,
  startServer,
  TEST_TIMEOUT_MS,
  textOf,
  waitForState,
  waitUntil,
} from './harness.mjs';

const ADMIN = 'pairadmin';
const PASSWORD = 'a long and correct password';
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
// en-GB: 24-hour times ("17:00") and "Tue 8 Dec", as in the docs.
const LOCALE = 'en-GB';
const PRIVATE = 'Private: Alan sounded unsure about the budget part';
const SHARED = 'Shared: practise the opening twice before Friday';

const ctx = { server: null, people: [] };
let admin;
let mentor;
let mentee;
// Filled in as the story goes.
const pair = { id: null, links: {}, tokens: {} };
let firstStart = null; // the first scheduled session's UTC instant
let catalogs = {};

// ---------- time helpers (Node's ICU, independent of the page's code) ----------

function partsIn(ms, zone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (t) => Number(parts.find((p) => p.type === t).value);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour'), mi: get('minute'), s: get('second') };
}

const pad = (n) => String(n).padStart(2, '0');

/** The UTC instant of wall time `y-mo-d h:mi` in `zone`. */
function zonedToUtc({ y, mo, d, h, mi }, zone) {
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  let guess = wall;
  for (let i = 0; i < 3; i++) {
    const p = partsIn(guess, zone);
    const offset = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - guess;
    guess = wall - offset;
  }
  return new Date(guess);
}

/** "2026-12-08T17:00" for `ms` in `zone`: what a datetime-local input there holds. */
function localInput(ms, zone) {
  const p = partsIn(ms, zone);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}`;
}

const hhmm = (date, zone) => new Intl.DateTimeFormat(LOCALE, { hour: '2-digit', minute: '2-digit', timeZone: zone }).format(date);
const rfc3339 = (date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
const tokenOf = (link) => link.slice(link.indexOf('#') + 1);

// ---------- page helpers ----------

/** Makes the pair home reload its data now (it does so on focus). */
async function nudge(page) {
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
}

/** Waits, nudging the page to refresh, until `probe(page)` holds. */
async function eventually(page, what, probe) {
  return waitUntil(what, async () => {
    const v = await probe(page);
    if (!v || v.ok === false) await nudge(page);
    return v;
  }, { interval: 500 });
}

const attr = (page, testid, name) => byTestId(page, testid).first().getAttribute(name);

async function agendaTexts(page) {
  return byTestId(page, 'agenda-item').locator('.item-text').allInnerTexts();
}

before(async () => {
  catalogs = await loadCatalogs();
  ctx.server = await startServer();
  await createAdmin(ctx.server.dataDir, ADMIN, PASSWORD);
  [admin, mentor, mentee] = await Promise.all([
    launchPerson('admin', { viewport: { width: 1280, height: 900 } }),
    launchPerson('mentor', { viewport: { width: 1280, height: 900 }, contextOptions: { timezoneId: BERLIN, locale: LOCALE } }),
    launchPerson('mentee', { viewport: { width: 1280, height: 900 }, contextOptions: { timezoneId: NEW_YORK, locale: LOCALE } }),
  ]);
  ctx.people = [admin, mentor, mentee];
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
}, { timeout: TEST_TIMEOUT_MS });

e2e('an admin creates a pair in the console, gets two personal links, re-issues one', ctx, async () => {
  const page = await admin.open(`${ctx.server.base}/admin`);
  await byTestId(page, 'admin-username').fill(ADMIN);
  await byTestId(page, 'admin-password').fill(PASSWORD);
  await byTestId(page, 'admin-login').click();
  await byTestId(page, 'nav-pairs').click();
  await byTestId(page, 'pair-title').fill('Growing into a lead');
  await byTestId(page, 'pair-goal').fill('Alan leads his first team by spring.');
  await byTestId(page, 'pair-mentor-name').fill('Grace');
  await byTestId(page, 'pair-mentor-zone').fill(BERLIN);
  // The mentee's zone is left empty: his pair home sets it from his browser.
  await byTestId(page, 'pair-mentee-name').fill('Alan');
  await byTestId(page, 'pair-create').click();
  await byTestId(page, 'pair-created').waitFor({ state: 'visible' });
  for (const role of ['mentor', 'mentee']) {
    const link = await byTestId(page, `pair-link-${role}`).inputValue();
    assert.match(link, /\/pair#.{20,}/, `the ${role}'s link`);
    pair.links[role] = rebaseLink(link, ctx.server.base);
    pair.tokens[role] = tokenOf(link);
  }
  assert.notEqual(pair.tokens.mentor, pair.tokens.mentee);
  pair.id = await byTestId(page, 'pair-created').getAttribute('data-id');
  const row = page.locator(`[data-testid="pair-row"][data-id="${pair.id}"]`);
  await row.waitFor({ state: 'visible' });
  assert.match(await row.innerText(), /Grace[\s\S]*Alan/);

  // The pair's page: both links, re-issue and revoke for each.
  await row.locator('a').click();
  await waitUntil('both link fields', async () => (await byTestId(page, 'pair-detail-link').count()) === 2);
  assert.equal(await byTestId(page, 'pair-link-reissue').count(), 2);
  assert.equal(await byTestId(page, 'pair-link-revoke').count(), 2);

  // A new link for the mentee: the old one stops working, the mentor's not.
  const menteeLink = page.locator('[data-testid="pair-detail-link"][data-role="mentee"]');
  assert.equal(tokenOf(await menteeLink.inputValue()), pair.tokens.mentee);
  await page.locator('[data-testid="pair-link-reissue"][data-role="mentee"]').click();
  await byTestId(page, 'confirm-yes').click();
  await waitUntil('the new mentee link', async () => tokenOf(await menteeLink.inputValue()) !== pair.tokens.mentee);
  const oldToken = pair.tokens.mentee;
  const newLink = await menteeLink.inputValue();
  pair.links.mentee = rebaseLink(newLink, ctx.server.base);
  pair.tokens.mentee = tokenOf(newLink);
  assert.equal((await ctx.server.api('GET', '/api/v1/pairs', undefined, { token: oldToken })).status, 401);
  assert.equal((await ctx.server.api('GET', '/api/v1/pairs', undefined, { token: pair.tokens.mentee })).status, 200);
  assert.equal((await ctx.server.api('GET', '/api/v1/pairs', undefined, { token: pair.tokens.mentor })).status, 200);

  await page.evaluate(() => {
    document.getElementById('toasts')?.replaceChildren();
    window.scrollTo(0, 0);
  });
  await page.screenshot({ path: screenshotPath('admin-pair.png') });
  await admin.close();
  ctx.people = [mentor, mentee];
});

e2e('the mentor opens her link and schedules the next session at 17:00 Berlin time', ctx, async () => {
  const page = await mentor.open(pair.links.mentor);
  await byTestId(page, 'pair-home').waitFor({ state: 'visible' });
  // The secret is taken out of the address bar (kept in the tab's storage).
  assert.equal(new URL(page.url()).hash, '', 'no token left in the address bar');
  assert.match(await page.locator('#pair-title').innerText(), /Growing into a lead/);
  assert.match(await textOf(page, 'next-session'), /Nothing scheduled/);

  // Three days ahead, 17:00 on the mentor's wall clock.
  const day = partsIn(Date.now() + 3 * 86_400_000, BERLIN);
  firstStart = zonedToUtc({ ...day, h: 17, mi: 0 }, BERLIN);
  await byTestId(page, 'schedule-start').fill(`${day.y}-${pad(day.mo)}-${pad(day.d)}T17:00`);
  await byTestId(page, 'schedule-duration').fill('60');
  await byTestId(page, 'schedule-save').click();
  await waitUntil('next-session to carry the UTC start', async () => (await attr(page, 'next-session', 'data-starts-at')) === rfc3339(firstStart));
  // Alan has no zone yet: only her own time.
  assert.match(await textOf(page, 'next-session'), /17:00 for you/);
  const res = await ctx.server.api('GET', `/api/v1/pairs/${pair.id}`);
  assert.equal(res.json.next.starts_at, rfc3339(firstStart));
  assert.equal(res.json.sessions[0].time_zone, BERLIN);
});

e2e('the mentee in New York sees the session in his time and in hers', ctx, async () => {
  const page = await mentee.open(pair.links.mentee);
  await byTestId(page, 'pair-home').waitFor({ state: 'visible' });
  await waitUntil('next-session on the mentee page', async () => (await attr(page, 'next-session', 'data-starts-at')) === rfc3339(firstStart));
  const text = await textOf(page, 'next-session');
  assert.ok(text.includes(`${hhmm(firstStart, NEW_YORK)} for you`), text);
  assert.ok(text.includes('17:00 for Grace'), text);
  // His first visit told the server his zone…
  await waitUntil('the mentee zone saved', async () => {
    const res = await ctx.server.api('GET', `/api/v1/pairs/${pair.id}`);
    return res.json.mentee.time_zone === NEW_YORK ? true : { ok: false, mentee: res.json.mentee };
  });
  // …so the mentor now sees his time beside hers.
  await eventually(mentor.page, 'the mentor page to show Alan\'s time', async (p) => (
    (await textOf(p, 'next-session')).includes(`17:00 for you · ${hhmm(firstStart, NEW_YORK)} for Alan`)));
});

e2e('the calendar file downloads from the pair home', ctx, async () => {
  const page = mentee.page;
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    byTestId(page, 'ics-download').click(),
  ]);
  const ics = readFileSync(await download.path(), 'utf8');
  assert.match(ics, /^BEGIN:VCALENDAR/);
  assert.match(ics, /BEGIN:VEVENT/);
  assert.match(download.suggestedFilename(), /\.ics$/);
  // The feed address is there to copy.
  assert.match(await byTestId(page, 'calendar-feed').inputValue(), /\/calendar\.ics\?token=/);
});

e2e('both add to the agenda and confirm the agreement', ctx, async () => {
  const m = mentor.page;
  const a = mentee.page;
  await byTestId(m, 'agenda-input').fill('How the presentation went');
  await byTestId(m, 'agenda-add').click();
  await byTestId(a, 'agenda-input').fill('Career goals for next year');
  await byTestId(a, 'agenda-input').press('Enter');
  for (const page of [m, a]) {
    await eventually(page, 'both agenda items', async (p) => (await agendaTexts(p)).length === 2);
  }
  assert.deepEqual(await agendaTexts(a), ['How the presentation went', 'Career goals for next year']);
  // Reorder: the mentee moves his topic up.
  await byTestId(a, 'agenda-item').nth(1).locator('[data-testid="agenda-up"]').click();
  await waitUntil('the moved topic first', async () => (await agendaTexts(a))[0] === 'Career goals for next year');

  for (const page of [m, a]) assert.equal(await attr(page, 'agreement-status', 'data-state'), 'unconfirmed');
  await byTestId(m, 'agreement-confirm').click();
  await waitUntil('partly on the mentor page', async () => (await attr(m, 'agreement-status', 'data-state')) === 'partly');
  await eventually(a, 'partly on the mentee page', async (p) => (await attr(p, 'agreement-status', 'data-state')) === 'partly');
  assert.match(await textOf(a, 'agreement-status'), /Grace has confirmed/);
  await byTestId(a, 'agreement-confirm').click();
  await waitUntil('confirmed on the mentee page', async () => (await attr(a, 'agreement-status', 'data-state')) === 'confirmed');
  await eventually(m, 'confirmed on the mentor page', async (p) => (await attr(p, 'agreement-status', 'data-state')) === 'confirmed');
});

e2e('what people write is shown as text, never as markup', ctx, async () => {
  const markup = '<img src=x onerror="window.__xss=1"><b>bold?</b> javascript:alert(1)';
  await byTestId(mentee.page, 'agenda-input').fill(markup);
  await byTestId(mentee.page, 'agenda-add').click();
  const m = mentor.page;
  await eventually(m, 'the markup as text on the mentor page', async (p) => (await agendaTexts(p)).includes(markup));
  assert.equal(await byTestId(m, 'agenda-list').locator('img, b, a').count(), 0);
  assert.equal(await m.evaluate(() => window.__xss), undefined);
  // The mentee takes it off the agenda again.
  const item = mentee.page.locator('[data-testid="agenda-item"]', { hasText: 'bold?' });
  await item.locator('[data-testid="agenda-delete"]').click();
  await waitUntil('the topic deleted', async () => (await agendaTexts(mentee.page)).length === 2);
});

e2e('messages: a link is clickable, reading clears the unread count', ctx, async () => {
  const m = mentor.page;
  const a = mentee.page;
  // The mentor reads further down the page: the thread is off screen.
  await m.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const text = 'Here is the article I mentioned: https://example.org/leading-teams';
  await byTestId(a, 'message-input').fill(text);
  await byTestId(a, 'message-send').click();
  await eventually(m, 'the message on the mentor page', async (p) => (await textOf(p, 'message-list')).includes('Here is the article'));
  // Unread while she has not seen it: the count, and the server agrees.
  await waitUntil('the unread count', async () => (await textOf(m, 'messages-unread')) === '1 new');
  const before = await ctx.server.api('GET', `/api/v1/pairs/${pair.id}/messages`, undefined, { token: pair.tokens.mentor });
  assert.equal(before.json.unread, 1);
  const link = byTestId(m, 'message-list').locator('a[href="https://example.org/leading-teams"]');
  assert.equal(await link.count(), 1);
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
  // On screen in a visible tab means read.
  await byTestId(m, 'message-list').scrollIntoViewIfNeeded();
  await waitUntil('the mentor to have read it', async () => {
    const res = await ctx.server.api('GET', `/api/v1/pairs/${pair.id}/messages`, undefined, { token: pair.tokens.mentor });
    return res.json.unread === 0 ? true : { ok: false, unread: res.json.unread };
  });
  await waitUntil('the count gone', async () => !(await byTestId(m, 'messages-unread').isVisible()));
  await byTestId(m, 'message-input').fill('Thanks! Let us talk about it next time.');
  await byTestId(m, 'message-send').click();
  await eventually(a, 'the reply on the mentee page', async (p) => (await textOf(p, 'message-list')).includes('Let us talk about it'));
});

e2e('a call from the pair home: notes and agenda in the side panel, then the shared note at home', ctx, async () => {
  // A session starting within 30 minutes is the one Join opens.
  const soon = Math.floor((Date.now() + 10 * 60_000) / 60_000) * 60_000;
  await byTestId(mentor.page, 'schedule-start').fill(localInput(soon, BERLIN));
  await byTestId(mentor.page, 'schedule-duration').fill('30');
  await byTestId(mentor.page, 'schedule-save').click();
  await waitUntil('the soon session to be next', async () => (await attr(mentor.page, 'next-session', 'data-starts-at')) === rfc3339(new Date(soon)));
  await eventually(mentee.page, 'the soon session on the mentee page', async (p) => (await attr(p, 'next-session', 'data-starts-at')) === rfc3339(new Date(soon)));

  // Both join from their pair home: Join leads to the call page.
  await Promise.all([mentor, mentee].map(async (person) => {
    await byTestId(person.page, 'join-next').click();
    await person.page.waitForURL(/\/join#/);
    await clickJoin(person.page);
  }));
  await Promise.all([waitForState(mentor.page, 'connected'), waitForState(mentee.page, 'connected')]);

  const m = mentor.page;
  await byTestId(m, 'notes-toggle').click();
  await byTestId(m, 'note-input').waitFor({ state: 'visible' });
  await waitUntil('the agenda in the panel', async () => (await byTestId(m, 'agenda-item').count()) === 2);
  const first = byTestId(m, 'agenda-item').first();
  await first.locator('[data-testid="agenda-done"]').check();
  await waitUntil('the topic ticked', async () => (await first.getAttribute('data-done')) === 'true');

  await byTestId(m, 'note-input').fill(PRIVATE);
  assert.equal(await byTestId(m, 'note-shared').isChecked(), false, 'private unless shared');
  await byTestId(m, 'note-save').click();
  await waitUntil('the private note', async () => (await m.locator('[data-testid="note-item"][data-visibility="private"]').count()) === 1);
  await byTestId(m, 'note-input').fill(SHARED);
  await byTestId(m, 'note-shared').check();
  await byTestId(m, 'note-save').click();
  await waitUntil('the shared note', async () => (await m.locator('[data-testid="note-item"][data-visibility="shared"]').count()) === 1);

  // The mentee's panel: her shared note, never her private one.
  const a = mentee.page;
  await byTestId(a, 'notes-toggle').click();
  await waitUntil('the shared note in the mentee panel', async () => (await textOf(a, 'call-notes')).includes(SHARED));
  assert.ok(!(await a.locator('body').innerText()).includes(PRIVATE), 'the private note is not on the mentee page');
  await byTestId(a, 'note-input').fill('Alan: ask about the budget template');
  await byTestId(a, 'note-save').click();
  await waitUntil('the mentee note', async () => (await byTestId(a, 'note-item').count()) === 2);

  await m.evaluate(() => document.getElementById('toasts')?.replaceChildren());
  await m.screenshot({ path: screenshotPath('call-notes.png') });
  // On a phone the panel lies over the stage; the controls still fit.
  await m.setViewportSize({ width: 375, height: 740 });
  try {
    const panel = await m.locator('#pair-panel').boundingBox();
    assert.ok(panel && panel.x >= 0 && panel.x + panel.width <= 376, `the panel fits: ${JSON.stringify(panel)}`);
    for (const id of ['leave', 'notes-toggle']) {
      const box = await byTestId(m, id).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${id} fits: ${JSON.stringify(box)}`);
    }
    await m.screenshot({ path: screenshotPath('call-notes-phone.png') });
  } finally {
    await m.setViewportSize({ width: 1280, height: 900 });
  }

  // They record a little (both agree), so the call has a reflection page.
  await byTestId(m, 'record-request').click();
  for (const page of [m, a]) {
    await waitUntil('the consent dialog', () => byTestId(page, 'consent-accept').isVisible());
    await byTestId(page, 'consent-accept').click();
  }
  await Promise.all([m, a].map((page) => waitUntil('recording', () => byTestId(page, 'recording-indicator').isVisible())));
  await new Promise((r) => setTimeout(r, 1500));

  await Promise.all([byTestId(m, 'leave').click(), byTestId(a, 'leave').click()]);
  await Promise.all([waitForState(m, 'ended'), waitForState(a, 'ended')]);

  // Back home in the same tab (the token is in the tab's storage).
  const outline = (await ctx.server.api('GET', `/api/v1/pairs/${pair.id}`)).json;
  const callId = outline.history[0]?.session_id;
  assert.ok(callId, `the call is in the pair's history: ${JSON.stringify(outline.history)}`);
  await a.goto(`${ctx.server.base}/pair`);
  await byTestId(a, 'pair-home').waitFor({ state: 'visible' });
  const call = a.locator(`[data-testid="history-item"][data-session-id="${callId}"]`);
  await call.waitFor({ state: 'visible' });
  // Recorded: a link to its reflection page, with his personal token.
  const recordingId = outline.history[0].recording?.id;
  assert.ok(recordingId, `the call has a recording: ${JSON.stringify(outline.history[0])}`);
  await eventually(a, 'the reflect link', async () => (await call.locator('[data-testid="reflect-link"]').count()) === 1);
  assert.equal(await call.locator('[data-testid="reflect-link"]').getAttribute('href'),
    `/reflect#${pair.tokens.mentee}&recording=${recordingId}`);
  assert.match(await call.innerText(), /Recorded\s*yes/);
  // How long they were in it together, as the server measured it.
  assert.ok(Number.isFinite(outline.history[0].call?.duration_s), JSON.stringify(outline.history[0].call));
  assert.match(await call.innerText(), /Length\s*\d+ (s|min)/);
  assert.match(await call.innerText(), /Talk time\s*(Grace \d+\s?% · Alan \d+\s?%|no speech measured)/);
  await waitUntil('the shared note on the mentee pair home', async () => (await textOf(a, 'home-notes')).includes(SHARED));
  assert.ok(!(await a.locator('body').innerText()).includes(PRIVATE), 'no private note of hers on his page');
  assert.equal(await byTestId(a, 'home-notes').locator('[data-testid="note-item"][data-visibility="private"][data-author="mentor"]').count(), 0);
  // The ticked topic stays ticked at home.
  const ticked = a.locator('[data-testid="agenda-item"][data-done="true"]');
  assert.equal(await ticked.count(), 1);
  assert.equal(await ticked.locator('.item-text').innerText(), 'Career goals for next year');
  // The pair home with a history, notes, agenda and schedule filled in.
  await assertAccessible(a, 'the pair home');
  await assertKeyboardReachable(a, 'the pair home');

  // And the API agrees: his token never gets her private note; hers does.
  const his = await ctx.server.api('GET', `/api/v1/pairs/${pair.id}/notes`, undefined, { token: pair.tokens.mentee });
  assert.equal(his.status, 200);
  assert.ok(his.text.includes(SHARED));
  assert.ok(!his.text.includes(PRIVATE), 'the private note in the mentee\'s API answer');
  const hers = await ctx.server.api('GET', `/api/v1/pairs/${pair.id}/notes`, undefined, { token: pair.tokens.mentor });
  assert.ok(hers.text.includes(PRIVATE) && hers.text.includes(SHARED));
});

e2e('screenshots of the pair home, desktop and phone', ctx, async () => {
  const page = mentor.page;
  await page.goto(`${ctx.server.base}/pair`);
  await byTestId(page, 'pair-home').waitFor({ state: 'visible' });
  await byTestId(page, 'history-item').first().waitFor({ state: 'visible' });
  await byTestId(page, 'action-input').fill('Draft the team charter');
  await byTestId(page, 'action-owner').selectOption('mentee');
  await byTestId(page, 'action-add').click();
  await waitUntil('the action', async () => (await byTestId(page, 'action-item').count()) === 1);
  // The call is over: cancel its session, so the next one is the first one scheduled.
  const { sessions } = (await ctx.server.api('GET', `/api/v1/pairs/${pair.id}`)).json;
  for (const s of sessions.filter((x) => x.starts_at !== rfc3339(firstStart))) {
    assert.equal((await ctx.server.api('DELETE', `/api/v1/pairs/${pair.id}/sessions/${s.id}`)).status, 200);
  }
  await eventually(page, 'the first session next', async (p) => (await attr(p, 'next-session', 'data-starts-at')) === rfc3339(firstStart));
  // The top of the page, as someone opening it sees it.
  const top = () => page.evaluate(() => {
    document.activeElement?.blur();
    document.getElementById('toasts')?.replaceChildren();
    window.scrollTo(0, 0);
  });
  await top();
  await page.screenshot({ path: screenshotPath('pair-home.png') });
  await page.setViewportSize({ width: 375, height: 812 });
  try {
    for (const id of ['join-next', 'schedule-save', 'agenda-add']) {
      const box = await byTestId(page, id).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${id} fits in 375 px: ${JSON.stringify(box)}`);
    }
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 376, `no sideways scrolling at 375 px (${wide} px)`);
    await top();
    await page.screenshot({ path: screenshotPath('pair-home-phone.png') });
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
});

/**
 * What the pair home should show in `lang`, worked out in the page with
 * Intl and the catalog (so a test of the page's code, not of Intl): the
 * next session for both, the weekday of a weekly session, the zone name.
 */
function expectedIn(page, lang, startsAt, weeklyAt) {
  return page.evaluate(({ cat, lang, startsAt, weeklyAt, zones }) => {
    // As i18n.js's intlLocale(): the browser's own tag when it is of the language.
    const tag = navigator.languages.find((l) => l.toLowerCase().split('-')[0] === lang) ?? lang;
    const fill = (key, vars) => cat[key].replace(/\{(\w+)\}/g, (m, k) => vars[k]);
    const dayTime = (d, timeZone) => new Intl.DateTimeFormat(tag, {
      weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone,
    }).format(d);
    const clock = (d, timeZone) => new Intl.DateTimeFormat(tag, { hour: '2-digit', minute: '2-digit', timeZone }).format(d);
    const start = new Date(startsAt);
    const sameDay = start.toLocaleDateString('en-CA', { timeZone: zones.berlin }) === start.toLocaleDateString('en-CA', { timeZone: zones.newYork });
    const zoneName = (timeZone) => new Intl.DateTimeFormat(tag, { timeZone, timeZoneName: 'longGeneric' })
      .formatToParts(new Date()).find((p) => p.type === 'timeZoneName').value;
    const now = Date.now();
    return {
      tag,
      next: fill('pair/when-both', {
        you: dayTime(start, zones.berlin),
        theirs: sameDay ? clock(start, zones.newYork) : dayTime(start, zones.newYork),
        name: 'Alan',
      }),
      weekly: fill('pair/repeat-weekly-on', {
        weekday: new Intl.DateTimeFormat(tag, { weekday: 'long', timeZone: zones.berlin }).format(new Date(weeklyAt)),
      }),
      newYorkZone: zoneName(zones.newYork),
      // The card's clock: this minute's or, if it just turned, the last one's.
      newYorkNow: [now, now - 60_000].map((t) => fill('pair/person-now', { time: clock(new Date(t), zones.newYork) })),
    };
  }, { cat: catalogs[lang], lang, startsAt, weeklyAt, zones: { berlin: BERLIN, newYork: NEW_YORK } });
}

e2e('the pair home in each language: its own words and dates, 375 px wide, Arabic right to left', ctx, async () => {
  const page = mentor.page;
  // A weekly session too, to read how each language says it repeats.
  const weeklyAt = zonedToUtc({ ...partsIn(Date.now() + 5 * 86_400_000, BERLIN), h: 9, mi: 30 }, BERLIN);
  const created = await ctx.server.api('POST', `/api/v1/pairs/${pair.id}/sessions`,
    { starts_at: rfc3339(weeklyAt), duration_min: 45, recurrence: 'weekly', time_zone: BERLIN }, { token: pair.tokens.mentor });
  assert.equal(created.status, 201, created.text);
  await page.setViewportSize({ width: 375, height: 812 });
  try {
    await page.goto(`${ctx.server.base}/pair`);
    await byTestId(page, 'pair-home').waitFor({ state: 'visible' });
    const weeklyRow = page.locator(`[data-testid="session-row"][data-id="${created.json.id}"]`);
    await eventually(page, 'the weekly session listed', async () => (await weeklyRow.count()) === 1);
    // Half-typed words survive a switch: no reload.
    await byTestId(page, 'message-input').fill('Halfway through a thought');
    await page.evaluate(() => { window.__samePage = true; });
    const nextIn = {};
    for (const lang of LANGS) {
      await byTestId(page, 'language-select').selectOption(lang);
      await waitUntil(`the pair home in ${lang}`, async () => (await page.evaluate(() => document.documentElement.lang)) === lang);
      const expected = await expectedIn(page, lang, rfc3339(firstStart), rfc3339(weeklyAt));
      await waitUntil(`${lang}: every marked text from the catalog`, async () => {
        const wrong = await untranslated(page, catalogs[lang]);
        return wrong.length === 0 ? true : { ok: false, wrong };
      });
      assert.deepEqual(await leftoverKeys(page, 'pair/'), [], `${lang}: no key left on the page`);
      assert.equal(await page.evaluate(() => document.documentElement.dir), lang === 'ar' ? 'rtl' : 'ltr');
      // Words made by the scripts, with their fields filled in.
      assert.equal((await textOf(page, 'join-next')).trim(), catalogs[lang]['pair/join-early']);
      // textContent: exactly what the script wrote, spaces as Intl made them.
      const next = await byTestId(page, 'next-session').textContent();
      assert.equal(next, expected.next, `${lang} (${expected.tag}): the next session for both`);
      nextIn[lang] = next;
      const weekly = await weeklyRow.locator('.session-when').textContent();
      assert.ok(weekly.startsWith(expected.weekly), `${lang}: "${expected.weekly}" in ${weekly}`);
      const alan = await page.locator('[data-testid="pair-person"][data-role="mentee"]').textContent();
      assert.ok(expected.newYorkNow.some((now) => alan.includes(now)) && alan.includes(expected.newYorkZone),
        `${lang}: Alan's clock and zone in ${alan}`);
      const history = await byTestId(page, 'history-item').first().textContent();
      assert.ok(history.includes(catalogs[lang]['pair/history-talk']), `${lang}: ${history}`);
      // Fits a phone, in either direction.
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide <= 1, `${lang}: no sideways scrolling at 375 px (${wide} px too wide)`);
      for (const id of ['join-next', 'schedule-save', 'agenda-add', 'message-send', 'language-select']) {
        const box = await byTestId(page, id).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${lang}: ${id} fits in 375 px: ${JSON.stringify(box)}`);
      }
      if (lang === 'ar') {
        await assertAccessible(page, 'the pair home in Arabic');
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.screenshot({ path: screenshotPath('pair-home-ar-phone.png') });
      }
    }
    // The dates are the language's, not English ones with translated words.
    assert.notEqual(nextIn.de, nextIn.en);
    assert.notEqual(nextIn.ja, nextIn.en);
    assert.match(nextIn.de, /\d\d:\d\d/);
    assert.equal(await byTestId(page, 'message-input').inputValue(), 'Halfway through a thought');
    assert.equal(await page.evaluate(() => window.__samePage), true, 'switching language did not reload the page');
  } finally {
    await byTestId(page, 'language-select').selectOption('en').catch(() => {});
    await byTestId(page, 'message-input').fill('').catch(() => {});
    await page.setViewportSize({ width: 1280, height: 900 });
    await ctx.server.api('DELETE', `/api/v1/pairs/${pair.id}/sessions/${created.json.id}`);
  }
});

e2e('a revoked personal link shows a clear error and nothing else', ctx, async () => {
  const res = await ctx.server.api('DELETE', `/api/v1/pairs/${pair.id}/links/mentee`);
  assert.equal(res.status, 200, res.text);
  const page = mentee.page;
  await page.reload();
  await byTestId(page, 'error-message').waitFor({ state: 'visible' });
  assert.match(await textOf(page, 'error-message'), /does not work any more|revoked/i);
  assert.equal(await byTestId(page, 'pair-home').isVisible(), false);
  // The same link opened afresh says the same.
  const fresh = await mentee.open(pair.links.mentee);
  await byTestId(fresh, 'error-message').waitFor({ state: 'visible' });
  assert.equal(await byTestId(fresh, 'pair-home').isVisible(), false);
});

e2e('an ended pair stays readable but offers nothing to change', ctx, async () => {
  const res = await ctx.server.api('POST', `/api/v1/pairs/${pair.id}/end`);
  assert.equal(res.status, 200, res.text);
  const page = mentor.page;
  await page.reload();
  await byTestId(page, 'pair-ended').waitFor({ state: 'visible' });
  for (const id of ['schedule-save', 'agenda-add', 'action-add', 'message-send', 'agreement-confirm']) {
    assert.equal(await byTestId(page, id).isVisible(), false, `${id} is hidden`);
  }
  assert.equal(await byTestId(page, 'join-next').isDisabled(), true);
  // History and notes are still there to read, and to export.
  assert.ok((await byTestId(page, 'history-item').count()) >= 1);
  assert.ok((await textOf(page, 'home-notes')).includes(SHARED));
  const [md] = await Promise.all([page.waitForEvent('download'), byTestId(page, 'export-md').click()]);
  const markdown = readFileSync(await md.path(), 'utf8');
  assert.match(markdown, /^# Growing into a lead/);
  assert.ok(markdown.includes(PRIVATE) && markdown.includes(SHARED), 'her export has her notes');
  const [json] = await Promise.all([page.waitForEvent('download'), byTestId(page, 'export-json').click()]);
  const exported = JSON.parse(readFileSync(await json.path(), 'utf8'));
  assert.equal(exported.you, 'mentor');
});

e2e('the admin deletes the pair, recordings and all, after a clear warning', ctx, async () => {
  const person = await launchPerson('admin-again', { viewport: { width: 1280, height: 900 } });
  ctx.people.push(person);
  const page = await person.open(`${ctx.server.base}/admin#pairs/${pair.id}`);
  await byTestId(page, 'admin-username').fill(ADMIN);
  await byTestId(page, 'admin-password').fill(PASSWORD);
  await byTestId(page, 'admin-login').click();
  await waitUntil('the ended pair', async () => (await textOf(page, 'pair-detail-status')) === 'Ended');
  // The outline: the call and how long it was; never what the two wrote.
  await waitUntil('the call in the console', async () => (await byTestId(page, 'pair-call').count()) === 1);
  assert.match(await byTestId(page, 'pair-call').innerText(), /\d+ s|\d+:\d\d/);
  const seen = await page.locator('body').innerText();
  for (const secret of [PRIVATE, SHARED, 'How the presentation went', 'Let us talk about it']) {
    assert.ok(!seen.includes(secret), `the console shows "${secret}"`);
  }
  await byTestId(page, 'pair-delete').click();
  await byTestId(page, 'confirm-dialog').waitFor({ state: 'visible' });
  assert.match(await page.locator('#confirm-text').innerText(), /notes, messages.*recordings/s);
  await byTestId(page, 'confirm-yes').click();
  await waitUntil('back on the list without it', async () => (
    new URL(page.url()).hash === '#pairs'
    && (await page.locator(`[data-testid="pair-row"][data-id="${pair.id}"]`).count()) === 0));
  assert.equal((await ctx.server.api('GET', `/api/v1/pairs/${pair.id}`)).status, 404);
  // Her pair home is gone too.
  await mentor.page.reload();
  await byTestId(mentor.page, 'error-message').waitFor({ state: 'visible' });
  assert.equal(await byTestId(mentor.page, 'pair-home').isVisible(), false);
});
