import { accessSync, constants, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AxeResults, RunOptions } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { needs } from './services.ts';

/** Debian's Chromium; Playwright's own browser download is not used. */
export const chromiumPath = '/usr/bin/chromium';

const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/** SPEC L1: WCAG 2.2 AA and axe's best practices. */
const axeOptions: RunOptions = {
  runOnly: {
    type: 'tag',
    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'],
  },
};

function chromiumUnavailable(): Promise<string | undefined> {
  try {
    accessSync(chromiumPath, constants.X_OK);
    return Promise.resolve(undefined);
  } catch {
    return Promise.resolve(`no executable at ${chromiumPath}`);
  }
}

/**
 * True when the browser tests must be skipped: locally a missing Chromium says so in one line,
 * under CI=true it throws. Use as `describe.skipIf(await browserMissing())`.
 */
export function browserMissing(): Promise<boolean> {
  return needs('Chromium', chromiumUnavailable);
}

/** Each launch gets a fresh profile of its own. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}

/** How a user browses under SPEC L2: no JavaScript at all. */
export async function newScriptlessContext(
  browser: Browser,
  baseURL: string,
): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, javaScriptEnabled: false });
  // A missing element fails the step that needs it, well before the test's own timeout.
  context.setDefaultTimeout(10_000);
  return context;
}

/** One line per violation and element: the rule, what is wrong, and where. */
function describeViolations(results: AxeResults): string[] {
  return results.violations.flatMap((violation) =>
    violation.nodes.map(
      (node) =>
        `${violation.id} (${violation.impact ?? 'no impact'}): ${violation.help} at ` +
        `${node.target.join(' ')}: ${node.failureSummary ?? node.html}`,
    ),
  );
}

/**
 * Runs axe on the page a scriptless user was shown, exactly as they received it (a page that
 * came from a POST cannot be fetched again with GET). Axe needs JavaScript, and evaluating it
 * where JavaScript is off crashes Chromium, so the same HTML is served to a second, script-enabled
 * context at the same address; the stylesheet still comes from the server, so colour contrast
 * is checked. The pages forbid all scripts by CSP, which this context alone bypasses.
 *
 * Returns one line per violation, so `expect(await axeViolations(page)).toEqual([])` reads well
 * when it fails.
 */
export async function axeViolations(shown: Page): Promise<string[]> {
  const address = shown.url();
  const html = await shown.content();
  const context = await shown
    .context()
    .browser()
    ?.newContext({ bypassCSP: true, javaScriptEnabled: true });
  if (!context) throw new Error('The page has no browser to open an axe context in');
  try {
    const page = await context.newPage();
    await page.route(
      (url) => url.href === address,
      (route) => route.fulfill({ body: html, contentType: 'text/html; charset=utf-8' }),
    );
    await page.goto(address);
    const styled = await page.evaluate<boolean>(
      `[...document.styleSheets].some((sheet) => {
        try { return sheet.cssRules.length > 0; } catch { return false; }
      })`,
    );
    if (!styled) throw new Error(`The stylesheet did not load for ${address}`);
    await page.addScriptTag({ content: axeSource });
    const results = await page.evaluate<AxeResults>(
      `axe.run(document, ${JSON.stringify(axeOptions)})`,
    );
    return describeViolations(results);
  } finally {
    await context.close();
  }
}
