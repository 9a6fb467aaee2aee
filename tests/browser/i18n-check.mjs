// Checks shared by the browser tests of translated pages: the catalogs
// (web-client/i18n/<lang>.js) and what a page shows against them.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { REPO_ROOT } from './harness.mjs';

/** The languages Duet speaks, English (the source) first. */
export const LANGS = ['en', 'es', 'fr', 'de', 'pt', 'ja', 'ar'];

/** Every language's catalog, by tag: `{ en: {key: text}, … }`. */
export async function loadCatalogs() {
  const catalogs = {};
  for (const lang of LANGS) {
    const file = join(REPO_ROOT, 'web-client', 'i18n', `${lang}.js`);
    catalogs[lang] = (await import(pathToFileURL(file).href)).default;
  }
  return catalogs;
}

/**
 * What the page shows for each marked element (`data-i18n`) and attribute
 * (`data-i18n-attr`) that is not the catalog's text: `[]` when all are.
 */
export async function untranslated(page, catalog) {
  return page.evaluate((cat) => {
    const wrong = [];
    for (const el of document.querySelectorAll('[data-i18n]')) {
      if (el.textContent !== cat[el.dataset.i18n]) wrong.push(`${el.dataset.i18n}: ${el.textContent}`);
    }
    for (const el of document.querySelectorAll('[data-i18n-attr]')) {
      for (const pair of el.dataset.i18nAttr.split(';')) {
        const [attr, key] = pair.split(':');
        if (el.getAttribute(attr) !== cat[key]) wrong.push(`${key} (${attr}): ${el.getAttribute(attr)}`);
      }
    }
    return wrong;
  }, catalog);
}

/**
 * Visible text and attributes (aria-label, title, placeholder, alt) that
 * still look like a catalog key with `prefix` ("pair/"): a key the catalog
 * lacks shows as itself.
 */
export async function leftoverKeys(page, prefix) {
  return page.evaluate((p) => {
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.textContent.includes(p) && node.parentElement?.checkVisibility?.() !== false) found.push(node.textContent.trim());
    }
    for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
      for (const attr of ['aria-label', 'title', 'placeholder', 'alt']) {
        if (el.getAttribute(attr)?.includes(p)) found.push(`${attr}: ${el.getAttribute(attr)}`);
      }
    }
    if (document.title.includes(p)) found.push(`title: ${document.title}`);
    return found;
  }, prefix);
}
