// The connection check: from this browser's network, which ways to Duet's
// media work? Each test is a real peer connection to the media server
// (POST /api/v1/check/offer) that keeps only the candidates of one path:
// UDP, TCP, or (with iceTransportPolicy "relay") the TURN server.

const token = decodeURIComponent(location.hash.slice(1)) || null;

const CONNECT_MS = { udp: 8000, tcp: 10000, relay: 15000 };
const GATHER_MS = 4000;

function row(name) {
  return document.querySelector(`[data-testid="check-${name}"]`);
}

function show(name, state, text) {
  const li = row(name);
  li.dataset.state = state;
  li.querySelector('.check-result').textContent = text;
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

function checkSignaling() {
  return new Promise((resolve) => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    const done = (ok) => { clearTimeout(timer); ws.close(); resolve(ok); };
    const timer = setTimeout(() => done(false), 5000);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'ping' }));
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
      return { ok: false, why: 'The TURN server gave no relay address.' };
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
    return { ok, why: ok ? '' : 'No connection.' };
  } catch (e) {
    return { ok: false, why: e.message };
  } finally {
    pc.close();
  }
}

async function run() {
  for (const name of ['signaling', 'udp', 'tcp', 'relay']) show(name, 'waiting', 'Waiting…');
  const summary = document.getElementById('check-summary');
  summary.dataset.state = 'running';
  summary.textContent = 'Checking…';

  show('signaling', 'running', 'Checking');
  let plan;
  try {
    plan = await postJson('/api/v1/check', token ? { token } : {});
  } catch (e) {
    plan = null;
  }
  const signaling = plan && await checkSignaling();
  show('signaling', signaling ? 'ok' : 'failed', signaling ? 'Works' : 'Not reachable');
  if (!signaling) {
    for (const name of ['udp', 'tcp', 'relay']) show(name, 'skipped', 'Not tested');
    return finish(summary, { signaling: false });
  }

  const results = { signaling: true };
  show('udp', 'running', 'Connecting');
  const udp = await probe('udp');
  results.udp = udp.ok;
  show('udp', udp.ok ? 'ok' : 'failed', udp.ok ? 'Works' : 'Blocked');

  if (plan.tcp) {
    show('tcp', 'running', 'Connecting');
    const tcp = await probe('tcp');
    results.tcp = tcp.ok;
    show('tcp', tcp.ok ? 'ok' : 'failed', tcp.ok ? 'Works' : 'Blocked');
  } else {
    show('tcp', 'skipped', 'Not offered by this server');
  }

  if (!plan.relay.configured) {
    show('relay', 'skipped', 'No relay on this server');
  } else if (!plan.relay.available) {
    show('relay', 'skipped', 'Open this page from your join link to test it');
  } else {
    show('relay', 'running', 'Connecting');
    const relay = await probe('relay', plan.ice_servers);
    results.relay = relay.ok;
    show('relay', relay.ok ? 'ok' : 'failed', relay.ok ? 'Works' : relay.why || 'Blocked');
  }
  return finish(summary, results);
}

function finish(summary, r) {
  let state;
  let text;
  if (!r.signaling) {
    state = 'failed';
    text = 'This browser cannot reach the Duet server at all. Check your internet connection, or ask your IT team whether this address is blocked.';
  } else if (r.udp) {
    state = 'ok';
    text = 'Your network is ready: calls will connect directly, with the best quality.';
  } else if (r.tcp || r.relay) {
    state = 'ok';
    text = 'Calls will work. Your network blocks the direct (UDP) path, so they use a fallback, which can be less smooth on a weak connection.';
  } else {
    state = 'failed';
    text = 'Calls cannot connect from this network: it blocks every media path to the server. Try another network, or ask your IT team to allow this server\'s media ports.';
  }
  summary.dataset.state = state;
  summary.textContent = text;
  document.getElementById('check-again').hidden = false;
}

document.getElementById('check-again').addEventListener('click', () => {
  document.getElementById('check-again').hidden = true;
  run();
});
run();
