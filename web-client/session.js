// Being in the call: the signaling socket, the peer connection, and what
// the other person is doing. It keeps a few facts and re-renders the
// status and the stage from them after every event.
//
// Recovery: a lost socket reconnects by itself (signaling.js); each
// `joined` — first or after a reconnect — gets a fresh RTCPeerConnection
// that reuses the local tracks and offers again. The old connection keeps
// playing until then, since media often survives a dropped TCP socket.

import { PeerLink } from './call.js';
import { Captions } from './captions.js';
import { Chat } from './chat.js';
import { locale, t } from './i18n.js';
import { FATAL, LINK_DEAD, refusalText, serverText } from './messages.js';
import { QualityView } from './quality.js';
import { Recording } from './recording.js';
import { Signaling } from './signaling.js';
import { renderStatus } from './status.js';
import { $, announce, play, setTitle, toast } from './ui.js';
import { VideoPausedView } from './video-paused.js';

// Without a packet from a sending peer this long, the path is rebuilt.
// Their audio alone is ~50 packets a second; a second of nothing is no
// ordinary loss.
const STALL_MS = 1000;
// Stats come once a second (call.js), each after a getStats() call whose
// delay varies: in headless Chromium 2 of 20 gaps between ticks were under
// 1000 ms (977, 998). Held to the full STALL_MS, such a tick did not count
// and the restart waited a whole second more; a quarter-tick of slack
// lets the first silent tick restart.
const STALL_SLACK_MS = 250;

export class Session {
  /**
   * hooks: {onJoined(), onRefused(code, text), onEnded(kind, text)}
   * info: the pre-join preview (may be null if it could not be fetched)
   */
  constructor({ token, media, stage, info, hooks }) {
    this.media = media;
    this.stage = stage;
    this.info = info;
    this.hooks = hooks;
    this.signaling = new Signaling(token, '');
    this.link = null;
    this.me = null;
    this.phase = 'prejoin';
    this.peer = null;
    this.peerGone = null;
    this.ended = null;
    this.flowing = false;
    this.flowMark = 0;
    this.lastPackets = 0;
    this.badTicks = 0;
    this.screenTrack = null;
    this.quality = new QualityView();
    this.videoPaused = new VideoPausedView();
    this.localBad = false;
    this.lowBandwidth = false;

    const send = (m) => this.signaling.joined && this.signaling.send(m);
    this.chat = new Chat({ send, myRole: () => this.me?.role, onIncoming: () => hooks.onChat?.() });
    this.chat.myName = () => this.me?.name || '';
    this.recording = new Recording({
      send,
      myRole: () => this.me?.role,
      peerName: () => this.peerName(),
      // Survives a reload of this tab, so the end screen still links to
      // what was recorded before it.
      rememberKey: token ? `duet.recorded.${token.slice(-24)}` : null,
    });

    this.captions = new Captions({
      send,
      myRole: () => this.me?.role,
      peerName: () => this.peerName(),
    });

    this.signaling.addEventListener('message', (e) => this.onMessage(e.detail));
    this.signaling.addEventListener('down', () => {
      this.retrying = true;
      this.render();
    });
    media.addEventListener('change', (e) => this.onLocalTrack(e.detail.kind, e.detail.track));
    media.addEventListener('lost', (e) => {
      toast(t(e.detail.kind === 'audio' ? 'call/microphone-disconnected' : 'call/camera-disconnected'));
    });
    // Back on the network, or back from a sleeping laptop: check the
    // socket now and repair the media path now, not after the backoff.
    window.addEventListener('online', () => {
      this.signaling.nudge();
      this.link?.restart();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.signaling.nudge();
    });
  }

  peerName() {
    return this.peer?.name || this.info?.peer?.name || '';
  }

  facts() {
    return {
      phase: this.phase,
      joined: this.signaling.joined,
      retrying: this.retrying,
      pcState: this.link?.state,
      // Our media path is being rebuilt (ICE restart, or a fresh
      // connection after a drop) — as opposed to connecting the first time.
      recovering: Boolean(this.link?.recovering || (this.rebuilding && this.link?.state !== 'connected')),
      peer: this.peer,
      peerGone: this.peerGone,
      peerName: this.peerName(),
      flowing: this.flowing,
      ended: this.ended,
      errorText: this.errorText,
    };
  }

  render() {
    const facts = this.facts();
    renderStatus(facts);
    this.quality.setCall({
      role: this.me?.role || null,
      peerName: this.peer ? this.peerName() : null,
      active: this.phase === 'call',
    });
    this.quality.fromPage({ bad: this.localBad, recovering: facts.recovering || this.retrying });
    this.videoPaused.setCall({
      role: this.me?.role || null,
      peerName: this.peer ? this.peerName() : null,
      active: this.phase === 'call',
    });
    this.showReconnecting(facts);
  }

  /** Over the other person's picture while our path is rebuilt, with the time it is given. */
  showReconnecting(facts) {
    const box = $('reconnecting');
    const on = this.phase === 'call' && Boolean(this.peer) && (facts.recovering || !facts.joined);
    box.hidden = !on;
    if (!on) return;
    const left = this.link?.restartLeftS;
    $('reconnecting-text').textContent = left == null
      ? t('call/reconnecting')
      : left > 0 ? t('call/reconnecting-for', { seconds: left }) : t('call/reconnecting-fresh');
  }

  join(name) {
    this.phase = 'joining';
    this.retrying = false;
    this.ended = null;
    this.errorText = '';
    this.signaling.name = name;
    this.signaling.start();
    this.render();
  }

  onMessage(msg) {
    switch (msg.type) {
      case 'joined': return this.onJoined(msg);
      case 'answer': return this.link?.answer(msg.sdp);
      case 'offer': return this.link?.remoteOffer(msg.sdp);
      case 'candidate': return this.link?.candidate(msg.candidate);
      case 'peer_joined':
        announce(t('call/announce-joined', { name: msg.peer?.name || t('the-other-person') }));
        return this.setPeer(msg.peer, null);
      case 'peer_left':
        if (this.peer && msg.peer?.id === this.peer.id) {
          announce(t(msg.reason === 'left' ? 'call/announce-left' : 'call/announce-dropped', { name: this.peerName() || t('the-other-person') }));
        }
        return this.setPeer(null, msg.reason === 'left' ? 'left' : 'disconnected', msg.peer);
      case 'peer_media':
        if (this.peer && msg.peer === this.peer.id) {
          this.announceMedia(this.peer.media, msg);
          this.peer.media = { audio: msg.audio, video: msg.video, screen: msg.screen };
          this.stage.setPeerMedia(this.peer.media);
          this.render();
        }
        return undefined;
      case 'chat': return this.chat.receive(msg);
      case 'recording': return this.recording.update(msg);
      case 'captions': return this.captions.update(msg);
      case 'caption': return this.captions.caption(msg);
      case 'quality': return this.quality.fromServer(msg);
      case 'video_paused': return this.videoPaused.fromServer(msg);
      // Another server of the deployment takes the call: join again at
      // once, as after a lost connection, and the call goes on there.
      case 'session_ended': return msg.reason === 'moved' ? this.signaling.reconnectNow() : this.end(msg.reason || 'ended');
      case 'server_draining': return toast(locale() === 'en' && msg.message ? msg.message : t('call/server-draining'));
      case 'error': return this.onError(msg);
      default: return undefined;
    }
  }

  /** Tells screen readers what the other person turned on or off. */
  announceMedia(before, now) {
    const name = this.peerName() || t('the-other-person');
    // One sentence per change: joining clauses with "and" does not
    // translate, whole sentences do.
    const said = [];
    if (before.audio !== now.audio) said.push(now.audio ? 'call/announce-mic-on' : 'call/announce-mic-off');
    if (before.video !== now.video) said.push(now.video ? 'call/announce-camera-on' : 'call/announce-camera-off');
    if (before.screen !== now.screen) said.push(now.screen ? 'call/announce-screen-on' : 'call/announce-screen-off');
    if (said.length) announce(said.map((key) => t(key, { name })).join(' '));
  }

  onJoined(msg) {
    this.signaling.markJoined();
    this.retrying = false;
    this.me = msg.you;
    // A new connection gets video until the server says otherwise.
    this.videoPaused.reset();
    setTitle(msg.session?.title);
    this.recording.update(msg.recording || {});
    const first = this.phase !== 'call';
    this.phase = 'call';
    this.recording.setActive(true);
    this.captions.setActive(true);
    this.setPeer(msg.peer, this.peer ? null : this.peerGone);
    this.startPeerLink(msg.ice_servers);
    this.sendMedia();
    // The server forgets the mode with the connection; say it again.
    if (this.lowBandwidth) this.signaling.send({ type: 'low_bandwidth', on: true });
    if (first) this.hooks.onJoined();
    this.render();
  }

  startPeerLink(iceServers) {
    this.rebuilding = Boolean(this.link);
    this.link?.close();
    const link = new PeerLink({
      iceServers,
      send: (m) => this.signaling.send(m),
      canSignal: () => this.signaling.joined,
      tracks: { audio: this.media.audio, video: this.media.live.video ? this.media.camera : null, screen: this.screenTrack },
    });
    this.link = link;
    window.duet.pc = link.pc;
    this.flowing = false;
    this.flowMark = 0;
    this.lastPackets = 0;
    this.lastGrowth = 0;
    link.addEventListener('state', () => {
      if (link.state === 'connected' && this.lowBandwidth) link.limitVideo(true);
      if (link.state === 'connected') {
        this.rebuilding = false;
        this.problems = 0;
      }
      this.render();
    });
    link.addEventListener('stats', (e) => this.onStats(e.detail));
    link.addEventListener('giveup', () => this.signaling.reconnectNow());
    link.addEventListener('problem', () => {
      // A negotiation this browser cannot complete will not fix itself by
      // looping: try a fresh start a few times, then say so.
      this.problems = (this.problems || 0) + 1;
      if (this.problems > 3) {
        this.end('error', t('call/setup-failed'));
        return;
      }
      toast(t('call/media-problem'));
      this.signaling.reconnectNow();
    });
    this.stage.setStreams(link.cameraStream, link.screenStream);
    this.playRemote();
    link.offer();
  }

  /** Remote sound needs a playing element; a reload without a click may be refused autoplay. */
  async playRemote() {
    const video = $('remote-video');
    if (await play(video)) return;
    // Refused with sound: show the picture muted and offer the sound.
    video.muted = true;
    play(video);
    const button = $('sound-unlock');
    button.hidden = false;
    button.onclick = async () => {
      video.muted = false;
      button.hidden = await play(video);
      if (!button.hidden) video.muted = true;
    };
  }

  setPeer(peer, gone, lastSeen) {
    const changed = peer?.id !== this.peer?.id;
    // A late notice about someone who is already gone or already replaced.
    if (lastSeen && (!this.peer || lastSeen.id !== this.peer.id)) return;
    this.peer = peer ? { ...peer, media: { ...peer.media } } : null;
    this.peerGone = peer ? null : gone;
    if (changed) {
      // A new (or returning) person: wait for their media before "connected".
      this.flowing = false;
      this.flowMark = this.lastPackets;
    }
    // Chat is relayed, not stored: what was typed while either of us was
    // away goes out once they are here to receive it.
    if (this.peer && this.signaling.joined) this.chat.flush();
    this.stage.setPeer(this.peer, this.peerGone);
    this.render();
  }

  /** "Connected" waits until the other person's media actually arrives. */
  onStats({ remotePackets, pathBytes = 0, rtt, loss }) {
    const grew = remotePackets > this.lastPackets;
    this.lastPackets = remotePackets;
    // The server's feedback on what we send still arriving means our own
    // path works: it is the other person's media that stopped (their
    // network moved), and restarting ours would only cut what they get
    // from us while they recover.
    const pathAlive = pathBytes > (this.lastPathBytes ?? 0);
    this.lastPathBytes = pathBytes;
    const m = this.peer?.media;
    const sendsNothing = m && !m.audio && !m.video && !m.screen;
    // The other person sends, ICE says connected, yet nothing came for
    // STALL_MS: our path moved under us (a new network) — restart ICE now
    // rather than wait ~30 s for the server's side to call it failed.
    const now = Date.now();
    if (grew || !this.lastGrowth) {
      this.lastGrowth = now;
      if (grew) this.link?.mediaResumed();
    } else if (this.peer && this.flowing && !sendsNothing && !pathAlive && this.link?.state === 'connected'
      && now - this.lastGrowth >= STALL_MS - STALL_SLACK_MS) {
      this.link.restart({ force: true });
    }
    if (this.peer && !this.flowing && (remotePackets > this.flowMark || sendsNothing)) {
      this.flowing = true;
      this.render();
    }
    // Poor network hint: sustained loss or delay, shown after a few seconds.
    const bad = this.link?.state === 'connected' && ((rtt ?? 0) > 0.5 || loss > 0.08);
    this.badTicks = bad ? Math.min(this.badTicks + 1, 10) : Math.max(this.badTicks - 1, 0);
    if (this.badTicks >= 4) this.localBad = true;
    else if (this.badTicks === 0) this.localBad = false;
    this.render();
  }

  onError(msg) {
    const code = msg.code;
    if (FATAL.has(code)) {
      const text = refusalText(code, { role: this.info?.you?.role });
      if (code === 'replaced') return this.end('replaced', text);
      if (this.phase === 'joining') {
        // Refused at the door: back to the pre-join screen with the reason.
        this.signaling.stop();
        this.phase = 'prejoin';
        this.errorText = text;
        this.render();
        this.hooks.onRefused(code, text);
        return undefined;
      }
      // Refused on a reconnect: the call cannot go on.
      return this.end(LINK_DEAD.has(code) ? code : 'error', text);
    }
    // The server's detail is English: other languages get the page's own sentence.
    const detail = locale() === 'en' ? msg.message : null;
    if (code === 'recording_unavailable') return this.recording.refused(detail);
    if (code === 'captions_unavailable') return this.captions.refused(detail);
    if (code === 'invalid_field') {
      this.chat.rejectOldestPending();
      return toast(serverText(code, msg.message));
    }
    // timeout, unavailable, internal close the socket: the reconnect loop
    // takes over. Anything else is a non-fatal notice.
    if (!['timeout', 'unavailable', 'internal'].includes(code)) toast(serverText(code, msg.message));
    return undefined;
  }

  /**
   * Low-bandwidth mode: this page sends low-resolution video, and the
   * server caps the other person's video to it. Audio is never touched.
   */
  setLowBandwidth(on) {
    this.lowBandwidth = on;
    if (this.signaling.joined) this.signaling.send({ type: 'low_bandwidth', on });
    this.link?.limitVideo(on);
  }

  sendMedia() {
    const live = this.media.live;
    this.signaling.joined && this.signaling.send({
      type: 'media', audio: live.audio, video: live.video, screen: Boolean(this.screenTrack),
    });
  }

  onLocalTrack(kind, track) {
    if (this.link) this.link.replaceTrack(kind, track).catch(() => {});
    this.sendMedia();
  }

  async toggleMic() {
    const muted = await this.media.setMicMuted(!this.media.micMuted);
    if (!muted) this.link?.replaceTrack('audio', this.media.audio).catch(() => {});
    this.sendMedia();
    return muted;
  }

  async toggleCamera() {
    const off = await this.media.setCameraOff(!this.media.cameraOff);
    this.sendMedia();
    return off;
  }

  async startShare() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    } catch (e) {
      if (e?.name !== 'NotAllowedError' && e?.name !== 'AbortError') toast(t('call/share-failed'));
      return false;
    }
    const track = stream.getVideoTracks()[0];
    if (!track) return false;
    track.contentHint = 'detail';
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener('ended', () => this.stopShare());
    this.screenTrack = track;
    await this.link?.replaceTrack('screen', track).catch(() => {});
    this.sendMedia();
    this.hooks.onShareChange?.(true);
    return true;
  }

  stopShare() {
    const track = this.screenTrack;
    if (!track) return;
    this.screenTrack = null;
    track.stop();
    this.link?.replaceTrack('screen', null).catch(() => {});
    this.sendMedia();
    this.hooks.onShareChange?.(false);
  }

  leave() {
    this.signaling.send({ type: 'leave' });
    this.end('left');
  }

  /** The call is over for this page: no reconnecting, camera released. */
  end(kind, text) {
    this.signaling.stop();
    this.stopShare();
    this.link?.close();
    this.link = null;
    this.rebuilding = false;
    window.duet.pc = null;
    this.media.stopAll();
    this.peer = null;
    this.peerGone = null;
    this.recording.setActive(false);
    this.captions.setActive(false);
    this.phase = kind === 'error' ? 'error' : 'ended';
    this.ended = kind;
    this.errorText = text || '';
    this.render();
    this.hooks.onEnded(kind, text);
  }
}
