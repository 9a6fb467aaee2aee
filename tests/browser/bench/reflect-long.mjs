// Benchmark: the reflection page with a 60-minute recording.
//
// Not a test (no `.test.mjs`, so `node --test tests/browser/` leaves it
// alone): run it with tests/bench/reflect-long.sh, which builds what it
// needs and runs this inside a network namespace that has only loopback.
//
// It starts the real `duet` binary (the harness's startServer), creates a
// session, has `long_recording` write an hour-long recording of it in the
// recorder's own format (cue-less live WebM, one Ogg page per Opus packet,
// ~900 transcript segments), and opens /reflect#<token>&recording=<id> in
// headless Chromium, RUNS times, each in a fresh browser (first visit: the
// media service worker installs) and then once more in a new tab of the
// same browser (the worker already there). Each time it measures:
//
// - open → playing: navigation start until both cameras' currentTime
//   advances after a click on Play (the click comes as soon as the player
//   is built, as an eager user's would);
// - bytes: the media requests (status, Range, Content-Range) seen by the
//   page, and the bytes the server process wrote (/proc/<pid>/io wchar,
//   sockets included) while the page opened and started playing;
// - a seek to minute 45 while playing: until both cameras play there, with
//   the bytes that took;
// - the transcript: navigation start until all its segments are in the
//   DOM, and a 3 s scroll of #transcript-list top to bottom driven by
//   requestAnimationFrame (frame intervals: p50, p95, max, > 50 ms).
//
// Environment: RUNS (default 5), MINUTES (default 60), LONG_RECORDING_BIN
// (default $CARGO_TARGET_DIR/debug/long_recording), DUET_BIN (the server;
// see server.mjs), BENCH_JSON (a file to write every number to).

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { duetBin, launchPerson, startServer } from '../harness.mjs';

const RUNS = Number(process.env.RUNS ?? 5);
const MINUTES = Number(process.env.MINUTES ?? 60);
const SEEK_TO_S = Math.min(45 * 60, MINUTES * 60 * 0.75);
const TARGET_OPEN_MS = 2000;
// Seconds of playback (from the seek point, first open only) over which
// both cameras' positions are compared; the goal is within 150 ms.
const SYNC_S = Number(process.env.SYNC_S ?? 60);
const TARGET_SYNC_MS = 150;
let summarySynced = false;
const FILES = /\/api\/v1\/recordings\/[^/]+\/files\/([^/?]+)/;

function longRecordingBin() {
  if (process.env.LONG_RECORDING_BIN) return process.env.LONG_RECORDING_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'duet-target');
  return join(target, 'debug', 'long_recording');
}

/** The pid of the `duet serve` using `dataDir` (startServer does not hand it out). */
function serverPid(dataDir) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('serve') && args.includes(dataDir)) return Number(entry);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  throw new Error(`no duet serve process for ${dataDir}`);
}

/** Bytes the process has written (`wchar`: files, pipes and sockets alike). */
function written(pid) {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/^wchar: (\d+)$/m.exec(io)[1]);
}

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (v) => (Number.isFinite(v) ? `${Math.round(v)} ms` : '—');
const mib = (v) => (Number.isFinite(v) ? `${(v / 1048576).toFixed(2)} MiB` : '—');

/** Installs the page-side watcher: when Play is clicked, when both cameras advance. */
function watchPlay(page) {
  return page.evaluate(() => {
    const cams = () => [...document.querySelectorAll('[data-testid="reflection-video"]')];
    const b = { clickAt: null, firstAt: null, bothAt: null, t0: null };
    window.__bench = b;
    document.getElementById('play').addEventListener('click', () => {
      b.clickAt = performance.now();
      b.t0 = cams().map((v) => v.currentTime);
    }, { capture: true, once: true });
    const tick = () => {
      if (b.clickAt !== null) {
        const moved = cams().map((v, i) => !v.paused && v.currentTime > b.t0[i] + 0.01);
        if (b.firstAt === null && moved.some(Boolean)) b.firstAt = performance.now();
        if (moved.length === 2 && moved.every(Boolean)) b.bothAt = performance.now();
      }
      if (b.bothAt === null) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

/** Seeks the synced player to `to` s (as dragging the bar does) and resolves when both cameras play there. */
function seekAndWait(page, to) {
  return page.evaluate((target) => new Promise((resolve) => {
    const cams = () => [...document.querySelectorAll('[data-testid="reflection-video"]')];
    const base = new Map();
    const s = document.querySelector('[data-testid="reflection-seek"]');
    const at = performance.now();
    s.value = String(target);
    s.dispatchEvent(new Event('input', { bubbles: true }));
    const limit = at + 60_000;
    const tick = () => {
      const now = performance.now();
      const vs = cams();
      const done = vs.map((v) => {
        const pos = v.currentTime + Number(v.dataset.offsetS);
        if (v.seeking || v.paused || Math.abs(pos - target) > 2) return false;
        if (!base.has(v)) base.set(v, v.currentTime);
        return v.currentTime > base.get(v) + 0.01;
      });
      if (done.length === 2 && done.every(Boolean)) {
        resolve({ ms: now - at, at: vs.map((v) => v.currentTime + Number(v.dataset.offsetS)) });
      } else if (now > limit) {
        resolve({
          ms: NaN,
          stuck: vs.map((v) => ({ t: v.currentTime, seeking: v.seeking, paused: v.paused, ready: v.readyState })),
        });
      } else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }), to);
}

/** Scrolls the transcript list top to bottom over `duration` ms; frame intervals. */
function scrollTranscript(page, duration) {
  return page.evaluate((total) => new Promise((resolve) => {
    const list = document.getElementById('transcript-list');
    const scroller = list.scrollHeight > list.clientHeight + 1 ? list : document.scrollingElement;
    const max = scroller.scrollHeight - scroller.clientHeight;
    scroller.scrollTop = 0;
    const gaps = [];
    let start = null;
    let last = null;
    const step = (now) => {
      if (start === null) start = now;
      else gaps.push(now - last);
      last = now;
      const p = Math.min(1, (now - start) / total);
      scroller.scrollTop = p * max;
      if (p < 1) requestAnimationFrame(step);
      else resolve({ gaps, max, scroller: scroller === list ? '#transcript-list' : 'page', end: scroller.scrollTop });
    };
    requestAnimationFrame(() => requestAnimationFrame(step));
  }), duration);
}

/** One open of the page in `person`'s browser: every measurement. */
async function measure(person, server, pid, url, segments, label) {
  const media = [];
  const onResponse = (res) => {
    const m = FILES.exec(res.url());
    if (!m) return;
    const req = res.request();
    media.push({
      file: m[1],
      at: Date.now(),
      status: res.status(),
      range: req.headers().range ?? null,
      contentRange: res.headers()['content-range'] ?? null,
      length: Number(res.headers()['content-length'] ?? NaN),
      worker: Boolean(req.serviceWorker?.()),
      fromWorker: res.fromServiceWorker(),
    });
  };
  person.context.on('response', onResponse);
  const page = await person.context.newPage();
  for (const old of person.context.pages()) if (old !== page) await old.close();
  person.page = page;
  const w0 = written(pid);
  await page.goto(url, { waitUntil: 'commit' });
  const transcriptDone = page.waitForFunction((n) => {
    const c = document.querySelectorAll('[data-testid="transcript-segment"]').length;
    return c >= n ? performance.now() : false;
  }, segments, { polling: 'raf', timeout: 60_000 }).then((h) => h.jsonValue());
  await page.waitForSelector('#player[data-state="ready"]', { timeout: 60_000 });
  const readyAt = await page.evaluate(() => performance.now());
  await watchPlay(page);
  // A real mouse click where the button is, without Playwright's wait for
  // the page to settle: what an eager user gets (the input event still
  // waits for whatever the main thread is doing).
  const box = await page.locator('[data-testid="reflection-play"]').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForFunction(() => window.__bench.bothAt !== null, null, { polling: 100, timeout: 60_000 });
  const play = await page.evaluate(() => window.__bench);
  // Where the time before Play went: the page's own API calls.
  const phases = await page.evaluate(() => {
    const end = (part) => performance.getEntriesByType('resource')
      .find((e) => e.name.includes(part))?.responseEnd ?? null;
    const nav = performance.getEntriesByType('navigation')[0];
    const click = window.__bench.clickAt;
    const before = (window.__longTasks || []).filter(([at]) => at < click);
    return {
      domContentLoaded: nav?.domContentLoadedEventEnd ?? null,
      reflectApi: end('/api/v1/reflect'),
      workerAt: window.__workerAt ?? null,
      longTasksBeforeClick: before.reduce((a, [, d]) => a + d, 0),
      longestTaskBeforeClick: Math.max(0, ...before.map(([, d]) => d)),
    };
  });
  const w1 = written(pid);
  const requestsAtPlay = media.length;
  const transcriptAt = await transcriptDone;

  await sleep(2000);
  const w2 = written(pid);
  const mediaBeforeSeek = media.length;
  const seek = await seekAndWait(page, SEEK_TO_S);
  const w3 = written(pid);
  const seekRequests = media.slice(mediaBeforeSeek);

  // Both cameras in step over a long stretch of playback (first open).
  const sync = SYNC_S > 0 && !summarySynced ? await cameraSync(page, SYNC_S) : null;
  if (sync) summarySynced = true;
  await page.click('[data-testid="reflection-play"]'); // pause
  await sleep(300);
  const scroll = await scrollTranscript(page, 3000);
  person.context.off('response', onResponse);
  return {
    label,
    readyMs: readyAt,
    clickMs: play.clickAt,
    firstCameraMs: play.firstAt,
    bothCamerasMs: play.bothAt,
    clickToBothMs: play.bothAt - play.clickAt,
    phases,
    openBytes: w1 - w0,
    requestsAtPlay: media.slice(0, requestsAtPlay),
    sync,
    seekMs: seek.ms,
    seekStuck: seek.stuck,
    seekBytes: w3 - w2,
    seekRequests,
    transcriptMs: transcriptAt,
    scroll: {
      scroller: scroll.scroller,
      height: scroll.max,
      reachedEnd: Math.abs(scroll.end - scroll.max) <= 1,
      frames: scroll.gaps.length,
      p50: pct(scroll.gaps, 50),
      p95: pct(scroll.gaps, 95),
      max: Math.max(...scroll.gaps),
      over50: scroll.gaps.filter((g) => g > 50).length,
    },
  };
}

/**
 * Samples both cameras' places on the recording's clock every 500 ms for
 * `secs` of playback: the worst gap between them (ms), and how far the
 * playback got.
 */
async function cameraSync(page, secs) {
  const at = () => page.evaluate(() => [...document.querySelectorAll('[data-testid="reflection-video"]')]
    .filter((v) => !v.hidden && !v.paused)
    .map((v) => v.currentTime + Number(v.dataset.offsetS)));
  let worst = 0;
  let samples = 0;
  const start = (await at())[0] ?? NaN;
  let last = start;
  const until = Date.now() + secs * 1000;
  while (Date.now() < until) {
    await sleep(500);
    const ps = await at();
    if (ps.length === 2) {
      samples++;
      worst = Math.max(worst, Math.abs(ps[0] - ps[1]) * 1000);
      [last] = ps;
    }
  }
  return { worstMs: worst, samples, playedS: last - start };
}

/** `bytes=N-` (or `bytes=N-M`) → N. */
const rangeStart = (r) => (r ? Number(/bytes=(\d+)-/.exec(r)?.[1] ?? NaN) : NaN);

function describeRequests(list, sizes) {
  // The worker's own fetches are the ones that reach the server; the page's
  // copies of the same requests (answered by the worker) are not counted twice.
  const net = list.some((r) => r.worker) ? list.filter((r) => r.worker) : list;
  return net.map((r) => {
    const size = sizes[r.file];
    const start = rangeStart(r.range);
    const where = Number.isFinite(start) && size ? ` @${((start / size) * 100).toFixed(0)}%` : '';
    return `${r.file} ${r.status} ${r.range ?? 'no Range'}${where} → ${r.contentRange ?? `${r.length} B`}`;
  });
}

async function main() {
  const server = await startServer();
  const summary = { runs: [], loadBefore: loadavg()[0] };
  try {
    const session = await server.createSession({ title: 'Long recording benchmark', mentor: 'Ada', mentee: 'Grace' });
    const token = session.links.mentor.split('#')[1];
    const t0 = Date.now();
    const out = execFileSync(longRecordingBin(), [
      '--data-dir', server.dataDir, '--session', session.id, '--minutes', String(MINUTES),
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const rec = JSON.parse(out.trim().split('\n').pop());
    console.log(`# wrote a ${MINUTES}-minute recording in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${
      Object.entries(rec.bytes).map(([f, b]) => `${f} ${mib(b)}`).join(', ')}; ${rec.segments} segments`);
    console.log(`# server: ${duetBin()}`);
    const pid = serverPid(server.dataDir);
    const url = `${server.base}/reflect#${token}&recording=${rec.recording}`;
    summary.recording = rec;
    summary.server = duetBin();
    summary.link = { rate: process.env.RATE ?? null };

    for (let i = 1; i <= RUNS; i++) {
      const person = await launchPerson(`bench-${i}`, { viewport: { width: 1280, height: 900 } });
      // When the media worker took control of the page (0: it already had it).
      await person.context.addInitScript(() => {
        // Long main-thread tasks (> 50 ms): what a click has to wait for.
        window.__longTasks = [];
        try {
          new PerformanceObserver((list) => {
            for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
          }).observe({ type: 'longtask', buffered: true });
        } catch {
          // No long-task timing in this browser.
        }
        const sw = navigator.serviceWorker;
        if (!sw) return;
        if (sw.controller) window.__workerAt = 0;
        else sw.addEventListener('controllerchange', () => { window.__workerAt = performance.now(); }, { once: true });
      });
      try {
        for (const kind of ['first visit', 'again']) {
          const r = await measure(person, server, pid, url, rec.segments, `${i} ${kind}`);
          summary.runs.push(r);
          console.log(`# run ${r.label}: ready ${ms(r.readyMs)}, both cameras ${ms(r.bothCamerasMs)} `
            + `(click→both ${ms(r.clickToBothMs)}), sent ${mib(r.openBytes)}; seek ${ms(r.seekMs)} `
            + `(${mib(r.seekBytes)}); transcript ${ms(r.transcriptMs)}; scroll p95 ${ms(r.scroll.p95)} max ${ms(r.scroll.max)}`);
          if (i === 1) {
            console.log(`#   media requests until playing:\n${describeRequests(r.requestsAtPlay, rec.bytes).map((l) => `#     ${l}`).join('\n')}`);
            console.log(`#   media requests for the seek:\n${describeRequests(r.seekRequests, rec.bytes).map((l) => `#     ${l}`).join('\n')}`);
          }
          if (r.seekStuck) console.log(`#   seek never finished: ${JSON.stringify(r.seekStuck)}`);
        }
      } finally {
        await person.close();
      }
    }
  } catch (err) {
    console.error(server.lastLogs(40));
    throw err;
  } finally {
    await server.stop();
  }
  summary.loadAfter = loadavg()[0];
  report(summary);
}

function report(summary) {
  const { runs, recording } = summary;
  const mediaBytes = Object.entries(recording.bytes)
    .filter(([f]) => /\.(webm|ogg)$/.test(f)).reduce((a, [, b]) => a + b, 0);
  const rows = [];
  const row = (what, xs, fmt, target = '') => rows.push(
    `| ${what} | ${fmt(pct(xs, 50))} | ${fmt(Math.max(...xs))} | ${target} |`);
  for (const kind of ['first visit', 'again']) {
    const rs = runs.filter((r) => r.label.endsWith(kind));
    if (!rs.length) continue;
    const tag = `(${kind}, n=${rs.length})`;
    row(`open → page loaded (DOMContentLoaded) ${tag}`, rs.map((r) => r.phases.domContentLoaded), ms);
    row(`open → /api/v1/reflect answered ${tag}`, rs.map((r) => r.phases.reflectApi), ms);
    row(`open → media worker in control ${tag}`, rs.map((r) => r.phases.workerAt), ms);
    row(`open → player ready ${tag}`, rs.map((r) => r.readyMs), ms);
    row(`open → Play click handled (clicked when ready) ${tag}`, rs.map((r) => r.clickMs), ms);
    row(`main-thread long tasks before the click: total ${tag}`, rs.map((r) => r.phases.longTasksBeforeClick), ms);
    row(`main-thread long tasks before the click: longest ${tag}`, rs.map((r) => r.phases.longestTaskBeforeClick), ms);
    row(`open → first camera playing ${tag}`, rs.map((r) => r.firstCameraMs), ms);
    row(`open → both cameras playing ${tag}`, rs.map((r) => r.bothCamerasMs), ms, `< ${TARGET_OPEN_MS} ms`);
    row(`click Play → both cameras playing ${tag}`, rs.map((r) => r.clickToBothMs), ms);
    row(`server bytes sent until playing ${tag}`, rs.map((r) => r.openBytes), mib, `≪ ${mib(mediaBytes)} (all media)`);
    row(`seek to ${SEEK_TO_S / 60} min → both playing ${tag}`, rs.map((r) => r.seekMs), ms);
    row(`server bytes sent for the seek ${tag}`, rs.map((r) => r.seekBytes), mib);
  }
  for (const r of runs.filter((x) => x.sync)) {
    row(`both cameras apart over ${Math.round(r.sync.playedS)} s of playback (${r.sync.samples} samples, run ${r.label})`,
      [r.sync.worstMs], ms, `≤ ${TARGET_SYNC_MS} ms`);
  }
  row(`open → all ${recording.segments} transcript segments in the DOM`, runs.map((r) => r.transcriptMs), ms);
  const gaps = runs.map((r) => r.scroll);
  row('transcript scroll: frame p50', gaps.map((g) => g.p50), (v) => `${v.toFixed(1)} ms`);
  row('transcript scroll: frame p95', gaps.map((g) => g.p95), (v) => `${v.toFixed(1)} ms`);
  row('transcript scroll: worst frame', gaps.map((g) => g.max), (v) => `${v.toFixed(1)} ms`);
  row('transcript scroll: frames > 50 ms (per 3 s)', gaps.map((g) => g.over50), (v) => String(v), '0');
  const statuses = new Set(runs.flatMap((r) => [...r.requestsAtPlay, ...r.seekRequests].map((q) => q.status)));
  const link = process.env.RATE ? `loopback shaped to ${process.env.RATE}` : 'plain loopback';
  console.log(`\n${MINUTES}-minute recording, ${runs.length} opens over ${link}; p50 and max over the opens.\n`);
  console.log('| measure | p50 | max | target |\n|---|---|---|---|');
  console.log(rows.join('\n'));
  console.log(`\nMedia response statuses: ${[...statuses].join(', ')}; the scroll moved ${gaps[0].scroller} `
    + `(${gaps[0].height} px, end reached in ${gaps.filter((g) => g.reachedEnd).length}/${gaps.length}). `
    + `Load average (1 min) ${summary.loadBefore.toFixed(2)} before, ${summary.loadAfter.toFixed(2)} after.`);
  if (process.env.BENCH_JSON) {
    writeFileSync(process.env.BENCH_JSON, JSON.stringify(summary, null, 2));
    console.log(`Every number: ${process.env.BENCH_JSON}`);
  }
}

await main();
