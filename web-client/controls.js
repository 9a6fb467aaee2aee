// The control bar and the pre-join toggles: buttons to session actions,
// pressed states from the real media state, panels, keyboard shortcuts.

import { t } from './i18n.js';
import { $, setPressed, toast } from './ui.js';

const NARROW = window.matchMedia('(max-width: 899px)');

export function wireControls({ session, media, stage, pickers, displayName }) {
  const mic = $('mute-audio');
  const cam = $('mute-video');
  const share = $('share-screen');
  const call = $('call');

  function reflect() {
    const live = media.live;
    setPressed(mic, !live.audio, [t('mic.mute'), t('mic.unmute')]);
    setPressed(cam, !live.video, [t('cam.off'), t('cam.on')]);
    // Labels stay put ("Mute", pressed or not): the pressed state, the
    // icon and the colour say which way it is, and the tooltip says what a
    // press does. A label that flips as well would announce the state twice.
    // Pre-join: "pressed" means you will join with it off.
    setPressed($('pre-mic'), !live.audio, [t('pre-mic.mute'), t('pre-mic.unmute')]);
    setPressed($('pre-cam'), !live.video, [t('pre-cam.off'), t('pre-cam.on')]);
    stage.renderSelf(live, media.status, displayName());
  }
  media.addEventListener('change', reflect);
  media.addEventListener('state', reflect);

  async function toggleMic() {
    const wanted = !media.micMuted && Boolean(media.audio);
    const muted = await session.toggleMic();
    if (!wanted && muted) toast('No microphone is available — check that it is connected and allowed.');
    reflect();
  }

  async function toggleCamera() {
    const wantOn = media.cameraOff || !media.camera;
    const off = await session.toggleCamera();
    if (wantOn && off) toast('The camera could not be turned on — check that it is connected and allowed.');
    reflect();
  }

  mic.addEventListener('click', toggleMic);
  cam.addEventListener('click', toggleCamera);
  $('pre-mic').addEventListener('click', toggleMic);
  $('pre-cam').addEventListener('click', toggleCamera);

  if (!navigator.mediaDevices?.getDisplayMedia) {
    share.disabled = true;
    share.title = t('call/share-unsupported');
  }
  share.addEventListener('click', async () => {
    if (session.screenTrack) session.stopShare();
    else await session.startShare();
  });
  $('stop-share').addEventListener('click', () => {
    session.stopShare();
    share.focus();
  });
  session.hooks.onShareChange = (on) => {
    setPressed(share, on, [t('share.start'), t('share.stop')]);
    stage.setPresenting(on);
  };

  $('leave').addEventListener('click', () => session.leave());

  // Chat: a column on wide screens (open by default), a panel over the
  // stage on phones (closed by default, with an unread count).
  const panels = { onChatOpen: null };
  let unread = 0;
  let wideOpen = true;
  function setChat(open, focus = false) {
    call.dataset.chat = open ? 'open' : 'closed';
    $('chat-toggle').setAttribute('aria-expanded', String(open));
    if (open) {
      unread = 0;
      $('chat-unread').hidden = true;
      if (focus) $('chat-input').focus();
    }
    if (!NARROW.matches) wideOpen = open;
    if (open && NARROW.matches) setSettings(false);
    // The chat and a pair's side panel share the place beside the stage.
    if (open) panels.onChatOpen?.();
  }
  setChat(!NARROW.matches);
  NARROW.addEventListener('change', () => setChat(NARROW.matches ? false : wideOpen));
  $('chat-toggle').addEventListener('click', () => setChat(call.dataset.chat !== 'open', true));
  $('chat-close').addEventListener('click', () => {
    setChat(false);
    $('chat-toggle').focus();
  });
  session.hooks.onChat = () => {
    if (call.dataset.chat === 'open') return;
    unread += 1;
    $('chat-unread').textContent = String(unread);
    $('chat-unread').hidden = false;
  };

  function setSettings(open) {
    $('settings-panel').hidden = !open;
    $('settings-toggle').setAttribute('aria-expanded', String(open));
    pickers.setMeterRunning(open);
    if (open) {
      pickers.refresh();
      if (NARROW.matches) setChat(false);
      $('settings-panel').querySelector('select:not(:disabled)')?.focus();
    }
  }
  $('settings-toggle').addEventListener('click', () => setSettings($('settings-panel').hidden));
  $('settings-close').addEventListener('click', () => {
    setSettings(false);
    $('settings-toggle').focus();
  });

  document.addEventListener('keydown', (e) => {
    if (document.body.dataset.view !== 'call') return;
    if (e.key === 'Escape') {
      if (!$('settings-panel').hidden) {
        setSettings(false);
        $('settings-toggle').focus();
      } else if (NARROW.matches && call.dataset.chat === 'open') {
        setChat(false);
        $('chat-toggle').focus();
      }
      return;
    }
    // Ctrl/Cmd+D mutes, Ctrl/Cmd+E toggles the camera, as in other call apps.
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey) {
      const k = e.key.toLowerCase();
      if (k === 'd') {
        e.preventDefault();
        toggleMic();
      } else if (k === 'e') {
        e.preventDefault();
        toggleCamera();
      }
    }
  });

  return {
    reflect,
    closePanels: () => setSettings(false),
    setChat,
    chatOpen: () => call.dataset.chat === 'open',
    panels,
  };
}
