// The connection check page in a real browser: with a join link it tests
// UDP, ICE-TCP and the TURN relay (a real coturn on loopback) against the
// real server, and says calls will work; without a link it does not hand out
// relay credentials. Inside the test namespace every path works, so a
// failure here is a broken path, not a blocked network.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { after, before } from 'node:test';

import { assertAccessible } from './a11y.mjs';
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
