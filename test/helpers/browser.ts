import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AxeResults, RunOptions } from 'axe-core';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Page,
  type Response,
  type Route,
} from 'playwright-core';
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

/** One script-enabled tab per browser runs axe, so that a check does not pay for a new tab. */
const axeTabs = new WeakMap<Browser, Promise<Page>>();

function axeTabFor(browser: Browser): Promise<Page> {
  let tab = axeTabs.get(browser);
  if (!tab) {
    // The pages forbid every script by CSP; only this tab, which runs axe, bypasses it.
    tab = browser.newContext({ bypassCSP: true }).then((context) => context.newPage());
    axeTabs.set(browser, tab);
  }
  return tab;
}

/**
 * Runs axe on the page a scriptless user was shown, exactly as they received it (a page that
 * came from a POST cannot be fetched again with GET). Axe needs JavaScript, and evaluating it
 * where JavaScript is off crashes Chromium, so the same HTML is served to a script-enabled tab
 * at the same address; the stylesheet still comes from the server, so colour contrast is
 * checked. Checks in one browser must not overlap, as a file's tests do not.
 *
 * Returns one line per violation, so `expect(await axeViolations(page)).toEqual([])` reads well
 * when it fails.
 */
export async function axeViolations(shown: Page): Promise<string[]> {
  const browser = shown.context().browser();
  if (!browser) throw new Error('The page has no browser to run axe in');
  const address = new URL(shown.url());
  address.hash = ''; // a fragment alone would not load the document again
  const html = await shown.content();
  const tab = await axeTabFor(browser);
  const isShownPage = (url: URL) => url.href === address.href;
  const serveShownPage = (route: Route) =>
    route.fulfill({ body: html, contentType: 'text/html; charset=utf-8' });
  await tab.route(isShownPage, serveShownPage);
  try {
    await tab.goto(address.href);
    const styled = await tab.evaluate<boolean>(
      `[...document.styleSheets].some((sheet) => {
        try { return sheet.cssRules.length > 0; } catch { return false; }
      })`,
    );
    if (!styled) throw new Error(`The stylesheet did not load for ${address.href}`);
    await tab.addScriptTag({ content: axeSource });
    const results = await tab.evaluate<AxeResults>(
      `axe.run(document, ${JSON.stringify(axeOptions)})`,
    );
    return describeViolations(results);
  } finally {
    await tab.unroute(isShownPage, serveShownPage);
    // A page that refreshes itself would otherwise go on reloading in this tab.
    await tab.goto('about:blank');
  }
}

/** A document as a tab received it; a redirect has no body. */
export interface ReceivedDocument {
  url: string;
  status: number;
  policy: string;
  body: string;
  /** What the document made the tab ask for afterwards: stylesheets, images, scripts… */
  subresources: Subresource[];
}

export interface Subresource {
  url: string;
  type: string;
}

/** Reads a document response at once: its body is gone as soon as the tab navigates away. */
function readDocument(response: Response, subresources: Subresource[]): Promise<ReceivedDocument> {
  const status = response.status();
  const reading = (async () => ({
    url: response.url(),
    status,
    policy: (await response.allHeaders())['content-security-policy'] ?? '',
    body: status >= 300 && status < 400 ? '' : await response.text(),
    subresources,
  }))();
  // A failure is reported when the document is checked, not as an unhandled rejection before.
  reading.catch(() => undefined);
  return reading;
}

/**
 * Records every document the tab receives from now on, redirects included, with the requests
 * each one led to, so that a check can look at each of them later: take the ones not yet
 * checked with `received.splice(0)`.
 */
export function recordDocuments(page: Page): Promise<ReceivedDocument>[] {
  const received: Promise<ReceivedDocument>[] = [];
  let subresources: Subresource[] = [];
  page.on('request', (request) => {
    if (request.resourceType() !== 'document') {
      subresources.push({ url: request.url(), type: request.resourceType() });
    }
  });
  page.on('response', (response) => {
    if (response.request().resourceType() !== 'document') return;
    subresources = [];
    received.push(readDocument(response, subresources));
  });
  return received;
}

/** What a page costs the user's browser (SPEC P5), from the document and what it asked for. */
export interface PageWeight {
  /** The HTML and every stylesheet it links, in bytes, whether or not the browser had them. */
  bytes: number;
  /** Network requests: the document and its subresources (data: addresses are none). */
  requests: number;
  scripts: string[];
}

const publicDir = join(import.meta.dirname, '..', '..', 'public');

export function pageWeight(document: ReceivedDocument): PageWeight {
  const fetched = document.subresources.filter(({ url }) => !url.startsWith('data:'));
  const stylesheetBytes = fetched
    .filter(({ type }) => type === 'stylesheet')
    .map(
      ({ url }) =>
        statSync(join(publicDir, new URL(url).pathname.replace(/^.*\/assets\//, ''))).size,
    );
  return {
    bytes: Buffer.byteLength(document.body) + stylesheetBytes.reduce((sum, size) => sum + size, 0),
    requests: 1 + fetched.length,
    scripts: fetched.filter(({ type }) => type === 'script').map(({ url }) => url),
  };
}
