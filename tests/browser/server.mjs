// The server under test: the real `duet` binary on free ports, with a fresh
// data folder and a random API key, and the API calls the tests need.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { removeDir, scratchDir } from './util.mjs';

export function duetBin() {
  if (process.env.DUET_BIN) return process.env.DUET_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'duet-target');
  return join(target, 'debug', 'duet');
}

// `duet --data <dir> admin create <name>`, the password on standard input:
// a console account, usable at once by a server on that data folder.
export function createAdmin(dataDir, name, password) {
  return new Promise((resolve, reject) => {
    const child = spawn(duetBin(), ['--data', dataDir, 'admin', 'create', name], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`admin create exited ${code}: ${out}`))));
    child.stdin.end(`${password}\n`);
  });
}

// Starts `duet serve` on free ports with a fresh data folder and a random
// API key (or `key`: nodes of one cluster share theirs), and resolves once
// its JSON startup line gives the HTTP address.
export async function startServer({ extraArgs = [], env = {}, key = randomKey() } = {}) {
  const dataDir = scratchDir('data');
  const bin = duetBin();
  const child = spawn(
    bin,
    [
      '--data', dataDir,
      'serve',
      '--listen', '127.0.0.1:0',
      '--media-port', '0',
      '--public-ip', '127.0.0.1',
      '--log-format', 'json',
      ...extraArgs,
    ],
    {
      env: {
        ...process.env,
        DUET_API_KEY: key,
        // A free ICE-TCP port, and calls end at once when the test stops the server.
        DUET_MEDIA_TCP_PORT: '0',
        DUET_SHUTDOWN_GRACE_PERIOD_S: '0',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  // Never leave a server behind, even when the test process dies early.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const logs = [];
  const exited = new Promise((resolveExit) => {
    child.on('exit', (code, signal) => resolveExit({ code, signal }));
  });
  const http = await new Promise((resolveHttp, reject) => {
    let found = false;
    const failStart = (why) => {
      if (!found) reject(new Error(`duet serve (${bin}) did not start: ${why}\n${logs.join('\n')}`));
    };
    child.on('error', (e) => failStart(e.message));
    child.on('exit', (code, signal) => failStart(`exited with ${code ?? signal}`));
    const timer = setTimeout(() => failStart('no startup line in 20 s'), 20_000);
    // Keep reading stderr for the whole run: the server must never block
    // on a full pipe, and the last lines help explain a failure.
    const tee = process.env.DUET_SERVER_LOG
      ? createWriteStream(process.env.DUET_SERVER_LOG, { flags: 'a' })
      : null;
    createInterface({ input: child.stderr }).on('line', (line) => {
      tee?.write(`${line}\n`);
      logs.push(line);
      if (logs.length > 400) logs.splice(0, logs.length - 400);
      if (found) return;
      try {
        const addr = JSON.parse(line)?.fields?.http;
        if (typeof addr === 'string') {
          found = true;
          clearTimeout(timer);
          resolveHttp(addr);
        }
      } catch {
        // Not JSON (a panic message, say): kept in `logs` all the same.
      }
    });
  });
  const base = `http://${http}`;

  // An API call with the run's key, or with `token` (a personal or join
  // token) as the bearer.
  async function api(method, path, body, { token = key } = {}) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  }

  return {
    http,
    base,
    key,
    dataDir,
    logs,
    api,
    // `POST /api/v1/sessions`; returns the session object (links, tokens, id).
    async createSession({
      title = 'Browser test',
      mentor = 'Ada',
      mentee = 'Grace',
      recording = 'off',
      expires_in_s,
    } = {}) {
      const body = { title, mentor: { name: mentor }, mentee: { name: mentee }, recording };
      if (expires_in_s !== undefined) body.expires_in_s = expires_in_s;
      const res = await api('POST', '/api/v1/sessions', body);
      if (res.status !== 201) {
        throw new Error(`creating a session: ${res.status} ${res.text}`);
      }
      const session = res.json;
      session.apiLinks = { ...session.links };
      session.links = {
        mentor: rebaseLink(session.links.mentor, base),
        mentee: rebaseLink(session.links.mentee, base),
      };
      return session;
    },
    // `DELETE /api/v1/sessions/{id}`: ends it for both people.
    async endSession(id) {
      const res = await api('DELETE', `/api/v1/sessions/${id}`);
      if (res.status !== 200) throw new Error(`ending session ${id}: ${res.status} ${res.text}`);
      return res.json;
    },
    async getSession(id) {
      const res = await api('GET', `/api/v1/sessions/${id}`);
      if (res.status !== 200) throw new Error(`reading session ${id}: ${res.status} ${res.text}`);
      return res.json;
    },
    // The value of one series of `/metrics`, e.g.
    // `duet_rtp_red_packets_forwarded_total{as="red"}`; 0 when absent.
    async metric(series) {
      const res = await api('GET', '/metrics');
      if (res.status !== 200) throw new Error(`reading /metrics: ${res.status}`);
      const line = res.text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    },
    // The last `n` log lines, runs of the same message folded into one.
    lastLogs(n = 60) {
      return foldRepeats(logs).slice(-n).join('\n');
    },
    // `kill -9`: the process dies on the spot, its sockets reset.
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    // SIGTERM, then wait for the process to exit (SIGKILL after 10 s).
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
      removeDir(dataDir);
    },
  };
}

export function randomKey() {
  return randomBytes(24).toString('base64url').slice(0, 32);
}

function foldRepeats(lines) {
  const out = [];
  let lastKey = null;
  let repeats = 0;
  const flush = () => {
    if (repeats > 0) out.push(`    … the same message ${repeats} more time(s)`);
    repeats = 0;
  };
  for (const line of lines) {
    let key = line;
    try {
      const j = JSON.parse(line);
      key = `${j.level} ${j.target} ${j.fields?.message}`;
    } catch {
      // Not JSON: compare whole lines.
    }
    if (key === lastKey) {
      repeats += 1;
      continue;
    }
    flush();
    out.push(line);
    lastKey = key;
  }
  flush();
  return out;
}

// Join links are `{public_url}/join#token` (personal links `/pair#token`). Without `--public-url` the
// server builds them from the *configured* listen address, which is port 0
// here (a free port picked at start), so they point at
// `http://127.0.0.1:0`. Keep the path and the fragment, and use the
// address the server really listens on.
export function rebaseLink(link, base) {
  const url = new URL(link);
  if (url.origin === base) return link;
  if (!rebaseLink.told) {
    rebaseLink.told = true;
    console.log(`note: the API's join links use ${url.origin}; opening them at ${base}`);
  }
  return `${base}${url.pathname}${url.search}${url.hash}`;
}
