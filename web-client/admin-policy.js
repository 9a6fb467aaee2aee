// The recording policy: allowed or not, how long recordings are kept, and
// the consent notice, whose every version stays listed.

import { api } from './admin-api.js';
import { $, el, reportError, showError, timeEl, toast } from './admin-ui.js';

let loaded = null;

export function init() {
  $('policy-form').addEventListener('submit', (e) => {
    e.preventDefault();
    save();
  });
}

export function stop() {}

export async function show() {
  message('', '');
  let policy;
  try {
    policy = await api('GET', '/api/v1/policy');
  } catch (err) {
    reportError(err, 'Could not load the policy');
    return;
  }
  showError('');
  render(policy);
}

function message(error, ok) {
  $('policy-error').textContent = error;
  $('policy-error').hidden = !error;
  $('policy-saved').textContent = ok;
  $('policy-saved').hidden = !ok;
}

function render(policy) {
  loaded = policy;
  $('policy-recording').checked = Boolean(policy.recording_allowed);
  $('policy-retention').value = String(policy.retention_days ?? 0);
  $('policy-notice').value = policy.notice?.text ?? '';
  $('policy-notice-version').textContent = policy.notice?.version != null ? `(version ${policy.notice.version} in force)` : '';
  const current = policy.notice?.version;
  const items = (policy.notices ?? []).map((n) => el('li', {
    class: 'card version',
    dataset: { testid: 'policy-version', version: n.version, current: String(n.version === current) },
  },
  el('p', { class: 'version-head' },
    el('strong', {}, `Version ${n.version}`),
    n.version === current ? el('span', { class: 'pill', dataset: { state: 'live' } }, 'in force') : null,
    ' ', timeEl(n.created_at),
    n.created_by ? ` · by ${n.created_by}` : '',
    n.hash ? el('code', { class: 'short-id', title: n.hash }, ` ${n.hash.slice(0, 12)}…`) : null),
  el('details', {}, el('summary', {}, 'Text'), el('p', { class: 'notice-text' }, n.text ?? ''))));
  $('policy-versions').replaceChildren(...items);
}

async function save() {
  message('', '');
  const days = Number($('policy-retention').value);
  if (!Number.isInteger(days) || days < 0) {
    message('Retention must be a whole number of days, 0 or more.', '');
    $('policy-retention').focus();
    return;
  }
  const text = $('policy-notice').value;
  if (!text.trim()) {
    message('The consent notice cannot be empty: people must know what they agree to.', '');
    $('policy-notice').focus();
    return;
  }
  // Send only what changed: an unchanged notice must not become a version.
  const body = {};
  const allowed = $('policy-recording').checked;
  if (allowed !== Boolean(loaded?.recording_allowed)) body.recording_allowed = allowed;
  if (days !== loaded?.retention_days) body.retention_days = days;
  if (text !== (loaded?.notice?.text ?? '')) body.notice = text;
  if (Object.keys(body).length === 0) {
    message('', 'Nothing changed.');
    return;
  }
  const button = $('policy-save');
  button.disabled = true;
  try {
    const policy = await api('PUT', '/api/v1/policy', body);
    if (policy && typeof policy === 'object' && 'recording_allowed' in policy) render(policy);
    else await show();
    message('', body.notice !== undefined ? 'Saved. The new notice is a new version.' : 'Saved.');
    toast('Policy saved.');
  } catch (err) {
    if (err.status !== 401) message(err.message, '');
  } finally {
    button.disabled = false;
  }
}
