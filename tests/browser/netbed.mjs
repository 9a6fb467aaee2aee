// A bad-network test bed for browser tests: the impairing UDP relay
// (`impair_relay`, tests/src/bin/impair_relay.rs) in front of a real `duet`
// that advertises the relay's address, an nft guard so ICE cannot find the
// direct path around the relay, telling the mentor's and the mentee's
// traffic apart, and reading what the pages' connections do (getStats).
//
// Everything binds loopback; the relay's front is 127.0.0.2 (all of
// 127.0.0.0/8 is on `lo`). Run inside a private network namespace with
// only `lo` (`unshare --net`, as root): the nft guard refuses to touch the
// machine's own namespace.

import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

import { duetBin, startServer } from './server.mjs';
import { removeDir, scratchDir, waitUntil } from './util.mjs';

export const FRONT_IP = '127.0.0.2';

export function relayBin() {
  if (process.env.IMPAIR_RELAY_BIN) return process.env.IMPAIR_RELAY_BIN;
  return join(dirname(duetBin()), 'impair_relay');
}

// A UDP port free right now, for Duet's media socket: the relay must know
// it before Duet starts, and Duet must know the relay's port.
export async function freeUdpPort() {
  const sock = createSocket('udp4');
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '0.0.0.0', resolve);
  });
  const { port } = sock.address();
  await new Promise((resolve) => sock.close(resolve));
  return port;
}

// The relay process: `cmd(obj)` sends one command and resolves with its
// one-line JSON answer (rejecting on `ok: false`).
export async function startRelay(server) {
  const bin = relayBin();
  if (!existsSync(bin)) {
    throw new Error(`no impair_relay at ${bin}: build it with \`cargo build -p duet-tests --bin impair_relay\` (or set IMPAIR_RELAY_BIN)`);
  }
  const child = spawn(bin, ['--server', server, '--front-ip', FRONT_IP], { stdio: ['pipe', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const errors = [];
  createInterface({ input: child.stderr }).on('line', (l) => {
    errors.push(l);
    if (errors.length > 100) errors.shift();
  });
  const waiting = [];
  let hello;
  const helloLine = new Promise((resolve, reject) => {
    hello = { resolve, reject };
  });
  let first = true;
  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      msg = { ok: false, error: `not JSON: ${line}` };
    }
    if (first) {
      first = false;
      hello.resolve(msg);
      return;
    }
    waiting.shift()?.(msg);
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  exited.then(({ code, signal }) => {
    hello.reject(new Error(`impair_relay exited (${code ?? signal}) before its first line: ${errors.join('\n')}`));
    for (const w of waiting.splice(0)) w({ ok: false, error: `impair_relay exited (${code ?? signal})` });
  });
  child.on('error', (e) => hello.reject(e));
  const { front } = await helloLine;
  return {
    front,
    errors,
    async cmd(command) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error('impair_relay is not running');
      const answer = new Promise((resolve) => waiting.push(resolve));
      child.stdin.write(`${JSON.stringify(command)}\n`);
      const msg = await answer;
      if (!msg.ok) throw new Error(`impair_relay ${command.cmd}: ${msg.error}`);
      return msg;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
    },
  };
}

// A namespace of its own with nothing but loopback, as `unshare --net`
// makes: the interfaces this process sees (/proc/self/net/dev is per
// namespace) are `lo` alone.
function onlyLoopback() {
  try {
    const names = readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2)
      .map((l) => l.split(':')[0].trim()).filter(Boolean);
    return names.length === 1 && names[0] === 'lo';
  } catch {
    return false;
  }
}

function nft(args, input) {
  const r = spawnSync('nft', args, { input, encoding: 'utf8' });
  if (r.error?.code === 'ENOENT') {
    throw new Error('`nft` is missing: the bad-network tests need it to block the direct path around the relay (apt-get install nftables; tests/run.sh installs it)');
  }
  if (r.status !== 0) throw new Error(`nft ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

// Drops UDP to and from Duet's real media port unless it is the relay's
// (its upstream sockets bind FRONT_IP): otherwise ICE finds a
// peer-reflexive shortcut straight to the server and the relay shapes
// nothing. Only in a private network namespace.
function installGuard(mediaPort) {
  if (!onlyLoopback()) {
    throw new Error('netbed: refusing to add nft rules outside a private network namespace with only `lo`; run the test under `unshare --net` (tests/run.sh does)');
  }
  const table = `duet_netbed_${mediaPort}`;
  nft(['-f', '-'], `table inet ${table} {
  chain out {
    type filter hook output priority 0; policy accept;
    meta nfproto ipv4 udp dport ${mediaPort} ip saddr != ${FRONT_IP} counter drop
    meta nfproto ipv4 udp sport ${mediaPort} ip daddr != ${FRONT_IP} counter drop
    meta nfproto ipv6 udp dport ${mediaPort} counter drop
    meta nfproto ipv6 udp sport ${mediaPort} counter drop
  }
}
`);
  return {
    table,
    probes: 0,
    // Datagrams the guard dropped so far (its own probe included).
    dropped() {
      const out = nft(['list', 'table', 'inet', table]);
      return [...out.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    },
    remove() {
      try {
        nft(['delete', 'table', 'inet', table]);
      } catch {
        // The namespace goes away with the run anyway.
      }
    },
  };
}

// One datagram from the browsers' address to the media port must hit the
// guard's counters, or the guard does not do what it says.
async function proveGuard(guard, mediaPort) {
  const before = guard.dropped();
  const sock = createSocket('udp4');
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', resolve);
  });
  await new Promise((resolve) => sock.send('netbed guard probe', mediaPort, '127.0.0.1', () => resolve()));
  await new Promise((resolve) => sock.close(resolve));
  const after = guard.dropped();
  if (after <= before) throw new Error(`the nft guard did not drop a direct datagram to port ${mediaPort}`);
  guard.probes = after - before;
}

// `duet` with the media port and advertised address the relay needs.
// server.mjs passes `--media-port 0 --public-ip 127.0.0.1` itself and clap
// refuses a flag given twice, so a small wrapper swaps those two values.
function wrapperScript(dir) {
  const file = join(dir, 'duet-netbed.sh');
  writeFileSync(file, `#!/bin/sh
# netbed: run duet with --media-port and --public-ip replaced for the relay.
prev=
for a do
  shift
  o="$a"
  case "$prev" in
    --media-port) a="$NETBED_MEDIA_PORT" ;;
    --public-ip) a="$NETBED_PUBLIC_IP" ;;
  esac
  set -- "$@" "$a"
  prev="$o"
done
exec "$NETBED_DUET_BIN" "$@"
`);
  chmodSync(file, 0o755);
  return file;
}

// The ICE deny list for the server: the shipped one, plus the browsers'
// own host address, so Duet never checks the browser directly either.
const ICE_DENY = [
  '0.0.0.0/8', '127.0.0.1/32', '169.254.0.0/16', '224.0.0.0/4', '255.255.255.255/32',
  '::/128', '::1/128', 'fe80::/10', 'ff00::/8',
].join(',');

// The relay, the guard, and a Duet advertising the relay. `server` is
// server.mjs's object; `stop()` undoes all of it.
export async function startNetbed({ env = {} } = {}) {
  const mediaPort = await freeUdpPort();
  const relay = await startRelay(`127.0.0.1:${mediaPort}`);
  const frontPort = Number(relay.front.split(':').pop());
  let guard = null;
  let server = null;
  const dir = scratchDir('netbed');
  try {
    guard = installGuard(mediaPort);
    await proveGuard(guard, mediaPort);
    const realBin = duetBin();
    const saved = process.env.DUET_BIN;
    process.env.DUET_BIN = wrapperScript(dir);
    let starting;
    try {
      // startServer spawns before its first await, so the swap only
      // touches this one spawn.
      starting = startServer({
        env: {
          NETBED_DUET_BIN: realBin,
          NETBED_MEDIA_PORT: String(mediaPort),
          NETBED_PUBLIC_IP: FRONT_IP,
          DUET_PUBLIC_PORT: String(frontPort),
          DUET_MEDIA_ICE_DENY: ICE_DENY,
          // ICE-TCP would be a path around the relay.
          DUET_MEDIA_ICE_TCP: 'false',
          ...env,
        },
      });
    } finally {
      if (saved === undefined) delete process.env.DUET_BIN;
      else process.env.DUET_BIN = saved;
    }
    server = await starting;
    const running = server.logs.map((l) => {
      try {
        return JSON.parse(l).fields;
      } catch {
        return null;
      }
    }).find((f) => f?.media);
    if (!running || !running.media.endsWith(`:${mediaPort}`) || running.advertised !== FRONT_IP) {
      throw new Error(`duet did not take the netbed's media settings: ${JSON.stringify(running)}`);
    }
  } catch (e) {
    await server?.stop();
    guard?.remove();
    await relay.stop();
    removeDir(dir);
    throw e;
  }
  return {
    server,
    relay,
    guard,
    mediaPort,
    front: { ip: FRONT_IP, port: frontPort, addr: relay.front },
    cmd: (c) => relay.cmd(c),
    async stop() {
      await server.stop();
      guard.remove();
      await relay.stop();
      removeDir(dir);
    },
  };
}

// The page's current connection's ICE view: the server's ufrag (remote
// description), our own, the connection state.
export async function iceInfo(page) {
  return page.evaluate(() => {
    const pc = window.duet?.pc;
    if (!pc) return null;
    const ufrag = (d) => /a=ice-ufrag:(\S+)/.exec(d?.sdp ?? '')?.[1] ?? null;
    return {
      server: ufrag(pc.remoteDescription),
      local: ufrag(pc.localDescription),
      state: pc.connectionState,
      ice: pc.iceConnectionState,
      marker: pc.__netbedMarker ?? null,
    };
  });
}

// Tells the relay who is who from the pages' server ufrags, and waits until
// it has assigned both (on each client's next ICE check).
export async function classify(bed, mentorPage, menteePage) {
  const [mentor, mentee] = await Promise.all([
    waitUntil('the mentor page to have an answer', async () => (await iceInfo(mentorPage))?.server ?? false),
    waitUntil('the mentee page to have an answer', async () => (await iceInfo(menteePage))?.server ?? false),
  ]);
  await bed.cmd({ cmd: 'classify', mentor_ufrag: mentor, mentee_ufrag: mentee });
  return waitUntil('the relay to assign both people', async () => {
    const { clients } = await bed.cmd({ cmd: 'stats' });
    const who = new Set(clients.map((c) => c.who).filter(Boolean));
    return who.has('mentor') && who.has('mentee') ? { ok: true, clients } : { ok: false, clients };
  }, { interval: 250 });
}

// The selected candidate pair of the page's connection (getStats), with
// both candidates' addresses.
export async function selectedPair(page) {
  return page.evaluate(async () => {
    const pc = window.duet?.pc;
    if (!pc) return null;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
    if (!pair) return null;
    const cand = (id) => {
      const c = stats.get(id);
      return c ? { address: c.address ?? c.ip, port: c.port, type: c.candidateType, protocol: c.protocol } : null;
    };
    return { state: pair.state, local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId) };
  });
}

// One snapshot of what a page receives and sends: cumulative counters,
// summed over the inbound streams of each kind.
export async function pageStats(page) {
  return page.evaluate(async () => {
    const pc = window.duet?.pc;
    if (!pc) return null;
    const stats = await pc.getStats();
    const out = {
      at: Date.now(),
      state: pc.connectionState,
      video: { packets: 0, lost: 0, framesDecoded: 0, freezeCount: 0, totalFreezesDuration: 0, frameWidth: 0, frameHeight: 0, nackSent: 0, pliSent: 0 },
      audio: { packets: 0, lost: 0, concealedSamples: 0, totalSamplesReceived: 0 },
      sent: { nackReceived: 0, pliReceived: 0, videoBytes: 0, audioBytes: 0 },
      rtt: null,
      availableOutgoingBitrate: null,
    };
    let pairId = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        const v = out.video;
        v.packets += s.packetsReceived ?? 0;
        v.lost += Math.max(0, s.packetsLost ?? 0);
        v.framesDecoded += s.framesDecoded ?? 0;
        v.freezeCount += s.freezeCount ?? 0;
        v.totalFreezesDuration += s.totalFreezesDuration ?? 0;
        v.frameWidth = Math.max(v.frameWidth, s.frameWidth ?? 0);
        v.frameHeight = Math.max(v.frameHeight, s.frameHeight ?? 0);
        v.nackSent += s.nackCount ?? 0;
        v.pliSent += s.pliCount ?? 0;
      } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        const a = out.audio;
        a.packets += s.packetsReceived ?? 0;
        a.lost += Math.max(0, s.packetsLost ?? 0);
        a.concealedSamples += s.concealedSamples ?? 0;
        a.totalSamplesReceived += s.totalSamplesReceived ?? 0;
      } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out.sent.nackReceived += s.nackCount ?? 0;
        out.sent.pliReceived += s.pliCount ?? 0;
        out.sent.videoBytes += s.bytesSent ?? 0;
      } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
        out.sent.audioBytes += s.bytesSent ?? 0;
      } else if (s.type === 'candidate-pair' && (s.id === pairId || (!pairId && s.nominated && s.state === 'succeeded'))) {
        out.rtt = s.currentRoundTripTime ?? null;
        out.availableOutgoingBitrate = s.availableOutgoingBitrate ?? null;
      }
    });
    return out;
  });
}

// Samples `pageStats` every `everyMs` until `stop()`, which resolves with
// the samples.
export function sampleStats(page, everyMs = 1000) {
  const samples = [];
  let running = true;
  const loop = (async () => {
    // Ends with the page too: a test that failed before `stop()` must not
    // leave a loop that keeps this file's process, and the run, alive.
    while (running && !page.isClosed()) {
      const started = Date.now();
      try {
        const s = await pageStats(page);
        if (s) samples.push(s);
      } catch {
        // A page mid-navigation: skip this tick.
      }
      await sleep(Math.max(0, everyMs - (Date.now() - started)));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

const round = (x, d = 1) => (x === null || x === undefined ? null : Math.round(x * 10 ** d) / 10 ** d);

// What a window of samples says: rates and deltas between the first and
// the last, and the worst second.
export function summarize(samples) {
  if (samples.length < 2) return null;
  const a = samples[0];
  const b = samples.at(-1);
  const secs = (b.at - a.at) / 1000;
  const perSecond = samples.slice(1).map((s, i) => ({
    frames: s.video.framesDecoded - samples[i].video.framesDecoded,
    audioPackets: s.audio.packets - samples[i].audio.packets,
  }));
  const d = (f) => f(b) - f(a);
  const audioSamples = d((s) => s.audio.totalSamplesReceived);
  const rtts = samples.map((s) => s.rtt).filter((r) => typeof r === 'number');
  const bitrates = samples.map((s) => s.availableOutgoingBitrate).filter((r) => typeof r === 'number');
  const vPackets = d((s) => s.video.packets);
  const vLost = d((s) => s.video.lost);
  const aPackets = d((s) => s.audio.packets);
  const aLost = d((s) => s.audio.lost);
  return {
    secs: round(secs),
    fps: round(d((s) => s.video.framesDecoded) / secs),
    minFramesInASecond: Math.min(...perSecond.map((p) => p.frames)),
    freezes: d((s) => s.video.freezeCount),
    freezeSecs: round(d((s) => s.video.totalFreezesDuration), 2),
    frameWidth: b.video.frameWidth,
    frameHeight: b.video.frameHeight,
    videoLossPct: round((100 * vLost) / Math.max(1, vPackets + vLost)),
    nackSent: d((s) => s.video.nackSent),
    pliSent: d((s) => s.video.pliSent),
    nackReceived: d((s) => s.sent.nackReceived),
    pliReceived: d((s) => s.sent.pliReceived),
    audioPacketsPerSec: round(aPackets / secs),
    minAudioPacketsInASecond: Math.min(...perSecond.map((p) => p.audioPackets)),
    audioLossPct: round((100 * aLost) / Math.max(1, aPackets + aLost)),
    concealedPct: round((100 * d((s) => s.audio.concealedSamples)) / Math.max(1, audioSamples)),
    rttMs: rtts.length ? round((1000 * rtts.reduce((x, y) => x + y, 0)) / rtts.length, 0) : null,
    availableOutgoingKbps: bitrates.length ? round(Math.min(...bitrates) / 1000, 0) : null,
    sentVideoKbps: round((8 * d((s) => s.sent.videoBytes)) / secs / 1000, 0),
  };
}
