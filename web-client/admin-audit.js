// The audit log: who did what, newest first. Each event's name (e.g.
// `session_create`) is the log's own record for an auditor and is shown
// as it is; a short explanation in the page's language follows it.

import { api, query } from './admin-api.js';
import {
  $, el, fillTable, poll, reportError, shortId, showError, td, timeEl,
} from './admin-ui.js';
import { onLanguageChange, t } from './i18n.js';

const LIMIT = 500;
const EVERY_MS = 10000;
let stopPolling = null;
let shown = null; // the events last drawn, to draw again in another language

// The events the console explains (catalog "admin/audit.action.<name>");
// another one is shown by its name alone.
const EXPLAINED = new Set([
  'login', 'login_failed', 'logout', 'session_create', 'session_end', 'link_create',
  'recording_delete', 'policy_change', 'admin_create', 'pair_create', 'pair_update',
  'pair_link_create', 'pair_link_revoke', 'pair_end', 'pair_delete',
  'recording_view', 'recording_delete_media', 'transcript_queue',
  'captions_on', 'captions_accept', 'captions_decline', 'captions_off', 'captions_left',
]);

export function init() {
  $('audit-refresh').addEventListener('click', () => load());
  onLanguageChange(() => {
    if (shown) render(shown);
  });
}

export function show() {
  stop();
  stopPolling = poll(load, EVERY_MS);
}

export function stop() {
  stopPolling?.();
  stopPolling = null;
}

// What a target id is depends on the action: a session, a recording, or
// (for admin_create) a username.
const TARGET_VIEW = {
  session_create: 'sessions',
  session_end: 'sessions',
  link_create: 'sessions',
  recording_delete: 'recordings',
  recording_view: 'recordings',
  recording_delete_media: 'recordings',
  transcript_queue: 'recordings',
  captions_on: 'sessions',
  captions_accept: 'sessions',
  captions_decline: 'sessions',
  captions_off: 'sessions',
  captions_left: 'sessions',
  pair_create: 'pairs',
  pair_update: 'pairs',
  pair_link_create: 'pairs',
  pair_link_revoke: 'pairs',
  pair_end: 'pairs',
};

function targetCell(action, target) {
  if (!target) return '—';
  const view = TARGET_VIEW[action];
  if (!view) return String(target);
  return el('a', { href: `#${view}/${encodeURIComponent(target)}` }, shortId(target));
}

function detailText(detail) {
  if (detail === null || detail === undefined || detail === '') return '';
  return typeof detail === 'string' ? detail : JSON.stringify(detail);
}

async function load() {
  let data;
  try {
    data = await api('GET', `/api/v1/audit${query({ limit: LIMIT })}`);
  } catch (err) {
    reportError(err, () => t('admin/audit.load-failed'));
    throw err;
  }
  showError('');
  shown = data?.events ?? [];
  render(shown);
}

function actionCell(action) {
  return [
    el('code', { class: 'audit-action', dataset: { action } }, action),
    EXPLAINED.has(action) ? el('span', { class: 'audit-explained' }, t(`admin/audit.action.${action}`)) : null,
  ];
}

function render(events) {
  const rows = events.map((e) => el('tr', { dataset: { testid: 'audit-row', seq: e.seq, action: e.action } },
    td(t('admin/col.when'), timeEl(e.at, { seconds: true })),
    td(t('admin/col.who'), e.actor || '—'),
    td(t('admin/col.action'), ...actionCell(e.action)),
    td(t('admin/col.target'), targetCell(e.action, e.target)),
    td(t('admin/col.detail'), detailText(e.detail))));
  fillTable($('audit-body'), rows, $('audit-empty'));
}
