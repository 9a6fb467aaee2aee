// The full bad-network matrix: every scenario of tests/src/impair/scenario.rs,
// through Duet and as a direct call between the same two Chromium pages
// under the same impairment (netmatrix.mjs), judged against the issue's
// goal, written as a report into docs/network.md (between the report
// markers) with a plot per scenario in docs/network/.
//
// Not a test (no `.test.mjs`): run it with tests/bench/network-report.sh,
// which builds what it needs and runs this inside a network namespace that
// has only loopback. Environment: SCENARIOS (comma-separated names; default
// all), WRITE_DOCS=1 (rewrite the report in docs/), BENCH_JSON (a file for
// every sample), FROM_JSON (no measuring: the report and plots from a
// BENCH_JSON file of an earlier run), DUET_LOGS_TO (a file for Duet's log; DUET_LOG sets its
// level), DUET_NETWORK_SETTLE_MS / DUET_NETWORK_WINDOW_MS.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';

import { chromium } from 'playwright-core';

import { CHROMIUM, launchPerson } from '../browser.mjs';
import { duetBin } from '../server.mjs';
import { startDirectBed } from '../directcall.mjs';
import { startNetbed } from '../netbed.mjs';
import { judge, measureScenario, perSecond, receiverSummary, SETTLE_MS, WINDOW_MS } from '../netmatrix.mjs';
import { REPO_ROOT } from '../util.mjs';

const ALL = ['clean', 'loss-2', 'loss-5', 'bursty', 'rtt-150', 'rtt-300', 'uplink-500', 'uplink-250', 'downlink-250', 'outage-5s', 'address-change'];
// An address change breaks the direct call's TURN allocation, which a
// plain page does not repair: its goal is absolute (recovery < 3 s).
const NO_DIRECT = new Set(['address-change']);

const RECEIVERS = ['mentor', 'mentee'];

const names = process.env.SCENARIOS ? process.env.SCENARIOS.split(',').map((s) => s.trim()).filter(Boolean) : ALL;
for (const n of names) if (!ALL.includes(n)) throw new Error(`unknown scenario ${n}; known: ${ALL.join(', ')}`);

// One line chart as SVG: `series` is [{label, dash, color, points:[{t,v}]}].
function chart({ title, unit, series, width = 460, height = 220 }) {
  // Room at the top for the title and a two-column legend.
  const pad = { l: 46, r: 10, t: 22 + 14 * Math.ceil(series.length / 2), b: 28 };
  const all = series.flatMap((s) => s.points);
  const tMax = Math.max(1, ...all.map((p) => p.t));
  const vMax = Math.max(1, ...all.map((p) => p.v)) * 1.1;
  const x = (t) => pad.l + ((width - pad.l - pad.r) * t) / tMax;
  const y = (v) => height - pad.b - ((height - pad.t - pad.b) * v) / vMax;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * vMax);
  const fmt = (v) => (v >= 100 ? Math.round(v) : Math.round(v * 10) / 10);
  const lines = series.map((s) => {
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2" ${s.dash ? 'stroke-dasharray="5 4"' : ''}/>`;
  });
  const legend = series.map((s, i) => `<g transform="translate(${pad.l + (i % 2) * 190},${18 + 14 * Math.floor(i / 2)})">
    <line x1="0" y1="6" x2="18" y2="6" stroke="${s.color}" stroke-width="2" ${s.dash ? 'stroke-dasharray="5 4"' : ''}/>
    <text x="22" y="10">${s.label}</text></g>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="${pad.l}" y="15" font-weight="bold">${title} (${unit})</text>
  ${ticks.map((v) => `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${pad.l - 4}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`).join('')}
  <text x="${width - pad.r}" y="${height - 6}" text-anchor="end">seconds</text>
  ${lines.join('')}
  ${legend.join('')}
</svg>`;
}

// The scenario's plot: what the mentee and the mentor received, per
// second, through Duet (solid) and directly (dashed).
function scenarioSvg(result) {
  const colors = { mentor: '#1f6feb', mentee: '#d1242f' };
  const series = (metric) => RECEIVERS.flatMap((who) => [
    { label: `${who} ← Duet`, color: colors[who], dash: false, points: perSecond(result.duet[who]).map((p) => ({ t: p.t, v: p[metric] })) },
    ...(result.direct ? [{ label: `${who} ← direct`, color: colors[who], dash: true, points: perSecond(result.direct[who]).map((p) => ({ t: p.t, v: p[metric] })) }] : []),
  ]);
  const panels = [
    chart({ title: 'Frames decoded per second', unit: 'fps', series: series('fps') }),
    chart({ title: 'Frame width received', unit: 'px', series: series('width') }),
    chart({ title: 'Audio concealed', unit: '%', series: series('concealedPct') }),
  ];
  return `<div style="display:flex;flex-wrap:wrap;width:940px;background:#fff"><h3 style="width:100%;font:bold 14px sans-serif;margin:6px">${result.name}</h3>${panels.join('')}</div>`;
}

async function writePlots(results, dir) {
  mkdirSync(dir, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 960, height: 500 } });
    for (const r of results) {
      await page.setContent(`<body style="margin:0">${scenarioSvg(r)}</body>`);
      await page.locator('body > div').screenshot({ path: join(dir, `${r.name}.png`) });
    }
  } finally {
    await browser.close();
  }
}

const cell = (v) => (v === null || v === undefined ? '—' : String(v));

// The Markdown report: per scenario and receiver, Duet against direct.
function report(results) {
  const rows = [];
  rows.push('| scenario | receiver | frames Duet / direct | median width | freeze s | audio concealed % | RTT ms | goal |');
  rows.push('|---|---|---|---|---|---|---|---|');
  const failures = [];
  for (const r of results) {
    for (const who of RECEIVERS) {
      const d = receiverSummary(r.duet[who]);
      const x = r.direct ? receiverSummary(r.direct[who]) : null;
      if (!d) continue;
      const pair = (a, b) => `${cell(a)} / ${cell(b)}`;
      let goal = 'n/a (absolute: recovery)';
      if (x) {
        const checks = judge(d, x);
        const missed = checks.filter((c) => !c.ok);
        goal = missed.length ? `**missed**: ${missed.map((c) => c.what).join(', ')}` : 'met';
        for (const c of missed) failures.push(`${r.name}, ${who} receives: ${c.what} ${c.duet} vs direct ${c.direct} (${c.need})`);
      }
      rows.push(`| ${r.name} | ${who} | ${pair(d.frames, x?.frames)} | ${pair(d.medianWidth, x?.medianWidth)} | ${pair(d.freezeSecs, x?.freezeSecs)} | ${pair(d.concealedPct, x?.concealedPct)} | ${pair(d.rttMs, x?.rttMs)} | ${goal} |`);
    }
  }
  return { table: rows.join('\n'), failures };
}

const START = '<!-- network-report:start -->';
const END = '<!-- network-report:end -->';

function writeDocs(results, table) {
  const file = join(REPO_ROOT, 'docs', 'network.md');
  const doc = readFileSync(file, 'utf8');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/network.md has no ${START} … ${END} section to rewrite`);
  const plots = results.map((r) => `![${r.name}: frames per second, frame width and audio concealed per second, through Duet (solid) and direct (dashed)](network/${r.name}.png)`);
  const body = [
    START,
    `Run on ${new Date().toISOString().slice(0, 10)} with \`./tests/bench/network-report.sh\` (\`duet\` from \`${relative(REPO_ROOT, duetBin())}\`, ${cpus().length} cores for both Chromiums, both relays, coturn and Duet): each scenario for ${SETTLE_MS / 1000} s to settle, then measured for ${WINDOW_MS / 1000} s (scenarios with events: 25 s from the events' start). Each number is what that person *received*; "Duet / direct".`,
    '',
    table,
    '',
    ...plots,
    END,
  ].join('\n');
  writeFileSync(file, doc.slice(0, a) + body + doc.slice(b + END.length));
}

let results = [];
if (process.env.FROM_JSON) {
  results = JSON.parse(readFileSync(process.env.FROM_JSON, 'utf8'));
} else {
  const duetBed = await startNetbed();
  const directBed = await startDirectBed();
  const [mentor, mentee] = await Promise.all([launchPerson('mentor'), launchPerson('mentee')]);
  try {
    for (const name of names) {
      const started = Date.now();
      const r = await measureScenario({ name, duetBed, directBed, mentor, mentee, direct: !NO_DIRECT.has(name) });
      results.push(r);
      for (const who of RECEIVERS) {
        console.log(`${name}, ${who} receives via Duet: ${JSON.stringify(receiverSummary(r.duet[who]))}`);
        if (r.direct) console.log(`${name}, ${who} receives direct:   ${JSON.stringify(receiverSummary(r.direct[who]))}`);
      }
      console.log(`${name}: ${Math.round((Date.now() - started) / 1000)} s`);
    }
  } finally {
    await Promise.all([mentor.close(), mentee.close()]);
    await directBed.stop();
    await duetBed.stop();
  }

  if (process.env.DUET_LOGS_TO) writeFileSync(process.env.DUET_LOGS_TO, duetBed.server.logs.join('\n'));
}

const { table, failures } = report(results);
console.log(`\n${table}\n`);
if (failures.length) console.log(`goal missed:\n  ${failures.join('\n  ')}`);
if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(results));
if (process.env.WRITE_DOCS === '1') {
  await writePlots(results, join(REPO_ROOT, 'docs', 'network'));
  writeDocs(results, table);
  console.log('wrote docs/network.md and docs/network/*.png');
}
