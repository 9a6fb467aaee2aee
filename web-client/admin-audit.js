// The audit log: who did what, newest first.

import { api, query } from './admin-api.js';
import {
  $, el, fillTable, poll, reportError, shortId, showError, td, timeEl,
} from './admin-ui.js';

const LIMIT = 500;
const EVERY_MS = 10000;
let stopPolling = null;

const ACTION_LABEL = {
  login: 'Signed in',
  login_failed: 'Sign-in failed',
  logout: 'Signed out',
  session_create: 'Created a session',
  session_end: 'Ended a session',
  link_create: 'Issued a link',
  recording_delete: 'Deleted a recording',
  policy_change: 'Changed the policy',
  admin_create: 'Created an admin',
  pair_create: 'Created a pair',
  pair_update: 'Changed a pair',
  pair_link_create: 'Issued a personal link',
  pair_link_revoke: 'Revoked a personal link',
  pair_end: 'Ended a pair',
  pair_delete: 'Deleted a pair',
};

export function init() {
  $('audit-refresh').addEventListener('click', () => load());
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
    reportError(err, 'Could not load the audit log');
    throw err;
  }
  showError('');
  const rows = (data?.events ?? []).map((e) => el('tr', { dataset: { testid: 'audit-row', seq: e.seq, action: e.action } },
    td('When', timeEl(e.at, { seconds: true })),
    td('Who', e.actor || '—'),
    td('Action', el('span', { class: 'audit-action', dataset: { action: e.action }, title: e.action }, ACTION_LABEL[e.action] ?? e.action)),
    td('Target', targetCell(e.action, e.target)),
    td('Detail', detailText(e.detail))));
  fillTable($('audit-body'), rows, $('audit-empty'));
}
