// Entry point of the pair home (/pair#<personal token>): the place a mentor
// and a mentee come back to between calls.
//
// The token arrives in the URL fragment (never sent to the server or to a
// proxy's log). The page moves it into this tab's sessionStorage and takes
// it out of the address bar, so it is not left on screen, in a screenshot
// or in a bookmark; a reload of the tab still works. Every API call carries
// it as `Authorization: Bearer`.
//
// The outline (people, schedule, history, counters) and each list are
// reloaded every 20 s and when the tab comes back into view, so what the
// other person added shows up without a reload.
//
// Words come from the catalogs (i18n.js); a switch of language re-renders
// every part from what it last loaded, in place, so nothing typed is lost.

import { initI18n, onLanguageChange, t } from './i18n.js';
import { ActionList } from './pair-actions.js';
import { AgendaList } from './pair-agenda.js';
import { Agreement } from './pair-agreement.js';
import { PairApi } from './pair-api.js';
import { PastCalls } from './pair-history.js';
import { MessageThread } from './pair-messages.js';
import { HomeNotes } from './pair-notes.js';
import { People } from './pair-people.js';
import { Schedule } from './pair-schedule.js';
import { fmtDayTime, toDate } from './pair-time.js';
import { $, setError } from './ui.js';

const TOKEN_KEY = 'duet.pair.token';
const POLL_MS = 20_000;

/** The personal token: from the fragment (then tidied away) or from this tab's storage. */
function takeToken() {
  const fromLink = location.hash.slice(1);
  if (fromLink) {
    try {
      sessionStorage.setItem(TOKEN_KEY, fromLink);
      window.history.replaceState(null, '', location.pathname + location.search);
    } catch {
      // No storage: leave the fragment where it is, so a reload still works.
    }
    return fromLink;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

// Why a link cannot work, by the code `dead()` is given.
const DEAD = {
  no_token: 'pair/dead-no-token',
  unauthorized: 'pair/dead-unauthorized',
  not_found: 'pair/dead-not-found',
};

const api = new PairApi(takeToken());
const ctx = {
  api,
  pair: null,
  you: null,
  readOnly: true,
  name: (role) => ctx.pair?.[role]?.name || t(role === 'mentor' ? 'pair/your-mentor' : 'pair/your-mentee'),
  refresh: () => refresh(),
  /** Reports a failed call: a dead link ends the page; anything else is said and passes. */
  problem: (err, what) => {
    if (err?.status === 401) return dead('unauthorized');
    if (err?.status === 404 && !ctx.pair) return dead('not_found');
    setError(what ? t('pair/problem', { what, message: err.message }) : err.message);
    return null;
  },
};

let stopped = false;
let deadCode = null; // why the link cannot work, to say it again in another language

/** The link cannot work: say why, show nothing else, stop polling. */
function dead(code) {
  stopped = true;
  deadCode = DEAD[code] ? code : 'unauthorized';
  setError(t(DEAD[deadCode]));
  $('pair-home').hidden = true;
  $('pair-title').textContent = '';
  document.title = 'Duet';
  document.body.dataset.view = 'dead';
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Nothing stored.
  }
}

const people = new People(ctx);
const schedule = new Schedule(ctx);
const agenda = new AgendaList({
  api,
  list: $('agenda-list'),
  empty: $('agenda-empty'),
  form: $('agenda-form'),
  input: $('agenda-input'),
  you: () => ctx.you,
  names: (role) => ctx.name(role),
  editable: () => !ctx.readOnly,
  onError: ctx.problem,
});
const actions = new ActionList(ctx, {
  list: $('action-list'),
  empty: $('actions-empty'),
  form: $('action-form'),
  input: $('action-input'),
  owner: $('action-owner'),
  due: $('action-due'),
  overdueBadge: $('actions-overdue'),
});
const messages = new MessageThread(ctx, {
  list: $('message-list'),
  empty: $('messages-empty'),
  form: $('message-form'),
  input: $('message-input'),
  badge: $('messages-unread'),
});
const notes = new HomeNotes(ctx, {
  list: $('home-notes'),
  empty: $('notes-empty'),
  when: $('notes-when'),
  form: $('home-note-form'),
  input: $('home-note-input'),
  shared: $('home-note-shared'),
  sharedLabel: $('home-note-shared-label'),
});
const agreement = new Agreement(ctx);
const pastCalls = new PastCalls(ctx, { list: $('history-list'), empty: $('history-empty') });

/** The outline (GET /pairs/{id}), then every part from it. */
async function refresh() {
  if (stopped) return;
  let pair;
  try {
    pair = await api.get('');
  } catch (err) {
    if (err.status === 404) dead('not_found'); // deleted meanwhile
    else ctx.problem(err, t('pair/error-load-pair'));
    return;
  }
  const first = !ctx.pair;
  ctx.pair = pair;
  ctx.you = pair.you;
  ctx.readOnly = pair.status !== 'active';
  if (first) await people.ensureZone();
  render();
  const parts = [
    [agenda.load(), t('pair/error-load-agenda')],
    [actions.load(), t('pair/error-load-actions')],
    [messages.load(), t('pair/error-load-messages')],
    [notes.load(), t('pair/error-load-notes')],
    [agreement.load(), t('pair/error-load-agreement')],
  ];
  const results = await Promise.allSettled(parts.map(([p]) => p));
  const failed = results.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) ctx.problem(results[failed].reason, parts[failed][1]);
  else if (!stopped) setError('');
}

function render() {
  const pair = ctx.pair;
  document.body.dataset.view = 'pair';
  document.body.dataset.readonly = String(ctx.readOnly);
  $('pair-title').textContent = pair.title;
  $('pair-goal').textContent = pair.goal || '';
  $('pair-goal').hidden = !pair.goal;
  const you = $('pair-you');
  you.textContent = t(pair.you === 'mentor' ? 'pair/you-are-mentor' : 'pair/you-are-mentee');
  you.hidden = false;
  const ended = $('pair-ended');
  ended.hidden = !ctx.readOnly;
  const endedAt = toDate(pair.ended_at);
  ended.textContent = endedAt ? t('pair/ended-at', { date: fmtDayTime(endedAt) }) : t('pair/ended');
  for (const form of document.querySelectorAll('.writes')) form.hidden = ctx.readOnly;
  $('home-note-form').hidden = ctx.readOnly || !pair.history?.length;
  people.render();
  actions.setPeople();
  schedule.render();
  pastCalls.render();
  $('pair-home').hidden = false;
}

async function exportAs(format, button) {
  button.disabled = true;
  try {
    const name = format === 'md' ? 'duet-pair.md' : 'duet-pair.json';
    await api.download(format === 'md' ? '/export?format=md' : '/export', name);
  } catch (err) {
    ctx.problem(err, t('pair/error-export'));
  } finally {
    button.disabled = false;
  }
}
$('export-md').addEventListener('click', (e) => exportAs('md', e.currentTarget));
$('export-json').addEventListener('click', (e) => exportAs('json', e.currentTarget));

// Another personal link pasted into this tab changes only the fragment,
// which browsers do not reload for: start over with it.
window.addEventListener('hashchange', () => location.reload());

let lastRefresh = 0;
function refreshSoon() {
  if (document.hidden || stopped || !ctx.pair || Date.now() - lastRefresh < 2000) return;
  lastRefresh = Date.now();
  refresh();
}
window.addEventListener('focus', refreshSoon);
document.addEventListener('visibilitychange', refreshSoon);
setInterval(refreshSoon, POLL_MS);

/**
 * Everything the scripts wrote, again in the language just picked (the
 * marked HTML is done by i18n.js): from what each part last loaded, with
 * no fetch, so typed text, open details and the scroll stay as they are.
 */
function relabel() {
  if (deadCode) {
    setError(t(DEAD[deadCode]));
    return;
  }
  if (!ctx.pair) {
    $('pair-title').textContent = t('pair/opening');
    schedule.relabel();
    return;
  }
  // Lists that rebuild only on a change of data: this is one.
  pastCalls.key = null;
  schedule.listKey = null;
  render();
  agenda.render(agenda.items);
  actions.relabel();
  messages.relabel();
  notes.relabel();
  agreement.render();
}
onLanguageChange(relabel);

async function boot() {
  await initI18n();
  $('pair-title').textContent = t('pair/opening');
  schedule.renderForm();
  if (!api.token) {
    dead('no_token');
    return;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const list = await api.listPairs();
      const pair = list?.pairs?.[0];
      if (!pair) {
        dead('not_found');
        return;
      }
      api.pairId = pair.id;
      break;
    } catch (err) {
      if (err.status === 401 || err.status === 403 || err.status === 400) {
        dead('unauthorized');
        return;
      }
      // The server is unreachable or busy: say so and try again.
      setError(err.message);
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** attempt)));
    }
  }
  lastRefresh = Date.now();
  await refresh();
}

boot();
