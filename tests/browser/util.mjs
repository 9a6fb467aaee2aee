// What every part of the browser-test harness shares: timeouts, scratch
// folders, and polling for a condition.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// Generous: a page under load on two cores can take a few seconds to get
// its camera, connect and decode the first frame.
export const TIMEOUT_MS = Number(process.env.DUET_TEST_TIMEOUT_MS ?? 25_000);

// A whole test (or setup hook): a hang fails it instead of the whole run.
export const TEST_TIMEOUT_MS = 150_000;

// A fresh folder under the temp dir; `removeDir` removes it (unless
// DUET_KEEP_TMP=1 keeps it for a look).
export function scratchDir(prefix) {
  return mkdtempSync(join(tmpdir(), `duet-browser-${prefix}-`));
}

export function removeDir(dir) {
  if (process.env.DUET_KEEP_TMP === '1') return;
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // A leftover temp folder is not worth failing a test over.
  }
}

// Polls `probe` until it returns a truthy value, or fails with the last
// thing it saw.
export async function waitUntil(what, probe, { timeout = TIMEOUT_MS, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last && last.ok !== false) return last;
    } catch (e) {
      last = `threw: ${e.message.split('\n')[0]}`;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last seen: ${describe(last)}`);
    }
    await sleep(interval);
  }
}

export function describe(v) {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}
