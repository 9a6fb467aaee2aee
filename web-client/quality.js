// Connection quality in the top bar: yours (`connection-quality`) and the
// other person's (`peer-connection-quality`), each good / weak / bad with
// the reason in words. The server assesses both links from the receiver
// reports each browser sends (`quality` messages); this page adds what
// only it can see: its own stats going bad, and rebuilding its path.

import { t } from './i18n.js';
import { $ } from './ui.js';

/** The reasons the page has words for; others say weak or bad. */
const REASONS = new Set(['loss', 'delay', 'reconnecting', 'slow']);

/**
 * Whose connection and how, as one sentence per case
 * (`call/quality.{mine|theirs}.{reason}`): "your" and "{name}'s" change
 * the sentence's grammar in other languages, so nothing is glued.
 */
function sentence(whose, q, name) {
  let how = q.quality === 'bad' ? 'bad' : 'weak';
  if (q.quality === 'good') how = 'good';
  else if (REASONS.has(q.reason)) how = q.reason;
  return t(`call/quality.${whose}.${how}`, { name });
}

const worse = (a, b) => {
  const rank = { good: 0, weak: 1, bad: 2 };
  return rank[b.quality] > rank[a.quality] ? b : a;
};

export class QualityView {
  constructor() {
    this.server = { mentor: { quality: 'good' }, mentee: { quality: 'good' } };
    this.local = { quality: 'good' };
    this.myRole = null;
    this.peerName = null;
    this.active = false;
  }

  /** A `quality` message from the server. */
  fromServer(msg) {
    if (msg.role !== 'mentor' && msg.role !== 'mentee') return;
    this.server[msg.role] = { quality: msg.quality || 'good', reason: msg.reason || null };
    this.render();
  }

  /** What this page measures itself: sustained loss or delay, or rebuilding its path. */
  fromPage({ bad, recovering }) {
    this.local = recovering ? { quality: 'bad', reason: 'reconnecting' }
      : bad ? { quality: 'weak', reason: 'loss' } : { quality: 'good' };
    this.render();
  }

  /** In the call as `role`, with `peerName` there (null: nobody yet). */
  setCall({ role, peerName, active }) {
    if (peerName !== this.peerName) {
      // A (re)joined person starts from good until the server says otherwise.
      const peerRole = role === 'mentor' ? 'mentee' : 'mentor';
      this.server[peerRole] = { quality: 'good' };
    }
    this.myRole = role;
    this.peerName = peerName;
    this.active = active;
    this.render();
  }

  render() {
    const mine = $('connection-quality');
    const theirs = $('peer-connection-quality');
    if (!this.active || !this.myRole) {
      mine.hidden = true;
      theirs.hidden = true;
      return;
    }
    const me = worse(this.server[this.myRole], this.local);
    show(mine, me, sentence('mine', me), t('you'));
    const peerRole = this.myRole === 'mentor' ? 'mentee' : 'mentor';
    if (!this.peerName) {
      theirs.hidden = true;
      return;
    }
    const peer = this.server[peerRole];
    show(theirs, peer, sentence('theirs', peer, this.peerName), this.peerName);
  }
}

function show(el, q, text, short) {
  el.hidden = false;
  el.dataset.quality = q.quality;
  el.title = text;
  el.setAttribute('aria-label', text);
  // Good needs only whose dot it is on a crowded bar; weak and bad say why.
  el.querySelector('.q-text').textContent = q.quality === 'good' ? short : text;
}
