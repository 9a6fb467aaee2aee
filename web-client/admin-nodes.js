// The nodes sharing this deployment's database: which are live, which
// drain, and which sessions each holds (one node alone lists itself).

import { api } from './admin-api.js';
import {
  $, el, fillTable, poll, reportError, showError, td, timeEl,
} from './admin-ui.js';

const EVERY_MS = 5000;
let stopPolling = null;

export function init() {
  $('nodes-refresh').addEventListener('click', () => load());
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
  if (!n.live) return { key: 'gone', text: 'Gone (no heartbeat)' };
  if (n.draining) return { key: 'draining', text: 'Draining: takes no new calls' };
  return { key: 'live', text: 'Live' };
}

// How many sessions the node holds, and each by its title, linked to its
// live view.
function heldList(n) {
  const held = n.held ?? [];
  if (!held.length) return String(n.sessions);
  return el('div', {},
    String(n.sessions),
    el('ul', { class: 'node-held' }, held.map((h) => el('li', {},
      el('a', { href: `#sessions/${encodeURIComponent(h.id)}`, dataset: { testid: 'node-session' } },
        h.title || 'Untitled session')))));
}

async function load() {
  let data;
  try {
    data = await api('GET', '/api/v1/nodes');
  } catch (err) {
    reportError(err, 'Could not load the nodes');
    throw err;
  }
  showError('');
  const rows = (data?.nodes ?? []).map((n) => {
    const s = state(n);
    return el('tr', { dataset: { testid: 'node-row', node: n.id, state: s.key } },
      td('Node', el('span', {}, n.id, n.this ? el('span', { class: 'muted-text' }, ' (this one)') : '')),
      td('State', el('span', { class: `node-state node-${s.key}` }, s.text)),
      td('Sessions', heldList(n)),
      td('Media', n.media_addr || '—'),
      td('Internal', n.internal_url || '—'),
      td('Last heartbeat', timeEl(n.heartbeat_at, { seconds: true })),
      td('Up since', timeEl(n.started_at)));
  });
  fillTable($('nodes-body'), rows, $('nodes-empty'));
}
