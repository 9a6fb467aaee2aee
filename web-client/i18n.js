// The page's language: message catalogs, one file per language in
// `i18n/` (plain modules, no build step), chosen from the person's choice
// (the `language-select`, remembered) or else the browser's languages.
//
// Static text carries `data-i18n="key"` (its text) and
// `data-i18n-attr="aria-label:key;title:key"` (its attributes); scripts
// call `t(key, {name})`. A key missing from a catalog falls back to
// English (a test keeps the catalogs complete). Right-to-left languages
// set `dir="rtl"` on the document; the CSS uses logical properties.
//
// Dates, times and numbers go through `Intl` with `intlLocale()`. The
// consent notice is the operator's text, shown as written: in the page's
// language only when the operator wrote it in that language too
// (`recording.notices`).

import en from './i18n/en.js';

/** The languages offered, by BCP 47 tag, with their own names. */
export const LANGUAGES = {
  en: 'English',
  es: 'Español',
  fr: 'Français',
  de: 'Deutsch',
  pt: 'Português',
  ja: '日本語',
  ar: 'العربية',
};
const RTL = new Set(['ar']);
const KEY = 'duet.language';

let lang = 'en';
let catalog = en;

/** The language in use (a key of LANGUAGES). */
export function locale() {
  return lang;
}

/**
 * The tag to hand `Intl` for dates, times and numbers: the person's own
 * regional tag when it is of the chosen language (`en-GB` keeps a
 * 24-hour clock, `pt-BR` its own date order), else the language itself.
 */
export function intlLocale(browser = navigator.languages ?? [navigator.language]) {
  for (const tag of browser) {
    if (String(tag).toLowerCase().split('-')[0] === lang) return String(tag);
  }
  return lang;
}

/** Calls `fn` after the person picks another language, to re-render. */
export function onLanguageChange(fn) {
  window.addEventListener('duet-language', () => fn(lang));
}

/** `key` in the page's language, `{name}`-style fields filled from `vars`. */
export function t(key, vars = {}) {
  const text = catalog[key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

/** The first of the person's languages Duet speaks, or English. */
export function preferred(stored = read(), browser = navigator.languages ?? [navigator.language]) {
  if (stored && stored in LANGUAGES) return stored;
  for (const tag of browser) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (base in LANGUAGES) return base;
  }
  return 'en';
}

/**
 * Loads the preferred language and translates the page. Call once,
 * before the page's own scripts render text.
 */
export async function initI18n() {
  await use(preferred());
  const select = document.getElementById('language-select');
  if (select) {
    select.replaceChildren(...Object.entries(LANGUAGES).map(([tag, name]) => {
      const option = document.createElement('option');
      option.value = tag;
      option.lang = tag;
      option.textContent = name;
      return option;
    }));
    select.value = lang;
    select.addEventListener('change', async () => {
      write(select.value);
      await use(select.value);
      // Scripts re-render what they wrote (status, buttons) in it.
      window.dispatchEvent(new Event('duet-language'));
    });
  }
}

async function use(tag) {
  lang = tag in LANGUAGES ? tag : 'en';
  try {
    catalog = lang === 'en' ? en : (await import(`./i18n/${lang}.js`)).default;
  } catch {
    lang = 'en';
    catalog = en;
  }
  document.documentElement.lang = lang;
  document.documentElement.dir = RTL.has(lang) ? 'rtl' : 'ltr';
  translate(document);
}

/** Rewrites every marked text and attribute under `root`. */
export function translate(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

function read() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

function write(tag) {
  try {
    localStorage.setItem(KEY, tag);
  } catch {
    // No storage: the choice lasts as long as the page.
  }
}
