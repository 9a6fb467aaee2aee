// The admin console at /admin: sign in, then sessions, pairs, recordings,
// the consent trail, the recording policy and the audit log, one view at a
// time, chosen by the URL's fragment (#sessions, #recordings/<id>, …).
//
// The login is the `duet_admin` cookie (HttpOnly: this page never sees it).
// What the page keeps is the CSRF token that every change must carry.
//
// The page speaks the person's language (i18n.js): the language-select in
// the top bar is there before login too, and a switch re-renders at once
// without reloading (each view's module redraws what its script wrote).

import { api, onAuthLost, setCsrfToken } from './admin-api.js';
import * as audit from './admin-audit.js';
import * as nodes from './admin-nodes.js';
import * as pairs from './admin-pairs.js';
import * as policy from './admin-policy.js';
import * as recordings from './admin-recordings.js';
import * as sessions from './admin-sessions.js';
import * as trail from './admin-trail.js';
import { $, setText, showError } from './admin-ui.js';
import { copyFrom } from './ui.js';
import { initI18n, onLanguageChange, t } from './i18n.js';

const VIEWS = ['login', 'sessions', 'session', 'pairs', 'pair', 'recordings', 'recording', 'trail', 'policy', 'audit', 'nodes'];
const MODULES = [sessions, pairs, recordings, trail, policy, audit, nodes];

let signedIn = false;
let userShown = '';

function showView(view) {
  document.body.dataset.view = view;
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  const section = { session: 'sessions', pair: 'pairs', recording: 'recordings' }[view] ?? view;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function stopAll() {
  for (const m of MODULES) m.stop();
}

/** Shows the view the fragment names: `#recordings/<id>`, `#trail?session=…`. */
function route() {
  if (!signedIn) return;
  stopAll();
  showError('');
  const raw = decodeURIComponent(location.hash.replace(/^#/, ''));
  const [path, search = ''] = raw.split('?');
  const [section, id] = path.split('/');
  const params = new URLSearchParams(search);
  document.title = t('admin/page-title');
  switch (section) {
    case 'pairs':
      if (id) {
        showView('pair');
        pairs.showDetail(id);
      } else {
        showView('pairs');
        pairs.showList();
      }
      break;
    case 'recordings':
      if (id) {
        showView('recording');
        recordings.showDetail(id);
      } else {
        showView('recordings');
        recordings.showList();
      }
      break;
    case 'trail':
      showView('trail');
      trail.show(params);
      break;
    case 'policy':
      showView('policy');
      policy.show();
      break;
    case 'audit':
      showView('audit');
      audit.show();
      break;
    case 'nodes':
      showView('nodes');
      nodes.show();
      break;
    case 'sessions':
    default:
      if (id) {
        showView('session');
        sessions.showLive(id);
      } else {
        showView('sessions');
        sessions.showList();
      }
  }
}

function userName(user) {
  if (!user) return '';
  if (typeof user === 'string') return user;
  return user.username ?? user.name ?? '';
}

function signIn(me) {
  signedIn = true;
  setCsrfToken(me?.csrf_token);
  const name = userName(me?.user);
  userShown = name;
  setText($('admin-user'), name ? () => t('admin/signed-in-as', { name }) : '');
  $('admin-user').hidden = !name;
  $('admin-nav').hidden = false;
  $('admin-logout').hidden = false;
  loginError('');
  route();
}

/** Back to the login form; `why` explains it (an expired login): text, or a function that says it. */
function signOut(why = '') {
  signedIn = false;
  stopAll();
  setCsrfToken(null);
  showError('');
  $('admin-nav').hidden = true;
  $('admin-logout').hidden = true;
  $('admin-user').hidden = true;
  document.title = t('admin/page-title');
  showView('login');
  loginError(why);
  $('admin-password').value = '';
  const user = $('admin-username');
  if (!user.value && userShown) user.value = userShown;
  (user.value ? $('admin-password') : user).focus();
}

// `text` may be a function that says it, so it follows a change of language.
function loginError(text) {
  const p = $('admin-error');
  setText(p, text || '');
  p.hidden = !text;
}

/** An error's message, said again in the language of the moment when it can be. */
const sayError = (err) => (err.say ? err.say : err.message);

async function login(e) {
  e.preventDefault();
  const username = $('admin-username').value.trim();
  const password = $('admin-password').value;
  if (!username || !password) {
    loginError(() => t('admin/login.missing'));
    return;
  }
  const button = $('admin-login');
  button.disabled = true;
  loginError('');
  try {
    const me = await api('POST', '/api/v1/admin/login', { username, password }, { login: true });
    $('admin-password').value = '';
    signIn(me);
  } catch (err) {
    loginError(sayError(err));
    $('admin-password').select();
  } finally {
    button.disabled = false;
  }
}

async function logout() {
  try {
    await api('POST', '/api/v1/admin/logout');
  } catch {
    // Signed out already, or the server is gone: show the form either way.
  }
  signOut();
}

async function start() {
  await initI18n();
  document.title = t('admin/page-title');
  onLanguageChange(() => {
    // The marked text is already in the new language; the title is not
    // (one session, pair or recording: its module titles the page).
    if (!['session', 'pair', 'recording'].includes(document.body.dataset.view)) document.title = t('admin/page-title');
  });
  for (const m of MODULES) m.init();
  $('login-form').addEventListener('submit', login);
  $('admin-logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  document.addEventListener('click', (e) => {
    const button = e.target.closest('[data-copy]');
    if (button) copyFrom($(button.dataset.copy), button, { copied: 'admin/copied', failed: 'admin/copy-failed' });
  });
  onAuthLost(() => {
    if (signedIn) signOut(() => t('admin/login.expired'));
  });
  let me = null;
  let why = '';
  try {
    me = await api('GET', '/api/v1/admin/me', undefined, { login: true });
  } catch (err) {
    if (err.status !== 401) why = sayError(err);
  }
  if (me) signIn(me);
  else signOut(why);
}

start();
