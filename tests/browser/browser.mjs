// One headless Chromium per simulated person: the system's
// /usr/bin/chromium through playwright-core, each with its own profile, a
// fake camera and microphone, and a record of its console and requests.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { removeDir, scratchDir, TIMEOUT_MS } from './util.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  // getDisplayMedia: pick the whole screen without a picker.
  '--auto-select-desktop-capture-source=Entire screen',
  // Never route the test's loopback traffic through a proxy from the env.
  '--no-proxy-server',
];

// Records every RTCPeerConnection the page makes, for tests to read
// `getStats()` when the client does not expose `window.duet.pc`.
function recordPeerConnections() {
  const Native = window.RTCPeerConnection;
  if (!Native || Native.__duetRecorded) return;
  const seen = [];
  window.__duetTestPCs = seen;
  function Recorded(...args) {
    const pc = Reflect.construct(Native, args, new.target ?? Recorded);
    seen.push(pc);
    return pc;
  }
  Recorded.prototype = Native.prototype;
  Object.setPrototypeOf(Recorded, Native);
  Recorded.__duetRecorded = true;
  window.RTCPeerConnection = Recorded;
}

// One simulated person: their own Chromium process and profile.
// `contextOptions` go to Playwright's context as they are: `timezoneId`
// and `locale` make a person somewhere else in the world.
export async function launchPerson(label, { viewport = { width: 1280, height: 800 }, contextOptions = {}, args = [] } = {}) {
  const dir = scratchDir(`person-${label}`);
  const home = join(dir, 'home');
  mkdirSync(home);
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    env: { ...process.env, HOME: home, TMPDIR: dir },
    permissions: ['camera', 'microphone'],
    viewport,
    ...contextOptions,
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  await context.addInitScript(recordPeerConnections);
  const consoleLines = [];
  const note = (line) => {
    consoleLines.push(line);
    if (consoleLines.length > 200) consoleLines.splice(0, consoleLines.length - 200);
  };
  const requests = [];
  const watch = (page) => {
    page.on('request', (r) => requests.push({ url: r.url(), referer: r.headers().referer ?? null }));
    page.on('console', (m) => note(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => note(`[pageerror] ${e.stack ?? e.message}`));
    page.on('crash', () => note('[crash] the page crashed'));
  };
  context.on('page', watch);
  context.pages().forEach(watch);

  const person = {
    label,
    context,
    dir,
    consoleLines,
    // Every request the pages made: `{url, referer}`.
    requests,
    page: context.pages()[0] ?? (await context.newPage()),
    // Opens `url` in a fresh tab (closing the previous one), so a link that
    // differs only in its fragment still loads a new document.
    async open(url) {
      const old = person.page;
      person.page = await context.newPage();
      if (old && !old.isClosed()) await old.close();
      note(`--- open ${redact(url)}`);
      await person.page.goto(url);
      return person.page;
    },
    async close() {
      if (process.env.DUET_SHOW_CONSOLE === '1') {
        console.log(`--- ${label}: browser console\n${consoleLines.map((l) => `    ${l}`).join('\n')}`);
      }
      try {
        await context.close();
      } catch {
        // Already gone.
      }
      removeDir(dir);
    },
  };
  return person;
}

// The fragment of a join link is a secret: keep it out of test output.
export function redact(url) {
  const i = url.indexOf('#');
  return i < 0 ? url : `${url.slice(0, i)}#<token ${url.length - i - 1} chars>`;
}
