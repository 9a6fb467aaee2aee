// The reflection page's one synced player: every track of the recording
// (both cameras, both voices, a shared screen) on one timeline.
//
// Each track is its own file with a start offset on the recording's clock.
// A master clock (performance.now() while playing) says where the
// recording is; every 100 ms each media element is put where that clock
// says: seeked to `t − start_offset` when it is far off, nudged with a
// slightly faster or slower playbackRate when it drifts more than 40 ms,
// paused and hidden before its start and after its end. While one of them
// is still loading, the clock waits for it, so no voice runs ahead.
//
// The files need the person's token, which a media element cannot send:
// reflect-sw.js (a service worker for /reflect only) adds it to their range
// requests, so players fetch only what they play.

import { t } from './i18n.js';
import { el } from './ui.js';

const TICK_MS = 100;
const NUDGE_S = 0.04; // drift below this is left alone
const RESEEK_S = 1; // above this, seek instead of nudging
const LEAD_S = 5; // a track starting this soon waits ready at its start

/** The worker in control of this page, answering its questions for the token; false if it cannot be had. */
export async function authorizeMedia(token) {
  if (!('serviceWorker' in navigator)) return false;
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data?.type === 'duet-reflect-token' && e.ports[0]) e.ports[0].postMessage(token);
  });
  navigator.serviceWorker.startMessages();
  try {
    await navigator.serviceWorker.register('/reflect-sw.js', { scope: '/reflect' });
  } catch {
    return false;
  }
  if (navigator.serviceWorker.controller) return true;
  // First visit: the worker claims the page as soon as it is active.
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(Boolean(navigator.serviceWorker.controller)), 10_000);
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      clearTimeout(timer);
      resolve(true);
    }, { once: true });
  });
}

export const fmtClock = (s) => {
  const t = Math.max(0, Math.floor(s || 0));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
};

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

export class SyncedPlayer {
  /**
   * `dom`: {stage, screen, play, seek, time, speed, back, forward, captions}.
   * `tracks`: the API's tracks; `people`: [{role, name}]; `onTime(t)`.
   */
  constructor(dom, { tracks, people, duration, onTime }) {
    this.dom = dom;
    this.onTime = onTime || (() => {});
    this.entries = [];
    this.playing = false;
    this.stalled = false;
    this.rate = 1;
    this.base = 0;
    this.at = performance.now();
    this.duration = duration || tracks.reduce((d, t) => Math.max(d, t.start_offset_s + t.duration_s), 0);
    this.people = people;
    this.build(tracks, people);
    this.wire();
    this.timer = setInterval(() => this.sync(), TICK_MS);
    this.sync();
  }

  build(tracks, people) {
    const { stage, screen } = this.dom;
    const tiles = new Map();
    for (const p of people) {
      const tile = el('figure', { class: 'tile', dataset: { role: p.role } },
        el('div', { class: 'tile-media' }, el('p', { class: 'tile-off' }, t('reflect/camera-off'))),
        el('figcaption', {}, p.name || p.role));
      tiles.set(p.role, tile);
      stage.append(tile);
    }
    for (const track of tracks) {
      let media;
      if (track.kind === 'audio') {
        media = el('audio', { preload: 'metadata', dataset: { role: track.role, kind: 'audio', offsetS: track.start_offset_s } });
        stage.append(media);
      } else {
        media = el('video', {
          preload: 'metadata',
          playsinline: true,
          muted: true,
          dataset: { role: track.role, kind: track.kind, offsetS: track.start_offset_s },
          'data-testid': track.kind === 'camera' ? 'reflection-video' : 'reflection-screen',
        });
        this.label(media, track.kind, track.role);
        media.muted = true; // the voices are the .ogg tracks
        if (track.kind === 'screen') screen.append(media);
        else (tiles.get(track.role)?.querySelector('.tile-media') ?? stage).append(media);
      }
      media.hidden = true;
      media.src = track.url;
      const entry = { el: media, track, offset: track.start_offset_s, dur: track.duration_s };
      media.addEventListener('loadedmetadata', () => {
        if (Number.isFinite(media.duration) && media.duration > 0) entry.dur = Math.min(entry.dur, media.duration);
      });
      this.entries.push(entry);
    }
    this.tiles = tiles;
  }

  nameOf(people, role) {
    return people.find((p) => p.role === role)?.name || role;
  }

  /** A camera's or screen's name for screen readers: "Alan's camera". */
  label(media, kind, role) {
    media.setAttribute('aria-label', t(kind === 'screen' ? 'reflect/screen-of' : 'reflect/camera-of', { name: this.nameOf(this.people, role) }));
  }

  /**
   * Its words again in the language just picked. Only text and labels:
   * the media elements, their sources and the clock stay as they are, so
   * what is playing plays on from where it was.
   */
  rewrite() {
    for (const off of this.dom.stage.querySelectorAll('.tile-off')) off.textContent = t('reflect/camera-off');
    for (const e of this.entries) {
      if (e.track.kind !== 'audio') this.label(e.el, e.track.kind, e.track.role);
      for (const track of e.el.querySelectorAll('track')) track.label = t('reflect/captions');
    }
    this.render(this.now());
  }

  wire() {
    const d = this.dom;
    d.seek.max = String(this.duration);
    d.seek.step = '0.1';
    d.play.addEventListener('click', () => this.toggle());
    d.back.addEventListener('click', () => this.skip(-10));
    d.forward.addEventListener('click', () => this.skip(10));
    d.seek.addEventListener('input', () => this.seek(Number(d.seek.value)));
    d.speed.addEventListener('change', () => this.setRate(Number(d.speed.value)));
    document.addEventListener('keydown', (e) => this.key(e));
  }

  key(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target;
    const tag = target?.tagName;
    if (tag === 'TEXTAREA' || tag === 'SELECT' || target?.isContentEditable) return;
    if (tag === 'INPUT' && target.type !== 'range') return;
    if (tag === 'INPUT' && (e.key.startsWith('Arrow'))) return; // the seek bar's own keys
    const onButton = tag === 'BUTTON' || tag === 'A' || tag === 'SUMMARY';
    switch (e.key) {
      case ' ':
        if (onButton) return; // the button's own click
        this.toggle();
        break;
      case 'k': this.toggle(); break;
      case 'j': case 'ArrowLeft': this.skip(-10); break;
      case 'l': case 'ArrowRight': this.skip(10); break;
      default: return;
    }
    e.preventDefault();
  }

  /** Where the recording is, in seconds on its clock. */
  now() {
    if (!this.playing || this.stalled) return this.base;
    return clamp(this.base + ((performance.now() - this.at) / 1000) * this.rate, 0, this.duration);
  }

  setClock(t) {
    this.base = clamp(t, 0, this.duration);
    this.at = performance.now();
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  play() {
    if (this.now() >= this.duration - 0.05) this.setClock(0);
    else this.setClock(this.now());
    this.playing = true;
    this.stalled = false;
    // Start the elements now, inside the click: browsers allow sound then.
    for (const e of this.entries) {
      const local = this.base - e.offset;
      if (local >= 0 && local < e.dur) {
        e.el.playbackRate = this.rate;
        e.el.play().catch(() => {});
      }
    }
    this.sync();
  }

  pause() {
    this.setClock(this.now());
    this.playing = false;
    for (const e of this.entries) e.el.pause();
    this.sync();
  }

  skip(ds) {
    this.seek(this.now() + ds);
  }

  seek(t) {
    this.setClock(t);
    for (const e of this.entries) {
      const local = clamp(this.base - e.offset, 0, e.dur);
      if (Math.abs(e.el.currentTime - local) > 0.02) e.el.currentTime = local;
    }
    this.sync();
  }

  setRate(r) {
    this.setClock(this.now());
    this.rate = clamp(r || 1, 0.5, 4);
    for (const e of this.entries) e.el.playbackRate = this.rate;
    this.sync();
  }

  /** Puts every element where the master clock says, and the controls with it. */
  sync() {
    let t = this.now();
    if (this.playing && t >= this.duration) {
      this.playing = false;
      this.setClock(this.duration);
      t = this.duration;
      for (const e of this.entries) e.el.pause();
    }
    let waiting = false;
    const shown = new Set();
    let screenOn = false;
    for (const e of this.entries) {
      const m = e.el;
      const local = t - e.offset;
      const active = local >= 0 && local < e.dur - 0.05;
      m.hidden = e.track.kind === 'audio' || !active;
      if (active && e.track.kind === 'camera') shown.add(e.track.role);
      if (active && e.track.kind === 'screen') screenOn = true;
      if (!active) {
        if (!m.paused) m.pause();
        // About to start (the other person joined after recording began):
        // buffer its beginning now, so it starts at once, not at its turn.
        if (local < 0 && local > -LEAD_S) {
          if (m.preload !== 'auto') m.preload = 'auto';
          if (!m.seeking && m.currentTime > 0.05) m.currentTime = 0;
        }
        continue;
      }
      if (!this.playing) {
        if (!m.paused) m.pause();
        if (!m.seeking && Math.abs(m.currentTime - local) > 0.05) m.currentTime = local;
        continue;
      }
      const drift = m.currentTime - local;
      if (!m.seeking && (Math.abs(drift) > RESEEK_S || (m.paused && Math.abs(drift) > NUDGE_S))) {
        m.currentTime = local;
        m.playbackRate = this.rate;
      } else if (Math.abs(drift) > NUDGE_S) {
        // Ahead: a little slower; behind: a little faster (at most 10 %).
        m.playbackRate = this.rate * clamp(1 - drift, 0.9, 1.1);
      } else {
        m.playbackRate = this.rate;
      }
      if (m.seeking || m.readyState < 3) waiting = true;
      if (this.stalled) {
        if (!m.paused && m.readyState >= 3 && !m.seeking) m.pause();
      } else if (m.paused && !m.ended) {
        m.play().catch(() => {});
      }
    }
    // The clock waits for an element that is loading, and goes on with all.
    if (this.playing) {
      if (waiting && !this.stalled) {
        this.base = this.now();
        this.stalled = true;
      } else if (!waiting && this.stalled) {
        this.at = performance.now();
        this.stalled = false;
        for (const e of this.entries) {
          const local = this.base - e.offset;
          if (local >= 0 && local < e.dur - 0.05 && e.el.paused) e.el.play().catch(() => {});
        }
      }
    }
    for (const [role, tile] of this.tiles) tile.dataset.camera = shown.has(role) ? 'on' : 'off';
    this.dom.screen.hidden = !screenOn;
    document.body.classList.toggle('has-screen', screenOn);
    this.render(t);
  }

  render(at) {
    const d = this.dom;
    if (document.activeElement !== d.seek || !this.playing) d.seek.value = String(at);
    d.seek.style.setProperty('--done', `${this.duration ? (at / this.duration) * 100 : 0}%`);
    d.time.textContent = `${fmtClock(at)} / ${fmtClock(this.duration)}`;
    d.play.textContent = t(this.playing ? 'reflect/pause' : 'reflect/play');
    d.play.setAttribute('aria-pressed', String(this.playing));
    d.play.dataset.state = this.playing ? (this.stalled ? 'loading' : 'playing') : 'paused';
    this.onTime(at);
  }

  /**
   * Captions from the transcript's WebVTT (a Blob URL: the file needs the
   * token): on each camera, that person's own words, moved onto the
   * camera file's clock.
   */
  addCaptions(vttUrl, people) {
    for (const e of this.entries) {
      if (e.track.kind !== 'camera') continue;
      const name = people.find((p) => p.role === e.track.role)?.name || '';
      const trackEl = el('track', { kind: 'captions', srclang: 'en', label: t('reflect/captions'), src: vttUrl, default: true });
      trackEl.addEventListener('load', () => {
        const tt = trackEl.track;
        for (const cue of [...(tt.cues || [])]) {
          if (name && !cue.text.includes(`<v ${name}`)) {
            tt.removeCue(cue);
            continue;
          }
          cue.startTime = Math.max(0, cue.startTime - e.offset);
          cue.endTime = Math.max(0, cue.endTime - e.offset);
        }
        tt.mode = this.captionsOn ? 'showing' : 'hidden';
      });
      e.el.append(trackEl);
      trackEl.track.mode = 'hidden';
    }
    this.captionsOn = true;
    this.dom.captions.hidden = false;
    this.showCaptions(true);
    this.dom.captions.addEventListener('click', () => this.showCaptions(!this.captionsOn));
  }

  showCaptions(on) {
    this.captionsOn = on;
    this.dom.captions.setAttribute('aria-pressed', String(on));
    for (const e of this.entries) {
      for (const tt of e.el.textTracks || []) tt.mode = on ? 'showing' : 'hidden';
    }
  }

  stop() {
    clearInterval(this.timer);
    for (const e of this.entries) {
      e.el.pause();
      e.el.removeAttribute('src');
      e.el.load();
    }
  }
}
