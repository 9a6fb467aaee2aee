// The yardstick for calls through bad networks: a direct call between the
// same two Chromium pages, without Duet, under the same impairment.
//
// Two pages on a tiny test-only page (served at Duet's origin so they can
// use its camera constraints) call each other peer to peer, signalled by
// the test itself through `page.evaluate`. With only `lo` there is no
// topology that needs a middle hop, so the call goes relay-only through a
// real TURN server (coturn), and the same impairing relay as Duet's calls
// sits in front of coturn: each person's uplink and downlink are shaped
// exactly where they are for a call through Duet.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

import { FRONT_IP, freeUdpPort, startRelay } from './netbed.mjs';
import { removeDir, scratchDir, waitUntil } from './util.mjs';

const TURN_REALM = 'duet.test';
const TURN_PASSWORD = 'netbed';

// The relay tells people apart by the first part of STUN USERNAME; TURN's
// long-term credentials carry the username as it is, so each person's
// username is their label.
export const TURN_USERS = { mentor: 'mentor', mentee: 'mentee' };

// A STUN Binding request answered means coturn is listening.
async function stunAnswers(port) {
  const sock = createSocket('udp4');
  try {
    await new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', resolve);
    });
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0);
    req.writeUInt32BE(0x2112a442, 4);
    randomBytes(12).copy(req, 8);
    const answered = new Promise((resolve) => sock.once('message', (m) => resolve(m.readUInt16BE(0) === 0x0101)));
    sock.send(req, port, '127.0.0.1');
    return await Promise.race([answered, sleep(300).then(() => false)]);
  } finally {
    sock.close();
  }
}

// coturn on loopback with a user per person, relaying between loopback
// addresses (both people's relayed candidates are on 127.0.0.1).
async function startTurn() {
  const port = await freeUdpPort();
  const dir = scratchDir('turn');
  const args = [
    '-n', '--no-cli', '--no-tls', '--no-dtls', '--no-tcp-relay',
    '--listening-ip', '127.0.0.1', '--listening-port', String(port),
    '--relay-ip', '127.0.0.1', '--min-port', '40000', '--max-port', '40999',
    '--allow-loopback-peers', '--lt-cred-mech', '--fingerprint', '--realm', TURN_REALM,
    ...Object.values(TURN_USERS).flatMap((u) => ['--user', `${u}:${TURN_PASSWORD}`]),
    '--pidfile', join(dir, 'turn.pid'), '--log-file', 'stdout', '--simple-log', '--no-stdout-log',
  ];
  let child;
  try {
    child = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    removeDir(dir);
    throw e;
  }
  const lines = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (l) => {
      lines.push(l);
      if (lines.length > 100) lines.shift();
    });
  }
  const failed = new Promise((_, reject) => {
    child.once('error', (e) => reject(e.code === 'ENOENT'
      ? new Error('`turnserver` is missing: the direct-call yardstick needs coturn (apt-get install coturn; tests/run.sh installs it)')
      : e));
    child.once('exit', (code, signal) => reject(new Error(`turnserver exited (${code ?? signal}): ${lines.join('\n')}`)));
  });
  failed.catch(() => {});
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    await Promise.race([failed, waitUntil('coturn to answer STUN', () => stunAnswers(port), { interval: 100 })]);
  } catch (e) {
    child.kill('SIGKILL');
    process.removeListener('exit', killOnExit);
    removeDir(dir);
    throw e;
  }
  return {
    port,
    lines,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(timer);
      }
      removeDir(dir);
    },
  };
}

// coturn behind its own impairing relay. `cmd` drives the relay as
// netbed's does (scenarios, stats, classify by TURN username).
export async function startDirectBed() {
  const turn = await startTurn();
  let relay;
  try {
    relay = await startRelay(`127.0.0.1:${turn.port}`);
  } catch (e) {
    await turn.stop();
    throw e;
  }
  await relay.cmd({ cmd: 'classify', mentor_ufrag: TURN_USERS.mentor, mentee_ufrag: TURN_USERS.mentee });
  return {
    turn,
    relay,
    url: `turn:${relay.front}?transport=udp`,
    cmd: (c) => relay.cmd(c),
    async stop() {
      await relay.stop();
      await turn.stop();
    },
  };
}

// The test-only page: one RTCPeerConnection (exposed as `window.duet.pc`,
// so netbed's `pageStats` reads it as it reads Duet's), the camera and
// microphone asked for as Duet asks for them, VP8 like Duet, and the other
// person's camera and voice played in one <video> as Duet's call page does.
const DIRECT_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>direct call (test only)</title>
<video id="remote" autoplay playsinline style="width:640px;height:360px"></video>
<script type="module">
import { constraints } from '/static/media.js';

let pc;
const remote = new MediaStream();

function gathered() {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => {
    if (pc.iceGatheringState === 'complete') resolve();
  }));
}

function preferVp8() {
  const vp8 = RTCRtpReceiver.getCapabilities('video').codecs.filter((c) => /^video\\/(VP8|rtx)$/i.test(c.mimeType));
  for (const t of pc.getTransceivers()) {
    if (t.receiver.track.kind === 'video') t.setCodecPreferences(vp8);
  }
}

window.direct = {
  async start({ url, username, credential }) {
    pc = new RTCPeerConnection({
      iceServers: [{ urls: url, username, credential }],
      iceTransportPolicy: 'relay',
      bundlePolicy: 'max-bundle',
    });
    window.duet = { pc };
    // Not before the page has loaded: a media element waiting for data
    // holds back the load event.
    document.getElementById('remote').srcObject = remote;
    pc.addEventListener('track', (e) => remote.addTrack(e.track));
    const local = await navigator.mediaDevices.getUserMedia({
      audio: constraints('audio'),
      video: constraints('video'),
    });
    window.direct.local = local;
  },
  async offer() {
    for (const track of window.direct.local.getTracks()) pc.addTransceiver(track, { direction: 'sendrecv' });
    preferVp8();
    await pc.setLocalDescription(await pc.createOffer());
    await gathered();
    return pc.localDescription.sdp;
  },
  async answer(sdp) {
    await pc.setRemoteDescription({ type: 'offer', sdp });
    for (const t of pc.getTransceivers()) {
      const track = window.direct.local.getTracks().find((x) => x.kind === t.receiver.track.kind);
      t.direction = 'sendrecv';
      await t.sender.replaceTrack(track);
    }
    preferVp8();
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered();
    return pc.localDescription.sdp;
  },
  async accept(sdp) {
    await pc.setRemoteDescription({ type: 'answer', sdp });
  },
  close() {
    pc?.close();
    for (const t of window.direct.local?.getTracks() ?? []) t.stop();
  },
};
</script>
`;

const DIRECT_PATH = '/__netbed-direct';

// Opens the direct page on both people (fresh tabs) and connects them
// through `bed`'s TURN server. Resolves once both pages decode frames.
export async function directCall(bed, origin, mentor, menteePerson) {
  const people = [mentor, menteePerson];
  for (const person of people) {
    await person.context.route(`**${DIRECT_PATH}`, (route) => route.fulfill({ contentType: 'text/html', body: DIRECT_PAGE }));
    await person.open(`${origin}${DIRECT_PATH}`);
    await person.page.waitForFunction(() => Boolean(window.direct));
    await person.page.evaluate((opts) => window.direct.start(opts), {
      url: bed.url,
      username: TURN_USERS[person.label],
      credential: TURN_PASSWORD,
    });
  }
  const offer = await mentor.page.evaluate(() => window.direct.offer());
  const answer = await menteePerson.page.evaluate((sdp) => window.direct.answer(sdp), offer);
  await mentor.page.evaluate((sdp) => window.direct.accept(sdp), answer);
  for (const person of people) {
    await waitUntil(`${person.label}'s direct call to connect`, () => person.page.evaluate(() => window.duet.pc.connectionState === 'connected'));
  }
  const relayed = await Promise.all(people.map((p) => p.page.evaluate(async () => {
    const stats = await window.duet.pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    return pair ? stats.get(pair.localCandidateId)?.candidateType : null;
  })));
  if (relayed.some((t) => t !== 'relay')) throw new Error(`the direct call did not go through TURN: local candidate types ${relayed}`);
  // Both people's traffic to coturn must be told apart, or the relay
  // shapes nothing.
  await waitUntil('the TURN relay to assign both people', async () => {
    const { clients } = await bed.cmd({ cmd: 'stats' });
    const who = new Set(clients.map((c) => c.who).filter(Boolean));
    return who.has('mentor') && who.has('mentee');
  }, { interval: 250 });
}

// Hangs up the direct call on both pages.
export async function hangUpDirect(...people) {
  await Promise.all(people.map((p) => p.page.evaluate(() => window.direct?.close()).catch(() => {})));
}
