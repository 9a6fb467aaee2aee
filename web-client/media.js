// The local camera and microphone. One MediaStream feeds the self-view;
// the call takes the tracks from here and is told when they change
// ("change" event, detail {kind: "audio"|"video", track|null}).
//
// Turning the camera off stops the track (the camera light goes out, as
// people expect), and turning it on opens the camera again. Muting the
// microphone only disables the track, so unmuting is instant.

const PREFS = { audio: 'duet.audioinput', video: 'duet.videoinput' };

function loadPref(kind) {
  try {
    return localStorage.getItem(PREFS[kind]) || '';
  } catch {
    return '';
  }
}

function savePref(kind, id) {
  try {
    localStorage.setItem(PREFS[kind], id || '');
  } catch {
    // Private mode: preferences are a nicety.
  }
}

/** What Duet asks of a camera or microphone (the bad-network tests' direct
 * call asks the same, to compare like with like). */
export function constraints(kind, deviceId, exact) {
  const device = deviceId ? { deviceId: exact ? { exact: deviceId } : { ideal: deviceId } } : {};
  if (kind === 'audio') {
    return { ...device, echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  }
  // 720p at most: plenty for a face, and the encoder scales down by itself
  // on a weak uplink.
  return { ...device, width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } };
}

/** What a getUserMedia failure means for the person. */
export function classify(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'missing';
    case 'NotReadableError':
    case 'AbortError':
      return 'busy';
    default:
      return 'error';
  }
}

export class LocalMedia extends EventTarget {
  constructor() {
    super();
    this.stream = new MediaStream();
    this.audio = null;
    this.camera = null;
    this.micMuted = false;
    this.cameraOff = false;
    // 'ok' | 'denied' | 'missing' | 'busy' | 'error' | 'unsupported' | 'pending'
    this.status = { audio: 'pending', video: 'pending' };
  }

  get supported() {
    return Boolean(navigator.mediaDevices?.getUserMedia);
  }

  /** Ask for both; if that fails, find out which of the two works alone. */
  async start() {
    if (!this.supported) {
      this.status = { audio: 'unsupported', video: 'unsupported' };
      return this.status;
    }
    try {
      const s = await navigator.mediaDevices.getUserMedia({
        audio: constraints('audio', loadPref('audio')),
        video: this.cameraOff ? false : constraints('video', loadPref('video')),
      });
      s.getTracks().forEach((t) => this.setTrack(t.kind, t));
      this.status.audio = 'ok';
      if (!this.cameraOff) this.status.video = 'ok';
    } catch {
      await this.acquire('audio');
      if (!this.cameraOff) await this.acquire('video');
    }
    return this.status;
  }

  /** Gets one kind alone; records the outcome in status. */
  async acquire(kind, deviceId = loadPref(kind), exact = false) {
    if (!this.supported) return null;
    try {
      const s = await navigator.mediaDevices.getUserMedia({ [kind]: constraints(kind, deviceId, exact) });
      const track = s.getTracks()[0];
      this.setTrack(kind, track);
      this.status[kind] = 'ok';
      return track;
    } catch (e) {
      this.status[kind] = classify(e);
      return null;
    }
  }

  /** Installs a track (or none) for a kind and tells listeners. */
  setTrack(kind, track) {
    const old = kind === 'audio' ? this.audio : this.camera;
    if (old && old !== track) {
      old.onended = null;
      old.stop();
      this.stream.removeTrack(old);
    }
    if (kind === 'audio') this.audio = track;
    else this.camera = track;
    if (track) {
      if (kind === 'audio') track.enabled = !this.micMuted;
      if (kind === 'video') track.contentHint = 'motion';
      this.stream.addTrack(track);
      // Unplugged, or revoked in the browser's site settings.
      track.onended = () => {
        if ((kind === 'audio' ? this.audio : this.camera) !== track) return;
        this.setTrack(kind, null);
        this.status[kind] = 'missing';
        this.dispatchEvent(new CustomEvent('lost', { detail: { kind } }));
      };
    }
    this.dispatchEvent(new CustomEvent('change', { detail: { kind, track } }));
  }

  /** The device a kind currently uses ('' when unknown). */
  deviceId(kind) {
    const t = kind === 'audio' ? this.audio : this.camera;
    return t?.getSettings?.().deviceId || loadPref(kind);
  }

  /** Switch to another camera or microphone, keeping mute/off state. */
  async useDevice(kind, deviceId) {
    savePref(kind, deviceId);
    if (kind === 'video' && this.cameraOff) return true;
    const current = kind === 'audio' ? this.audio : this.camera;
    if (current?.getSettings?.().deviceId === deviceId) return true;
    let track = await this.acquire(kind, deviceId, true);
    if (!track && current && this.status[kind] === 'busy') {
      // Phones often cannot open a second camera while one is open.
      this.setTrack(kind, null);
      track = await this.acquire(kind, deviceId, true);
    }
    return Boolean(track);
  }

  /** Microphone mute. Unmuting without a microphone tries to get one. */
  async setMicMuted(muted) {
    this.micMuted = muted;
    if (this.audio) this.audio.enabled = !muted;
    else if (!muted) await this.acquire('audio');
    if (!this.audio) this.micMuted = true;
    this.dispatchEvent(new CustomEvent('state'));
    return this.micMuted;
  }

  /** Camera off stops the camera; on opens it again. */
  async setCameraOff(off) {
    this.cameraOff = off;
    if (off) this.setTrack('video', null);
    else if (!this.camera) await this.acquire('video');
    if (!this.camera) this.cameraOff = true;
    this.dispatchEvent(new CustomEvent('state'));
    return this.cameraOff;
  }

  /** What the other side should be told: true means live. */
  get live() {
    return {
      audio: Boolean(this.audio && !this.micMuted),
      video: Boolean(this.camera && !this.cameraOff),
    };
  }

  stopAll() {
    this.setTrack('audio', null);
    this.setTrack('video', null);
  }
}
