// The WebSocket to Duet (docs/protocol.md). It joins with the link's token
// on every (re)connection and reconnects by itself with backoff, because a
// hotel Wi-Fi drops TCP connections far more often than people leave calls.
// The app decides when to give up (stop()), e.g. after `replaced`.

const PING_EVERY_MS = 5000;
// A ping with nothing at all back for this long means the socket is dead
// even if the browser has not noticed (a Wi-Fi change can leave a TCP
// connection hanging for minutes). Measured from the ping, not from the
// last frame, so that timers throttled in a background tab do not look
// like silence.
const PONG_TIMEOUT_MS = 10000;
const OPEN_TIMEOUT_MS = 10000;

/** 0.5 s, 1 s, 2 s, 4 s, 8 s, 10 s…, each ±25 % so that both people do not retry in lockstep. */
export function backoffDelay(attempt) {
  const base = Math.min(10000, 500 * 2 ** attempt);
  return Math.min(10000, Math.round(base * (0.75 + Math.random() * 0.5)));
}

export function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/api/v1/ws`;
}

/**
 * Events: "message" (detail: the parsed server message), "connecting"
 * (a socket is being opened), "down" (detail: {delay}; the socket was lost
 * and a retry is scheduled).
 */
export class Signaling extends EventTarget {
  constructor(token, name) {
    super();
    this.token = token;
    this.name = name;
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.joined = false;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.pingSentAt = 0;
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  /** No more reconnecting: after leave, session_ended, replaced, a refused join. */
  stop() {
    this.stopped = true;
    this.joined = false;
    clearTimeout(this.retryTimer);
    this.drop();
  }

  /** The server admitted us: the next loss starts again from a short delay. */
  markJoined() {
    this.joined = true;
    this.attempt = 0;
  }

  /** Throw away the current socket and join again at once (a fresh start). */
  reconnectNow() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.drop();
    this.open();
  }

  /** The network came back: skip the rest of the backoff wait. */
  nudge() {
    if (this.stopped) return;
    if (!this.ws) {
      clearTimeout(this.retryTimer);
      this.open();
    } else {
      this.keepAlive();
    }
  }

  send(msg) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  open() {
    this.joined = false;
    this.dispatchEvent(new CustomEvent('connecting'));
    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch {
      this.lost();
      return;
    }
    this.ws = ws;
    const openTimer = setTimeout(() => ws === this.ws && this.lost(), OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(openTimer);
      if (ws !== this.ws) return;
      this.pingSentAt = 0;
      const join = { type: 'join', token: this.token };
      if (this.name) join.name = this.name;
      ws.send(JSON.stringify(join));
      this.pingTimer = setInterval(() => this.keepAlive(), PING_EVERY_MS);
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.pingSentAt = 0; // anything from the server proves the socket alive
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg?.type === 'pong') return;
      this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    };
    ws.onclose = () => {
      clearTimeout(openTimer);
      if (ws === this.ws) this.lost();
    };
    // An error is always followed by close; nothing to do here.
    ws.onerror = () => {};
  }

  keepAlive() {
    if (this.pingSentAt && Date.now() - this.pingSentAt > PONG_TIMEOUT_MS) {
      this.lost();
      return;
    }
    if (!this.pingSentAt && this.send({ type: 'ping' })) this.pingSentAt = Date.now();
  }

  /** Detach and close the current socket without reacting to its close. */
  drop() {
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000);
      } catch {
        // Already closed.
      }
    }
  }

  lost() {
    this.drop();
    this.joined = false;
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++);
    this.dispatchEvent(new CustomEvent('down', { detail: { delay } }));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }
}
