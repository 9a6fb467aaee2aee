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
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    // Proof that the rules ran on this page, not on an empty document.
    if (result.passes.length < 20) return [{ id: 'axe-did-not-run', impact: 'critical', help: `${result.passes.length} rules passed`, nodes: [] }];
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1).join(' ')}`),
    }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = violations.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`# ${what}: minor accessibility notes: ${minor.map((v) => v.id).join(', ')}`);
  assert.deepEqual(bad, [], `${what}: serious or critical accessibility violations:\n${JSON.stringify(bad, null, 2)}`);
}
