// Accessibility check with axe-core (the engine behind Lighthouse's and
// the browsers' own audits), run inside the page under test: no serious
// or critical violation of WCAG 2.x A/AA rules and axe's best practices.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let source = null;

/** Fails with each serious or critical violation, its rule and where. */
export async function assertAccessible(page, what) {
  // Evaluated through the DevTools protocol: the pages' Content Security
  // Policy (script-src 'self') rightly refuses an injected script tag.
  source ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(source);
  const { passed, violations } = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    const passed = result.passes.length;
    // Proof that the rules ran on this page, not on an empty document.
    if (passed < 20) return { passed, violations: [{ id: 'axe-did-not-run', impact: 'critical', help: `${passed} rules passed`, nodes: [] }] };
    return { passed, violations: result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1).join(' ')}`),
    })) };
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = violations.filter((v) => !bad.includes(v));
  // The result per page, in the test output.
  console.log(`# axe-core, ${what}: ${passed} rules passed, ${bad.length} serious or critical, ${minor.length} minor${minor.length ? ` (${minor.map((v) => v.id).join(', ')})` : ''}`);
  assert.deepEqual(bad, [], `${what}: serious or critical accessibility violations:\n${JSON.stringify(bad, null, 2)}`);
}

/**
 * Tabs through the whole page and fails unless every control a person can
 * see is reached, and shows where the focus is (an outline, or a box
 * shadow standing in for one) when it is. Radio buttons count per group:
 * the arrow keys move within one.
 */
export async function assertKeyboardReachable(page, what, { maxTabs = 300 } = {}) {
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.duetKeyboardSeen = new Map();
  });
  for (let i = 0; i < maxTabs; i += 1) {
    await page.keyboard.press('Tab');
    // Around once: back at the first control. (A date field takes
    // several Tabs, one per part, so a control seen again is not the end.)
    const around = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return false;
      const seen = window.duetKeyboardSeen;
      if (seen.size > 1 && el === seen.keys().next().value) return true;
      if (seen.has(el)) return false;
      const style = getComputedStyle(el);
      seen.set(el, (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none');
      return false;
    });
    if (around) break;
  }
  const { missed, unringed, reached } = await page.evaluate(() => {
    const seen = window.duetKeyboardSeen;
    const name = (el) => el.dataset.testid || el.id || `${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30)}"`;
    // Inside a closed <details> only its summary shows (Chromium still
    // lays the rest out, so its boxes alone do not tell).
    const folded = (el) => {
      const details = el.closest('details:not([open])');
      return Boolean(details) && el.parentElement !== details;
    };
    const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'
      && !el.closest('[inert], [aria-hidden="true"]') && !folded(el);
    const controls = [...document.querySelectorAll(
      'a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]:not([tabindex="-1"])',
    )].filter((el) => !el.disabled && el.tabIndex >= 0 && shown(el));
    const groups = new Map();
    const missedNow = [];
    for (const el of controls) {
      if (el.type === 'radio' && el.name) {
        groups.set(el.name, (groups.get(el.name) ?? false) || seen.has(el));
      } else if (!seen.has(el)) {
        missedNow.push(name(el));
      }
    }
    for (const [group, hit] of groups) if (!hit) missedNow.push(`radio group ${group}`);
    return {
      missed: missedNow,
      unringed: [...seen].filter(([, ring]) => !ring).map(([el]) => name(el)),
      reached: seen.size,
    };
  });
  console.log(`# keyboard, ${what}: ${reached} controls reached with Tab`);
  assert.deepEqual(missed, [], `${what}: controls not reached with Tab`);
  assert.deepEqual(unringed, [], `${what}: controls that hide where the focus is`);
}
