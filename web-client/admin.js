// The admin console at /admin: sign in, then sessions, pairs, recordings,
// the consent trail, the recording policy and the audit log, one view at a
// time, chosen by the URL's fragment (#sessions, #recordings/<id>, …).
//
// The login is the `duet_admin` cookie (HttpOnly: this page never sees it).
// What the page keeps is the CSRF token that every change must carry.

import { api, onAuthLost, setCsrfToken } from './admin-api.js';
import * as audit from './admin-audit.js';
import * as nodes from './admin-nodes.js';
import * as pairs from './admin-pairs.js';
import * as policy from './admin-policy.js';
import * as recordings from './admin-recordings.js';
import * as sessions from './admin-sessions.js';
import * as trail from './admin-trail.js';
import { $, copyFrom, showError } from './admin-ui.js';

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
  document.title = 'Duet · Admin';
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
  $('admin-user').textContent = name ? `Signed in as ${name}` : '';
  $('admin-user').hidden = !name;
  $('admin-nav').hidden = false;
  $('admin-logout').hidden = false;
  loginError('');
  route();
}

/** Back to the login form; `why` explains it (an expired login). */
function signOut(why = '') {
  signedIn = false;
  stopAll();
  setCsrfToken(null);
  showError('');
  $('admin-nav').hidden = true;
  $('admin-logout').hidden = true;
  $('admin-user').hidden = true;
  document.title = 'Duet · Admin';
  showView('login');
  loginError(why);
  $('admin-password').value = '';
  const user = $('admin-username');
  if (!user.value && userShown) user.value = userShown;
  (user.value ? $('admin-password') : user).focus();
}

function loginError(text) {
  const p = $('admin-error');
  p.textContent = text || '';
  p.hidden = !text;
}

async function login(e) {
  e.preventDefault();
  const username = $('admin-username').value.trim();
  const password = $('admin-password').value;
  if (!username || !password) {
    loginError('Enter your username and password.');
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
    loginError(err.message);
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
  for (const m of MODULES) m.init();
  $('login-form').addEventListener('submit', login);
  $('admin-logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  document.addEventListener('click', (e) => {
    const button = e.target.closest('[data-copy]');
    if (button) copyFrom($(button.dataset.copy), button);
  });
  onAuthLost(() => {
    if (signedIn) signOut('Your sign-in has expired. Sign in again to go on.');
  });
  let me = null;
  try {
    me = await api('GET', '/api/v1/admin/me', undefined, { login: true });
  } catch (err) {
    if (err.status !== 401) loginError(err.message);
  }
  if (me) signIn(me);
  else {
    const why = $('admin-error').textContent;
    signOut(why);
  }
}

start();
