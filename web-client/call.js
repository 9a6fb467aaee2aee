// One RTCPeerConnection to Duet's SFU (docs/protocol.md, "Media
// negotiation"): three sendrecv transceivers in a fixed order — audio,
// camera, screen — so incoming media is identified by the transceiver it
// arrives on. The client always offers; Duet answers. Mute, camera and
// screen changes use replaceTrack and never renegotiate.
//
// It also owns ICE recovery: an ICE restart on the same socket when the
// path breaks, and a "giveup" event when that does not help, after which
// the app starts over with a fresh socket and a fresh connection.

// A forced restart (media stopped while ICE says connected) at most this
// often: a restart that did not help is not repeated in a loop.
const FORCED_RESTART_EVERY_MS = 8000;
const RESTART_TIMEOUT_MS = 10000;
const FIRST_CONNECT_TIMEOUT_MS = 15000;
const STATS_EVERY_MS = 1000;

/**
 * Events: "state" (connectionState changed), "stats" (detail: {remotePackets, pathBytes,
 * rtt, loss}), "giveup" (ICE could not be recovered on this connection).
 */
export class PeerLink extends EventTarget {
  constructor({ iceServers, send, canSignal, tracks }) {
    super();
    this.send = send;
    this.canSignal = canSignal;
    this.pc = new RTCPeerConnection({ iceServers: iceServers || [], bundlePolicy: 'max-bundle' });
    this.chain = Promise.resolve();
    this.queuedCandidates = [];
    this.offering = true; // candidates wait until the first offer is out
    this.remoteCandidates = [];
    this.timers = {};
    this.closed = false;
    this.lastStats = null;

    // Audio first, with priority: speech matters most on a weak link.
    this.tx = {
      audio: this.pc.addTransceiver(tracks.audio || 'audio', {
        direction: 'sendrecv',
        sendEncodings: [{ priority: 'high', networkPriority: 'high' }],
      }),
      video: this.pc.addTransceiver(tracks.video || 'video', { direction: 'sendrecv' }),
      screen: this.pc.addTransceiver('video', { direction: 'sendrecv' }),
    };
    if (tracks.screen) this.tx.screen.sender.replaceTrack(tracks.screen);

    // The receivers' tracks exist from the start; media appears on them
    // once Duet forwards it. The camera stream carries the audio too,
    // because remote audio only plays through a playing media element.
    this.cameraStream = new MediaStream([this.tx.audio.receiver.track, this.tx.video.receiver.track]);
    this.screenStream = new MediaStream([this.tx.screen.receiver.track]);

    this.pc.onicecandidate = ({ candidate }) => {
      const msg = { type: 'candidate', candidate: candidate ? candidate.toJSON() : null };
      if (this.offering) this.queuedCandidates.push(msg);
      else this.send(msg);
    };
    this.pc.onconnectionstatechange = () => this.onState();
    this.statsTimer = setInterval(() => this.readStats(), STATS_EVERY_MS);
  }

  get state() {
    return this.pc.connectionState;
  }

  /** Runs SDP steps one after another; a failure is reported, not thrown. */
  queue(step) {
    this.chain = this.chain.then(() => (this.closed ? null : step())).catch((e) => {
      if (!this.closed) this.dispatchEvent(new CustomEvent('problem', { detail: e }));
    });
    return this.chain;
  }

  offer({ iceRestart = false } = {}) {
    return this.queue(async () => {
      this.offering = true;
      const offer = await this.pc.createOffer({ iceRestart });
      await this.pc.setLocalDescription(offer);
      this.send({ type: 'offer', sdp: this.pc.localDescription.sdp });
      this.offering = false;
      // Candidates gathered meanwhile go out after their offer.
      this.queuedCandidates.splice(0).forEach((m) => this.send(m));
      if (!iceRestart) this.arm('first', FIRST_CONNECT_TIMEOUT_MS, () => this.restart());
    });
  }

  answer(sdp) {
    return this.queue(async () => {
      if (this.pc.signalingState !== 'have-local-offer') return;
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
      await this.flushRemoteCandidates();
    });
  }

  /** Duet may start a renegotiation one day; answer it (we yield on glare). */
  remoteOffer(sdp) {
    return this.queue(async () => {
      if (this.pc.signalingState !== 'stable') await this.pc.setLocalDescription({ type: 'rollback' });
      await this.pc.setRemoteDescription({ type: 'offer', sdp });
      await this.pc.setLocalDescription();
      this.send({ type: 'answer', sdp: this.pc.localDescription.sdp });
      await this.flushRemoteCandidates();
    });
  }

  candidate(init) {
    if (!init || !init.candidate) return; // end of candidates: nothing to do
    this.remoteCandidates.push(init);
    if (this.pc.remoteDescription) this.queue(() => this.flushRemoteCandidates());
  }

  async flushRemoteCandidates() {
    for (const c of this.remoteCandidates.splice(0)) {
      try {
        await this.pc.addIceCandidate(c);
      } catch {
        // A candidate for an old ICE generation: harmless.
      }
    }
  }

  /**
   * Low-bandwidth mode: the camera sent at a quarter of its pixels and
   * 150 kbit/s at most, so audio keeps its share of a weak uplink.
   * Audio and a shared screen are left alone.
   */
  async limitVideo(low) {
    if (this.closed) return;
    const sender = this.tx.video.sender;
    try {
      const p = sender.getParameters();
      if (!p.encodings?.length) p.encodings = [{}];
      if (low) {
        p.encodings[0].maxBitrate = 150_000;
        p.encodings[0].scaleResolutionDownBy = 2;
      } else {
        delete p.encodings[0].maxBitrate;
        p.encodings[0].scaleResolutionDownBy = 1;
      }
      await sender.setParameters(p);
    } catch {
      // Before negotiation there are no encodings yet; applied again once connected.
    }
  }

  /** kind: "audio" | "video" | "screen"; track may be null (send nothing). */
  async replaceTrack(kind, track) {
    if (this.closed) return;
    const sender = this.tx[kind].sender;
    if (sender.track === track) return;
    await sender.replaceTrack(track);
    if (kind === 'screen' && track) {
      // Text on a shared screen must stay sharp; let the frame rate drop instead.
      try {
        const p = sender.getParameters();
        p.degradationPreference = 'maintain-resolution';
        await sender.setParameters(p);
      } catch {
        // Not supported everywhere; contentHint "detail" does most of it.
      }
    }
  }

  onState() {
    const s = this.pc.connectionState;
    if (s === 'connected') {
      this.disarm('first');
      this.disarm('restart');
      this.restarting = false;
    } else if (s === 'disconnected') {
      // At once: waiting first only adds to the frozen picture, and a
      // restart on a path that comes back by itself costs one round trip.
      this.restart();
    } else if (s === 'failed') {
      this.restart();
    }
    this.dispatchEvent(new CustomEvent('state'));
  }

  /** Whether we are actively trying to recover the media path. */
  get recovering() {
    return this.restarting || this.pc.connectionState === 'disconnected' || this.pc.connectionState === 'failed';
  }

  /**
   * ICE restart on the same socket; if it does not work, give up. `force`
   * restarts a path ICE still calls connected: after an address change
   * (Wi-Fi to 4G) the server answers our checks from the new address while
   * its media still goes to the old one, so only the stopped packets tell.
   */
  restart({ force = false } = {}) {
    if (this.closed || this.restarting) return;
    if (this.pc.connectionState === 'connected' && !force) return;
    if (force) {
      const now = Date.now();
      if (now - (this.lastForced || 0) < FORCED_RESTART_EVERY_MS) return;
      this.lastForced = now;
    }
    if (!this.canSignal()) return; // the socket's own reconnect starts over anyway
    this.restarting = true;
    this.restartedAt = Date.now();
    this.dispatchEvent(new CustomEvent('state'));
    this.offer({ iceRestart: true });
    this.arm('restart', RESTART_TIMEOUT_MS, () => {
      this.restarting = false;
      if (this.pc.connectionState !== 'connected') this.dispatchEvent(new CustomEvent('giveup'));
    });
  }

  /** Seconds left before a restart that has not worked gives up; null when none runs. */
  get restartLeftS() {
    if (!this.restarting || !this.restartedAt) return null;
    return Math.max(0, Math.ceil((this.restartedAt + RESTART_TIMEOUT_MS - Date.now()) / 1000));
  }

  /** Media arrives again: a forced restart (ICE stayed connected) is over. */
  mediaResumed() {
    if (!this.restarting || this.pc.connectionState !== 'connected') return;
    this.disarm('restart');
    this.restarting = false;
    this.dispatchEvent(new CustomEvent('state'));
  }

  arm(name, ms, fn) {
    clearTimeout(this.timers[name]);
    this.timers[name] = setTimeout(() => !this.closed && fn(), ms);
  }

  disarm(name) {
    clearTimeout(this.timers[name]);
  }

  /** Incoming packets (to tell "connected" from "connected but silent") and link quality. */
  async readStats() {
    if (this.closed) return;
    let report;
    try {
      report = await this.pc.getStats();
    } catch {
      return;
    }
    let received = 0;
    let lost = 0;
    let rtt = null;
    let pathBytes = 0;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind) {
        received += s.packetsReceived || 0;
        lost += Math.max(0, s.packetsLost || 0);
      } else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        if (typeof s.currentRoundTripTime === 'number') rtt = s.currentRoundTripTime;
        pathBytes += s.bytesReceived || 0;
      }
    });
    const prev = this.lastStats;
    this.lastStats = { received, lost };
    let loss = 0;
    if (prev) {
      const r = received - prev.received;
      const l = lost - prev.lost;
      loss = r + l > 0 ? l / (r + l) : 0;
    }
    // Any packet from the other person (audio, camera or screen) counts.
    // `pathBytes`: everything the server sent on our path, its feedback on
    // what we send included, which goes on when only the other person's
    // media stops.
    this.dispatchEvent(new CustomEvent('stats', { detail: { remotePackets: received, pathBytes, rtt, loss } }));
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.statsTimer);
    Object.values(this.timers).forEach(clearTimeout);
    this.pc.onicecandidate = this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
