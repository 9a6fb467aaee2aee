// The call stage: the other person large (or their shared screen large and
// their camera small), yourself small. Placeholders say why there is no
// picture: nobody there yet, their connection dropped, camera off.

import { t } from './i18n.js';
import { $, initials } from './ui.js';

export class Stage {
  constructor() {
    this.remoteVideo = $('remote-video');
    this.screenVideo = $('remote-screen');
    this.localVideo = $('local-video');
    this.peer = null;
    this.expectedPeer = '';
    this.gone = null;
    for (const ev of ['resize', 'loadedmetadata', 'emptied', 'playing']) {
      this.remoteVideo.addEventListener(ev, () => this.renderRemote());
    }
  }

  /** Moves the self-view (and its badges) to the pre-join preview or the call tile. */
  attachSelf(where) {
    const slot = $(where === 'call' ? 'self-slot' : 'preview-slot');
    const parts = [this.localVideo, $('self-placeholder'), $('self-muted')];
    if (parts[0].parentElement !== slot) slot.prepend(...parts);
    this.localVideo.play().catch(() => {});
  }

  /**
   * The self-view shows the stream only while it has a camera track: a media
   * element waiting on a stream that never delivers a frame holds back the
   * page's load event (and looks broken).
   */
  setLocalStream(stream) {
    const want = stream.getVideoTracks().length ? stream : null;
    if (this.localVideo.srcObject !== want) this.localVideo.srcObject = want;
    if (want) this.localVideo.play().catch(() => {});
  }

  /**
   * live: {audio, video}; status: {audio, video} from LocalMedia
   * ('ok', 'denied', 'missing'…); name for the avatar.
   */
  renderSelf(live, status, name) {
    // A device that fails says why; one merely switched off says so.
    const why = { denied: 'denied', missing: 'missing', busy: 'busy', unsupported: 'unavailable', error: 'unavailable' };
    $('self-placeholder').hidden = live.video;
    $('self-placeholder-text').textContent = why[status.video] ? t(`call/camera.${why[status.video]}`) : t('call/self-camera-off');
    $('self-avatar').textContent = initials(name);
    $('self-muted').hidden = live.audio;
    $('self-muted-text').textContent = why[status.audio] ? t(`call/microphone.${why[status.audio]}`) : t('call/self-muted');
  }

  setStreams(cameraStream, screenStream) {
    if (this.remoteVideo.srcObject !== cameraStream) this.remoteVideo.srcObject = cameraStream;
    if (this.screenVideo.srcObject !== screenStream) this.screenVideo.srcObject = screenStream;
  }

  /** peer: the participant object or null; gone: 'left' | 'disconnected' | null. */
  setPeer(peer, gone = null) {
    this.peer = peer;
    if (peer) this.expectedPeer = peer.name;
    this.gone = peer ? null : gone;
    this.renderRemote();
  }

  setPeerMedia(media) {
    if (this.peer) this.peer = { ...this.peer, media: { ...this.peer.media, ...media } };
    this.renderRemote();
  }

  renderRemote() {
    const p = this.peer;
    const name = p?.name || this.expectedPeer || t('call/the-other-person');
    const media = p?.media || { audio: true, video: true, screen: false };
    $('remote-tile').dataset.peer = p ? 'here' : 'none';
    $('peer-name').textContent = p ? p.name : '';
    $('peer-muted').hidden = !p || media.audio !== false;
    $('peer-avatar').textContent = initials(name);

    let text = '';
    if (!p) {
      if (this.gone === 'disconnected') text = t('call/peer-dropped', { name });
      else if (this.gone === 'left') text = t('call/peer-left', { name });
      else text = t('call/waiting-for', { name });
    } else if (media.video === false) {
      text = t('call/peer-camera-off', { name });
    } else if (!this.remoteVideo.videoWidth) {
      text = t('call/connecting-to', { name });
    }
    $('remote-placeholder').hidden = !text;
    $('remote-placeholder-text').textContent = text;

    // The screen is shown exactly while they say they are sharing.
    const sharing = Boolean(p && media.screen);
    $('screen-tile').hidden = !sharing;
    $('stage').dataset.screen = sharing ? 'on' : 'off';
    $('screen-label').textContent = t('call/peer-screen', { name });
    if (sharing) this.screenVideo.play().catch(() => {});
  }

  setPresenting(on) {
    $('presenting').hidden = !on;
  }
}
