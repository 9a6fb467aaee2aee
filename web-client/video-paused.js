// Video held back for a weak connection (`video_paused` messages): Duet
// stops sending video to a person whose downlink cannot carry it, and
// starts again when it recovers; audio goes on. On that person's page the
// other person's picture says why it stopped; on the other page a note
// says their video does not reach that person. Each note has
// data-testid="video-paused" and data-role set to whose connection it is.

import { t } from './i18n.js';
import { $ } from './ui.js';

const other = (role) => (role === 'mentor' ? 'mentee' : 'mentor');

export class VideoPausedView {
  constructor() {
    this.paused = { mentor: false, mentee: false };
    this.myRole = null;
    this.peerName = null;
    this.active = false;
  }

  /** A `video_paused` message from the server. */
  fromServer(msg) {
    if (msg.role !== 'mentor' && msg.role !== 'mentee') return;
    this.paused[msg.role] = msg.paused === true;
    this.render();
  }

  /** A new `joined`: the server tells a joining page again what is paused. */
  reset() {
    this.paused = { mentor: false, mentee: false };
  }

  /** In the call as `role`, with `peerName` there (null: nobody yet). */
  setCall({ role, peerName, active }) {
    // A (re)joined person gets video until the server says otherwise.
    if (peerName !== this.peerName && role) this.paused[other(role)] = false;
    this.myRole = role;
    this.peerName = peerName;
    this.active = active;
    this.render();
  }

  render() {
    const on = this.active && this.myRole && this.peerName;
    const mine = $('video-paused-mine');
    const theirs = $('video-paused-theirs');
    show(mine, on && this.paused[this.myRole], this.myRole,
      t('call/video-paused-mine'));
    const peerRole = this.myRole && other(this.myRole);
    show(theirs, on && this.paused[peerRole], peerRole,
      t('call/video-paused-theirs', { name: this.peerName }));
  }
}

function show(note, on, role, text) {
  note.hidden = !on;
  if (!on) return;
  note.dataset.role = role;
  // Only a change is news to the status region.
  if (note.textContent !== text) note.textContent = text;
}
