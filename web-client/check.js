// The connection check: from this browser's network, which ways to Duet's
// media work? Each test is a real peer connection to the media server
// (POST /api/v1/check/offer) that keeps only the candidates of one path:
// UDP, TCP, or (with iceTransportPolicy "relay") the TURN server.
//
// What the page shows is kept as state plus a function that says it
// (`shown`), so a change of language re-renders every result at once,
// even in the middle of a check.

import { initI18n, onLanguageChange, t } from './i18n.js';
import { fmtUnit } from './intl-format.js';

const token = decodeURIComponent(location.hash.slice(1)) || null;

const CONNECT_MS = { udp: 8000, tcp: 10000, relay: 15000 };
const GATHER_MS = 4000;

const ROWS = ['signaling', 'udp', 'tcp', 'relay'];

/** Each row's and the summary's state, and a function that says it in the page's language. */
const shown = {};

function row(name) {
  return document.querySelector(`[data-testid="check-${name}"]`);
}

/** A catalog sentence, said in whatever language is chosen when it is rendered. */
function say(key, vars) {
  return () => t(key, vars);
}

/** A time in milliseconds, with the unit, as the page's locale writes it. */
function milliseconds(ms) {
  return fmtUnit(Math.round(ms), 'millisecond');
}

function show(name, state, text) {
  shown[name] = { state, text };
  render(name);
}

function render(name) {
  const { state, text } = shown[name];
  const stateHolder = name === 'summary' ? document.getElementById('check-summary') : row(name);
  const textHolder = name === 'summary' ? stateHolder : stateHolder.querySelector('.check-result');
  stateHolder.dataset.state = state;
  textHolder.textContent = text();
}

async function postJson(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json?.error?.message || `HTTP ${res.status}`);
  return json;
}

/** Whether the signaling socket answers a ping, and how many milliseconds the answer took. */
function checkSignaling() {
  return new Promise((resolve) => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    let sentAt = 0;
    const done = (ok) => {
      clearTimeout(timer);
      ws.close();
      resolve({ ok, ms: ok ? performance.now() - sentAt : null });
    };
    const timer = setTimeout(() => done(false), 5000);
    ws.onopen = () => {
      sentAt = performance.now();
      ws.send(JSON.stringify({ type: 'ping' }));
    };
    ws.onmessage = (e) => {
      try {
        if (JSON.parse(e.data).type === 'pong') done(true);
      } catch { /* not ours */ }
    };
    ws.onerror = () => done(false);
  });
}

function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
    });
  });
}

/** The answer with only the server candidates of `path` (relay keeps all). */
function onlyPath(sdp, path) {
  if (path === 'relay') return sdp;
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || line.split(' ')[2].toLowerCase() === path)
    .join('\r\n');
}

async function probe(path, iceServers) {
  const pc = new RTCPeerConnection({
    iceServers: path === 'relay' ? iceServers : [],
    iceTransportPolicy: path === 'relay' ? 'relay' : 'all',
  });
  try {
    // The same three sections as a call, so the server answers as it would.
    pc.addTransceiver('audio', { direction: 'sendrecv' });
    pc.addTransceiver('video', { direction: 'sendrecv' });
    pc.addTransceiver('video', { direction: 'sendrecv' });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (path === 'relay' && !pc.localDescription.sdp.includes(' typ relay')) {
      return { ok: false, why: say('check/result.no-relay-address') };
    }
    const { sdp } = await postJson('/api/v1/check/offer', { sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp: onlyPath(sdp, path) });
    const ok = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), CONNECT_MS[path]);
      const check = () => {
        if (pc.connectionState === 'connected') { clearTimeout(timer); resolve(true); }
        if (pc.connectionState === 'failed') { clearTimeout(timer); resolve(false); }
      };
      pc.addEventListener('connectionstatechange', check);
      check();
    });
    return { ok, why: ok ? null : say('check/result.no-connection') };
  } catch (e) {
    // The browser's or the server's own words: shown as they are.
    return { ok: false, why: say('check/result.error', { message: e.message }) };
  } finally {
    pc.close();
  }
}

async function run() {
  for (const name of ROWS) show(name, 'waiting', say('check/result.waiting'));
  show('summary', 'running', say('check/summary.checking'));

  show('signaling', 'running', say('check/result.checking'));
  let plan;
  try {
    plan = await postJson('/api/v1/check', token ? { token } : {});
  } catch (e) {
    plan = null;
  }
  const signaling = plan ? await checkSignaling() : { ok: false };
  if (!signaling.ok) {
    show('signaling', 'failed', say('check/result.unreachable'));
    for (const name of ['udp', 'tcp', 'relay']) show(name, 'skipped', say('check/result.not-tested'));
    return finish({ signaling: false });
  }
  show('signaling', 'ok', () => t('check/result.works-in', { time: milliseconds(signaling.ms) }));

  const results = { signaling: true };
  const works = say('check/result.works');
  const blocked = say('check/result.blocked');
  show('udp', 'running', say('check/result.connecting'));
  const udp = await probe('udp');
  results.udp = udp.ok;
  show('udp', udp.ok ? 'ok' : 'failed', udp.ok ? works : blocked);

  if (plan.tcp) {
    show('tcp', 'running', say('check/result.connecting'));
    const tcp = await probe('tcp');
    results.tcp = tcp.ok;
    show('tcp', tcp.ok ? 'ok' : 'failed', tcp.ok ? works : blocked);
  } else {
    show('tcp', 'skipped', say('check/result.no-tcp'));
  }

  if (!plan.relay.configured) {
    show('relay', 'skipped', say('check/result.no-relay'));
  } else if (!plan.relay.available) {
    show('relay', 'skipped', say('check/result.needs-link'));
  } else {
    show('relay', 'running', say('check/result.connecting'));
    const relay = await probe('relay', plan.ice_servers);
    results.relay = relay.ok;
    show('relay', relay.ok ? 'ok' : 'failed', relay.ok ? works : relay.why || blocked);
  }
  return finish(results);
}

function finish(r) {
  if (!r.signaling) {
    show('summary', 'failed', say('check/summary.unreachable'));
  } else if (r.udp) {
    show('summary', 'ok', say('check/summary.ready'));
  } else if (r.tcp || r.relay) {
    show('summary', 'ok', say('check/summary.fallback'));
  } else {
    show('summary', 'failed', say('check/summary.blocked'));
  }
  document.getElementById('check-again').hidden = false;
}

await initI18n();
document.title = t('check/page-title');
onLanguageChange(() => {
  document.title = t('check/page-title');
  for (const name of Object.keys(shown)) render(name);
});
document.getElementById('check-again').addEventListener('click', () => {
  document.getElementById('check-again').hidden = true;
  run();
});
run();
