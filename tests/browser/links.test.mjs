// Links that must not let anyone in: a forged signature, altered claims,
// a token cut short. The page says why, and no call starts.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import {
  byTestId,
  callState,
  e2e,
  launchPerson,
  startServer,
  TEST_TIMEOUT_MS,
  textOf,
  waitUntil,
} from './harness.mjs';

const ctx = { server: null, people: [] };
let person;
let session;

before(async () => {
  ctx.server = await startServer();
  session = await ctx.server.createSession();
  person = await launchPerson('visitor');
  ctx.people = [person];
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
}, { timeout: TEST_TIMEOUT_MS });

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/// Replaces the base64url character at `i` with another one.
function flipAt(s, i) {
  const c = s[i];
  const other = ALPHABET[(ALPHABET.indexOf(c) + 17) % ALPHABET.length];
  return s.slice(0, i) + other + s.slice(i + 1);
}

function splitLink(link) {
  const hash = link.indexOf('#');
  return { base: link.slice(0, hash + 1), token: link.slice(hash + 1) };
}

/// Opens `link` and expects the page to refuse it: a visible, non-empty
/// `error-message`, and no call (`call-status` `error`, or never
/// `connected`). If the page first offers to join, the visitor clicks join.
async function expectRefused(link) {
  const page = await person.open(link);
  const message = byTestId(page, 'error-message');
  let clicked = false;
  await waitUntil('a visible error-message', async () => {
    if (await message.isVisible()) return true;
    const button = byTestId(page, 'join-button');
    if (!clicked && await button.isVisible() && await button.isEnabled()) {
      clicked = true;
      await button.click();
    }
    return { ok: false, clickedJoin: clicked, state: await callState(page).catch(() => null) };
  });
  const text = await textOf(page, 'error-message');
  assert.notEqual(text, '', 'the error-message says something');
  const state = await callState(page).catch(() => null);
  assert.ok(state === null || state === 'error' || state === 'ended',
    `call-status is error (or absent), not ${state}`);
  const button = byTestId(page, 'join-button');
  if (await button.isVisible() && await button.isEnabled()) {
    // A join button still offered must not lead into a call.
    await button.click();
    await waitUntil('the join to be refused', async () => {
      const s = await callState(page).catch(() => null);
      return s === 'error' || s === null ? true : { ok: false, state: s };
    });
  }
  const seen = await ctx.server.getSession(session.id);
  assert.equal(seen.mentor.connected, false, 'nobody got into the session');
  assert.equal(seen.mentee.connected, false, 'nobody got into the session');
  return text;
}

e2e('a link with a forged signature is refused with a message', ctx, async () => {
  const { base, token } = splitLink(session.links.mentee);
  const dot = token.indexOf('.');
  assert.ok(dot > 0, 'a token is claims.signature');
  // Flip two characters in the middle of the signature.
  const mid = dot + Math.floor((token.length - dot) / 2);
  const forged = flipAt(flipAt(token, mid), mid + 3);
  assert.notEqual(forged, token);
  const text = await expectRefused(base + forged);
  console.log(`forged signature → "${text}"`);
});

e2e('a link with altered claims is refused with a message', ctx, async () => {
  // The mentee's token, its role changed to mentor, the signature kept.
  const { base, token } = splitLink(session.links.mentee);
  const [claimsB64, sig] = token.split('.');
  const claims = JSON.parse(Buffer.from(claimsB64, 'base64url').toString('utf8'));
  assert.equal(claims.role, 'mentee');
  claims.role = 'mentor';
  const altered = `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
  const text = await expectRefused(base + altered);
  console.log(`altered claims → "${text}"`);
});

e2e('a link cut short is refused with a message', ctx, async () => {
  const { base, token } = splitLink(session.links.mentor);
  await expectRefused(base + token.slice(0, Math.floor(token.length / 2)));
});
