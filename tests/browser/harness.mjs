// The harness the browser tests import: the real `duet` binary
// (server.mjs), one headless Chromium per person (browser.mjs), the page
// helpers (page.mjs), and `e2e`, a test that explains its own failure.
//
// Everything here talks to loopback only. Run the tests inside a network
// namespace that has only `lo` (tests/run.sh does), so WebRTC cannot pick
// another interface.

import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

import { callState, inboundStats } from './page.mjs';
import { describe, TEST_TIMEOUT_MS } from './util.mjs';

export * from './browser.mjs';
export * from './page.mjs';
export * from './server.mjs';
export * from './util.mjs';

// `node:test`'s `test()`, printing what explains a failure: the server's
// last log lines, each person's browser console, their call states, and a
// screenshot of each page in a temp folder.
export function e2e(name, ctx, fn) {
  return test(name, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      await dumpDiagnostics(name, ctx);
      throw err;
    }
  });
}

export async function dumpDiagnostics(name, ctx) {
  const out = [`\n===== diagnostics for failed test: ${name}`];
  for (const person of ctx.people ?? []) {
    if (!person) continue;
    const page = person.page;
    let state = '?';
    try {
      state = page && !page.isClosed() ? await callState(page) : 'page closed';
    } catch (e) {
      state = `unreadable (${e.message.split('\n')[0]})`;
    }
    out.push(`--- ${person.label}: call-status data-state=${state}`);
    try {
      if (page && !page.isClosed()) {
        const file = join(tmpdir(), 'duet-browser-failures',
          `${name.replace(/[^a-z0-9]+/gi, '-')}-${person.label}.png`);
        mkdirSync(dirname(file), { recursive: true });
        await page.screenshot({ path: file, timeout: 5_000 });
        out.push(`    screenshot: ${file}`);
        const stats = await inboundStats(page).catch(() => null);
        out.push(`    inbound stats: ${describe(stats)}`);
      }
    } catch (e) {
      out.push(`    (no screenshot: ${e.message.split('\n')[0]})`);
    }
    out.push(`--- ${person.label}: browser console (last 40)`);
    out.push(...person.consoleLines.slice(-40).map((l) => `    ${l}`));
  }
  if (ctx.server) {
    out.push('--- server log (last 60 lines)');
    out.push(ctx.server.lastLogs(60));
  }
  out.push('===== end of diagnostics');
  console.error(out.join('\n'));
}
