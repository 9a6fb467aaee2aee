// Consent-gated recording (docs/recording.md), as far as the page goes:
// ask, agree to the notice or decline, withdraw (keeping or deleting what
// was recorded), and show plainly while a recording is running.
//
// The server is the only source of truth: this module sends `recording`
// actions and renders the `recording` status it broadcasts; it never
// assumes a state change. Both people — the one who asked too — answer the
// consent dialog, and a consent names the hash of the notice it was given
// to. Nothing shows unless the session's policy is "allowed".

import { locale, t } from './i18n.js';
import { $, toast } from './ui.js';

export class Recording {
  constructor({ send, myRole, peerName, rememberKey = null }) {
    this.send = send;
    this.myRole = myRole;
    this.peerName = peerName;
    this.rememberKey = rememberKey;
    try {
      this.recorded = Boolean(rememberKey && sessionStorage.getItem(rememberKey));
    } catch {
      this.recorded = false;
    }
    this.status = { state: 'off', policy: 'off', consented: [] };
    this.active = false; // in the call
    this.dialog = $('consent-dialog');

    $('record-request').addEventListener('click', () => this.act({ action: 'request' }));
    $('consent-accept').addEventListener('click', () => {
      this.closeDialog();
      // The consent is to the text this person was shown, by its hash.
      this.act({ action: 'consent', notice_hash: this.shown?.hash ?? this.status.notice_hash });
    });
    $('consent-decline').addEventListener('click', () => this.decline());
    $('consent-revoke').addEventListener('click', () => this.act({ action: 'revoke' }));
    $('recording-discard').addEventListener('click', () => this.act({ action: 'revoke', discard: true }));
    // Closing the question without an answer (Escape) is a "no": consent
    // must be given on purpose.
    this.dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      this.decline();
    });
  }

  decline() {
    this.closeDialog();
    this.act({ action: 'decline' });
  }

  act(fields) {
    const msg = { type: 'recording', ...fields };
    if (msg.notice_hash == null) delete msg.notice_hash;
    if (!this.send(msg)) toast(t('not-connected'));
  }

  /** From `joined.recording` or a `recording` message (fields flattened). */
  update(status) {
    const before = this.status.state;
    this.status = {
      state: status.state || 'off',
      policy: status.policy || this.status.policy,
      consented: Array.isArray(status.consented) ? status.consented : [],
      requested_by: status.requested_by || null,
      notice: status.notice ?? this.status.notice ?? '',
      notice_hash: status.notice_hash ?? this.status.notice_hash ?? null,
      translations: status.translations ?? this.status.translations ?? {},
    };
    const now = this.status.state;
    // Something was recorded in this call: the end screen links to it.
    if (now === 'recording' && !this.recorded) {
      this.recorded = true;
      try {
        if (this.rememberKey) sessionStorage.setItem(this.rememberKey, '1');
      } catch {
        // No storage: this page's memory is enough until a reload.
      }
    }
    if (before !== 'recording' && now === 'recording') toast(t('rec.started'));
    if (before === 'recording' && now === 'off') toast(t('rec.stopped'));
    if (before === 'requested' && now === 'off') toast(t('rec.not-started'));
    this.render();
  }

  setActive(active) {
    this.active = active;
    if (!active) this.status = { ...this.status, state: 'off', consented: [] };
    this.render();
  }

  /** The server said no (policy off, the other person not there, disk trouble…). */
  refused(message) {
    toast(message ? t('rec.refused', { message }) : t('rec.unavailable'));
    this.render();
  }

  render() {
    const { state, policy, consented } = this.status;
    const allowed = this.active && policy === 'allowed';
    const iConsented = consented.includes(this.myRole());
    $('record-request').hidden = !(allowed && state === 'off');
    $('consent-revoke').hidden = !(allowed && state === 'recording');
    $('recording-discard').hidden = !(allowed && state === 'recording');
    // Shown exactly while the server says a recording is running.
    $('recording-indicator').hidden = !(this.active && state === 'recording');
    const pending = $('recording-pending');
    pending.hidden = !(allowed && state === 'requested' && iConsented);
    pending.textContent = t('rec.waiting', { name: this.peerName() || t('status.the-other') });
    if (allowed && state === 'requested' && !iConsented) this.openDialog();
    else this.closeDialog();
  }

  openDialog() {
    const { requested_by: by } = this.status;
    const who = this.peerName() || t('the-other-person');
    $('consent-heading').textContent = by === this.myRole() ? t('rec.confirm-heading') : t('rec.asks-heading', { name: who });
    // The notice below stays in the operator's own words.
    $('consent-text').textContent = by === this.myRole() ? t('rec.confirm-text') : t('rec.asks-text');
    this.shown = this.noticeToShow();
    const box = $('consent-notice');
    box.textContent = this.shown.text;
    if (this.shown.lang) box.lang = this.shown.lang;
    else box.removeAttribute('lang');
    if (this.dialog.open) return;
    if (typeof this.dialog.showModal === 'function') this.dialog.showModal();
    else this.dialog.setAttribute('open', '');
  }

  /**
   * The operator's notice in the page's language when they wrote one
   * (`translations`), else their notice as written: never a translation
   * of ours, since people consent to the operator's words.
   */
  noticeToShow() {
    const translated = this.status.translations?.[locale()];
    if (translated?.notice && translated.notice_hash) {
      return { text: translated.notice, hash: translated.notice_hash, lang: locale() };
    }
    return { text: this.status.notice || '', hash: this.status.notice_hash, lang: null };
  }

  closeDialog() {
    if (!this.dialog.open) return;
    if (typeof this.dialog.close === 'function') this.dialog.close();
    else this.dialog.removeAttribute('open');
  }
}
