// The consent trail of the whole deployment: filter by session, action and
// dates; export exactly what is filtered as CSV or JSON.
//
// The column names and who acted are said in the page's language
// (`admin/trail.*`); the events themselves (action names, details, ids)
// are an auditor's data and are shown exactly as the export has them.

import { api, query } from './admin-api.js';
import {
  $, dayBoundary, el, fillTable, reportError, roleLabel, shortId, showError, td, timeEl,
} from './admin-ui.js';
import { onLanguageChange, t } from './i18n.js';

// The last events drawn, to redraw them in another language.
let shown = null;

export function init() {
  $('trail-filters').addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  for (const id of ['trail-action', 'trail-from', 'trail-to']) {
    $(id).addEventListener('change', () => load());
  }
  $('trail-session').addEventListener('input', updateExportLinks);
  onLanguageChange(() => {
    if (!$('view-trail').hidden && shown) render(shown);
  });
}

function filters() {
  return {
    session: $('trail-session').value.trim(),
    action: $('trail-action').value,
    from: dayBoundary($('trail-from').value),
    to: dayBoundary($('trail-to').value, true),
  };
}

function updateExportLinks() {
  const f = filters();
  $('trail-export-csv').href = `/api/v1/consent${query({ ...f, format: 'csv' })}`;
  $('trail-export-json').href = `/api/v1/consent${query({ ...f, format: 'json' })}`;
}

/** Shows the trail; `params` may hold `session` from a `#trail?session=…` link. */
export function show(params) {
  if (params.has('session')) $('trail-session').value = params.get('session');
  load();
}

export function stop() {}

function who(e) {
  if (e.role) return roleLabel(e.role);
  if (e.actor === 'admin') return t('admin/trail.admin');
  if (e.actor === 'server') return t('admin/trail.server');
  return e.actor || '—';
}

async function load() {
  updateExportLinks();
  let data;
  try {
    data = await api('GET', `/api/v1/consent${query({ ...filters(), format: 'json' })}`);
  } catch (err) {
    reportError(err, () => t('admin/trail.load-failed'));
    return;
  }
  showError('');
  render(Array.isArray(data) ? data : (data?.events ?? []));
}

function render(events) {
  shown = events;
  // The API gives the oldest first (as the export does); the newest are
  // what one looks for here.
  const rows = [...events].reverse().map((e) => el('tr', {
    dataset: {
      testid: 'trail-row', seq: e.seq, action: e.action, session: e.session_id ?? '', recording: e.recording_id ?? '',
    },
  },
  td(t('admin/trail.when'), timeEl(e.at ?? e.at_ms, { seconds: true })),
  td(t('admin/trail.session'), e.session_id ? el('a', { href: `#sessions/${encodeURIComponent(e.session_id)}` }, shortId(e.session_id)) : '—'),
  td(t('admin/trail.action'), el('span', { class: 'action', dataset: { action: e.action } }, e.action)),
  td(t('admin/trail.who'), who(e)),
  td(t('admin/trail.notice'), e.notice_version != null
    ? el('span', { title: e.notice_hash ?? '' }, t('admin/trail.notice-version', { version: e.notice_version }))
    : (e.notice_hash ? el('code', { class: 'short-id', title: e.notice_hash }, e.notice_hash.slice(0, 8)) : '—')),
  td(t('admin/trail.recording'), e.recording_id ? el('a', { href: `#recordings/${encodeURIComponent(e.recording_id)}` }, shortId(e.recording_id)) : '—'),
  td(t('admin/trail.detail'), e.detail || '')));
  fillTable($('trail-body'), rows, $('trail-empty'));
}
