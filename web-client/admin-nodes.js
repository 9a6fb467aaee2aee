// The nodes sharing this deployment's database: which are live, which
// drain, and which sessions each holds (one node alone lists itself).

import { api } from './admin-api.js';
import {
  $, el, fillTable, fmtNumber, poll, reportError, showError, td, timeEl,
} from './admin-ui.js';
import { onLanguageChange, t } from './i18n.js';

const EVERY_MS = 5000;
let stopPolling = null;
let shown = null; // the nodes last drawn, to draw again in another language

export function init() {
  $('nodes-refresh').addEventListener('click', () => load());
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

function state(n) {
  if (!n.live) return { key: 'gone', text: t('admin/nodes.gone') };
  if (n.draining) return { key: 'draining', text: t('admin/nodes.draining') };
  return { key: 'live', text: t('admin/nodes.live') };
}

// How many sessions the node holds, and each by its title, linked to its
// live view.
function heldList(n) {
  const held = n.held ?? [];
  if (!held.length) return fmtNumber(n.sessions);
  return el('div', {},
    fmtNumber(n.sessions),
    el('ul', { class: 'node-held' }, held.map((h) => el('li', {},
      el('a', { href: `#sessions/${encodeURIComponent(h.id)}`, dataset: { testid: 'node-session' } },
        h.title || t('admin/nodes.untitled'))))));
}

async function load() {
  let data;
  try {
    data = await api('GET', '/api/v1/nodes');
  } catch (err) {
    reportError(err, () => t('admin/nodes.load-failed'));
    throw err;
  }
  showError('');
  shown = data?.nodes ?? [];
  render(shown);
}

function render(nodes) {
  const rows = nodes.map((n) => {
    const s = state(n);
    return el('tr', { dataset: { testid: 'node-row', node: n.id, state: s.key } },
      td(t('admin/col.node'), el('span', {}, n.id, n.this ? el('span', { class: 'muted-text' }, ` ${t('admin/nodes.this-one')}`) : '')),
      td(t('admin/col.state'), el('span', { class: `node-state node-${s.key}` }, s.text)),
      td(t('admin/col.sessions'), heldList(n)),
      td(t('admin/col.media'), n.media_addr || '—'),
      td(t('admin/col.internal'), n.internal_url || '—'),
      td(t('admin/col.last-heartbeat'), timeEl(n.heartbeat_at, { seconds: true })),
      td(t('admin/col.up-since'), timeEl(n.started_at)));
  });
  fillTable($('nodes-body'), rows, $('nodes-empty'));
}
