// Camera, microphone and speaker pickers, and the microphone level meter.
// The same block sits on the pre-join screen and, during the call, in the
// "Devices" panel (it is moved, not copied).

import { t } from './i18n.js';
import { $, toast } from './ui.js';

const SPEAKER_PREF = 'duet.audiooutput';
const canPickSpeaker = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;


export class DevicePickers {
  constructor(media, sinks) {
    this.media = media;
    this.sinks = sinks; // media elements whose output the speaker picker sets
    this.selects = { audio: $('mic-select'), video: $('camera-select'), speaker: $('speaker-select') };
    this.meter = { ctx: null, source: null, analyser: null, raf: 0, track: null, heardAt: 0, hintAt: 0 };

    this.selects.audio.addEventListener('change', () => this.pick('audio'));
    this.selects.video.addEventListener('change', () => this.pick('video'));
    this.selects.speaker.addEventListener('change', () => this.pickSpeaker(this.selects.speaker.value));
    navigator.mediaDevices?.addEventListener?.('devicechange', () => this.refresh());
    media.addEventListener('change', (e) => {
      if (e.detail.kind === 'audio') this.connectMeter();
      this.refresh();
    });
    media.addEventListener('state', () => this.refresh());
    // Browsers start an AudioContext suspended until the person interacts.
    const resume = () => this.meter.ctx?.state === 'suspended' && this.meter.ctx.resume().catch(() => {});
    document.addEventListener('pointerdown', resume, true);
    document.addEventListener('keydown', resume, true);
  }

  async pick(kind) {
    const id = this.selects[kind].value;
    const ok = await this.media.useDevice(kind, id);
    if (!ok) toast(t(kind === 'audio' ? 'call/microphone-open-failed' : 'call/camera-open-failed'));
    this.refresh();
  }

  async pickSpeaker(id, quiet = false) {
    if (!canPickSpeaker) return;
    try {
      await Promise.all(this.sinks.map((el) => el.setSinkId(id)));
      localStorage.setItem(SPEAKER_PREF, id);
    } catch {
      if (!quiet) toast(t('call/speaker-open-failed'));
    }
  }

  /** Re-reads the device lists (labels appear once permission is given). */
  async refresh() {
    if (!navigator.mediaDevices?.enumerateDevices) {
      this.fill('audio', [], 'unsupported');
      this.fill('video', [], 'unsupported');
      return;
    }
    let list = [];
    try {
      list = await navigator.mediaDevices.enumerateDevices();
    } catch {
      // Leave the lists as they are.
    }
    this.fill('audio', list.filter((d) => d.kind === 'audioinput'), this.media.status.audio);
    this.fill('video', list.filter((d) => d.kind === 'videoinput'), this.media.status.video);
    const outs = list.filter((d) => d.kind === 'audiooutput' && d.deviceId);
    $('speaker-field').hidden = !canPickSpeaker || outs.length === 0;
    if (canPickSpeaker && outs.length) {
      this.fillSelect(this.selects.speaker, outs, 'speaker', this.savedSpeaker());
    }
  }

  savedSpeaker() {
    try {
      return localStorage.getItem(SPEAKER_PREF) || 'default';
    } catch {
      return 'default';
    }
  }

  /** Applies the remembered speaker to the remote media elements. */
  applySavedSpeaker() {
    const id = this.savedSpeaker();
    if (canPickSpeaker && id && id !== 'default') this.pickSpeaker(id, true);
  }

  fill(kind, devices, status) {
    const select = this.selects[kind];
    const device = kind === 'audio' ? 'microphone' : 'camera';
    const usable = devices.filter((d) => d.deviceId);
    if (status !== 'ok' && status !== 'pending' && !(kind === 'video' && this.media.cameraOff)) {
      const why = ['denied', 'missing', 'busy'].includes(status) ? status : 'unavailable';
      select.replaceChildren(new Option(t(`call/${device}.${why}`), ''));
      select.disabled = usable.length === 0;
      if (usable.length) this.fillSelect(select, usable, device, '', true);
      return;
    }
    select.disabled = usable.length === 0;
    if (!usable.length) {
      select.replaceChildren(new Option(status === 'pending' ? t('call/device-starting') : t(`call/${device}.missing`), ''));
      return;
    }
    this.fillSelect(select, usable, device, this.media.deviceId(kind));
  }

  /** device: 'camera', 'microphone' or 'speaker', naming one without a label. */
  fillSelect(select, devices, device, selectedId, append = false) {
    const options = devices.map((d, i) => new Option(d.label || t(`call/${device}-n`, { n: i + 1 }), d.deviceId));
    if (append) select.append(...options);
    else select.replaceChildren(...options);
    if (selectedId && devices.some((d) => d.deviceId === selectedId)) select.value = selectedId;
  }

  /** Feeds the current microphone track to the analyser. */
  connectMeter() {
    const m = this.meter;
    const track = this.media.audio;
    if (track === m.track) return;
    m.track = track;
    m.source?.disconnect();
    m.source = null;
    if (!track) return;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    m.ctx ||= new Ctx();
    m.analyser ||= Object.assign(m.ctx.createAnalyser(), { fftSize: 512 });
    m.source = m.ctx.createMediaStreamSource(new MediaStream([track]));
    m.source.connect(m.analyser);
  }

  /** Runs the meter only while it can be seen (it costs a little CPU). */
  setMeterRunning(on) {
    const m = this.meter;
    cancelAnimationFrame(m.raf);
    m.raf = 0;
    if (!on) return;
    this.connectMeter();
    const buf = new Float32Array(512);
    const fill = $('mic-level');
    const tick = (now) => {
      let level = 0;
      if (m.analyser && m.source && this.media.audio && !this.media.micMuted) {
        m.analyser.getFloatTimeDomainData(buf);
        let sum = 0;
        for (const v of buf) sum += v * v;
        // RMS to a 0..1 bar with a gentle curve, so speech fills ~half.
        level = Math.min(1, Math.sqrt(Math.sqrt(sum / buf.length)) * 1.6);
      }
      fill.style.setProperty('--level', level.toFixed(3));
      if (level > 0.25) m.heardAt = now;
      if (now - m.hintAt > 500) {
        m.hintAt = now;
        $('mic-hint').textContent = this.hint(now);
      }
      m.raf = requestAnimationFrame(tick);
    };
    m.raf = requestAnimationFrame(tick);
  }

  hint(now) {
    const status = this.media.status.audio;
    if (status !== 'ok' && status !== 'pending') return '';
    if (this.media.micMuted) {
      return document.body.dataset.view === 'call'
        ? t('call/mic-hint-off-call')
        : t('call/mic-hint-off-prejoin');
    }
    if (now - this.meter.heardAt < 1500) return t('call/mic-hint-heard');
    return t('call/mic-hint-say');
  }
}
