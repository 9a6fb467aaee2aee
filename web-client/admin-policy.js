// The recording policy: allowed or not, how long recordings are kept, and
// the consent notice, whose every version stays listed. The notice is the
// operator's text and is shown as written, whatever the page's language;
// the operator may write it once per language too (its translations), and
// people whose page is in that language read and agree to that text.

import { api } from './admin-api.js';
import {
  $, el, fmtNumber, reportError, setText, showError, timeEl, toast,
} from './admin-ui.js';
import { LANGUAGES, onLanguageChange, t } from './i18n.js';
import { languageName } from './intl-format.js';

let loaded = null;

/** One text box per language Duet's pages speak, named in its own words. */
function translationFields() {
  return Object.entries(LANGUAGES).map(([tag, name]) => el('label', { for: `policy-notice-${tag}` },
    el('span', { lang: tag }, name),
    el('textarea', {
      id: `policy-notice-${tag}`, rows: '4', maxlength: '10000', lang: tag, dir: 'auto',
      dataset: { testid: 'policy-notice-translation', lang: tag },
    })));
}

/** What the boxes say: language → text, the empty ones left out. */
function typedTranslations() {
  const out = {};
  for (const box of document.querySelectorAll('[data-testid="policy-notice-translation"]')) {
    if (box.value.trim()) out[box.dataset.lang] = box.value;
  }
  return out;
}

function sameTranslations(a, b) {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

export function init() {
  $('policy-translation-fields').replaceChildren(...translationFields());
  $('policy-form').addEventListener('submit', (e) => {
    e.preventDefault();
    save();
  });
  // Only the versions are drawn again: the form keeps what is being typed.
  onLanguageChange(() => {
    if (loaded) renderVersions(loaded);
  });
}

export function stop() {}

export async function show() {
  message('', '');
  let policy;
  try {
    policy = await api('GET', '/api/v1/policy');
  } catch (err) {
    reportError(err, () => t('admin/policy.load-failed'));
    return;
  }
  showError('');
  render(policy);
}

// Each may be a function that says it, to follow a change of language.
function message(error, ok) {
  setText($('policy-error'), error);
  $('policy-error').hidden = !error;
  setText($('policy-saved'), ok);
  $('policy-saved').hidden = !ok;
}

function render(policy) {
  loaded = policy;
  $('policy-recording').checked = Boolean(policy.recording_allowed);
  $('policy-retention').value = String(policy.retention_days ?? 0);
  $('policy-notice').value = policy.notice?.text ?? '';
  const translations = policy.translations ?? {};
  for (const box of document.querySelectorAll('[data-testid="policy-notice-translation"]')) {
    box.value = translations[box.dataset.lang]?.text ?? '';
  }
  // Open when there are some, so they are seen.
  $('policy-translations').open = Object.keys(translations).length > 0;
  renderVersions(policy);
}

// The version in force and the list of versions, in the page's language.
function renderVersions(policy) {
  $('policy-notice-version').textContent = policy.notice?.version != null
    ? t('admin/policy.version-in-force', { version: fmtNumber(policy.notice.version) }) : '';
  const current = policy.notice?.version;
  const items = (policy.notices ?? []).map((n) => el('li', {
    class: 'card version',
    dataset: { testid: 'policy-version', version: n.version, current: String(n.version === current) },
  },
  el('p', { class: 'version-head' },
    el('strong', {}, t('admin/policy.version', { version: fmtNumber(n.version) })),
    n.language ? el('span', { class: 'pill', dataset: { testid: 'policy-version-language' } }, languageName(n.language)) : null,
    n.version === current || (n.language && policy.translations?.[n.language]?.version === n.version)
      ? el('span', { class: 'pill', dataset: { state: 'live' } }, t('admin/policy.in-force')) : null,
    ' ', timeEl(n.created_at),
    n.created_by ? ` · ${t('admin/policy.by', { name: n.created_by })}` : '',
    n.hash ? el('code', { class: 'short-id', title: n.hash }, ` ${n.hash.slice(0, 12)}…`) : null),
  // The notice as the operator wrote it, in its own direction (`dir=auto`).
  el('details', {}, el('summary', {}, t('admin/policy.text')), el('p', { class: 'notice-text', dir: 'auto' }, n.text ?? ''))));
  $('policy-versions').replaceChildren(...items);
}

async function save() {
  message('', '');
  const days = Number($('policy-retention').value);
  if (!Number.isInteger(days) || days < 0) {
    message(() => t('admin/policy.need-days'), '');
    $('policy-retention').focus();
    return;
  }
  const text = $('policy-notice').value;
  if (!text.trim()) {
    message(() => t('admin/policy.need-notice'), '');
    $('policy-notice').focus();
    return;
  }
  // Send only what changed: an unchanged notice must not become a version.
  const body = {};
  const allowed = $('policy-recording').checked;
  if (allowed !== Boolean(loaded?.recording_allowed)) body.recording_allowed = allowed;
  if (days !== loaded?.retention_days) body.retention_days = days;
  if (text !== (loaded?.notice?.text ?? '')) body.notice = text;
  const translations = typedTranslations();
  const before = Object.fromEntries(Object.entries(loaded?.translations ?? {}).map(([k, v]) => [k, v.text]));
  if (!sameTranslations(translations, before)) body.notices = translations;
  if (Object.keys(body).length === 0) {
    message('', () => t('admin/policy.unchanged'));
    return;
  }
  const button = $('policy-save');
  button.disabled = true;
  try {
    const policy = await api('PUT', '/api/v1/policy', body);
    if (policy && typeof policy === 'object' && 'recording_allowed' in policy) render(policy);
    else await show();
    const newVersion = body.notice !== undefined || body.notices !== undefined;
    message('', newVersion ? () => t('admin/policy.saved-version') : () => t('admin/policy.saved'));
    toast(t('admin/policy.saved-toast'));
  } catch (err) {
    if (err.status !== 401) message(err.say ?? err.message, '');
  } finally {
    button.disabled = false;
  }
}
