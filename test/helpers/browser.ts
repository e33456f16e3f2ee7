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

/** One script-enabled tab per browser runs axe and the reflow check, so that a check does not pay
 * for a new tab. */
const axeTabs = new WeakMap<Browser, Promise<Page>>();

/** Playwright's default, which the tab gets back after a check at other widths. */
const defaultViewport = { width: 1280, height: 720 };

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
 * Shows the page a scriptless user was shown, exactly as they received it (a page that came from
 * a POST cannot be fetched again with GET), in the script-enabled tab and runs `check` there.
 * Evaluating a script where JavaScript is off crashes Chromium, so the same HTML is served to
 * that tab at the same address; the stylesheet still comes from the server. Checks in one
 * browser must not overlap, as a file's tests do not.
 */
async function inScriptTab<T>(shown: Page, check: (tab: Page) => Promise<T>): Promise<T> {
  const browser = shown.context().browser();
  if (!browser) throw new Error('The page has no browser to check it in');
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
    return await check(tab);
  } finally {
    await tab.unroute(isShownPage, serveShownPage);
    // A page that refreshes itself would otherwise go on reloading in this tab.
    await tab.goto('about:blank');
  }
}

/**
 * Runs axe on the page a scriptless user was shown, so that colour contrast is checked with the
 * portal's stylesheet. Returns one line per violation, so that
 * `expect(await axeViolations(page)).toEqual([])` reads well when it fails.
 */
export function axeViolations(shown: Page): Promise<string[]> {
  return inScriptTab(shown, async (tab) => {
    await tab.addScriptTag({ content: axeSource });
    const results = await tab.evaluate<AxeResults>(
      `axe.run(document, ${JSON.stringify(axeOptions)})`,
    );
    return describeViolations(results);
  });
}

/**
 * WCAG 1.4.10 (SPEC L1): the widths at which a page must fit without scrolling sideways, a phone
 * 320 CSS px wide and a 1280 px screen at 200 % zoom, which lays a page out 640 CSS px wide.
 */
export const reflowViewports = [
  { name: '320 px', width: 320, height: 568 },
  { name: '1280 px at 200 %', width: 640, height: 360 },
] as const;

/** How far a page reaches sideways at the tab's width, and the element that reaches furthest. */
interface Overflow {
  clientWidth: number;
  scrollWidth: number;
  /** Where a fix goes, if anything is past the right edge (see `measureOverflow`). */
  widest?: { element: string; left: number; right: number };
}

/*
 * Runs in the page. Of the elements and runs of text past the right edge, the one reported is
 * the furthest out of those that stick out of their parent, which is where a fix goes (a
 * fieldset widened by its select, a word too long to wrap), or else the furthest out. What a
 * region that scrolls by itself clips (the tables' `.table-wrap`) is left out: a data table may
 * scroll within its region (1.4.10 excepts two-dimensional layout), as long as the region fits
 * the page. An absolutely positioned element (visually hidden text) escapes every scrolling
 * ancestor below its containing block, so it still counts.
 */
const measureOverflow = `(() => {
  const root = document.documentElement;
  const clientWidth = root.clientWidth;
  const clippedByScroller = (element) => {
    let position = getComputedStyle(element).position;
    for (let parent = element.parentElement; parent && parent !== document.body; parent = parent.parentElement) {
      if (position === 'fixed') return false;
      const style = getComputedStyle(parent);
      if (position === 'absolute' && style.position === 'static') continue;
      if (style.overflowX !== 'visible') return true;
      position = style.position;
    }
    return false;
  };
  const describe = (element) =>
    element.tagName.toLowerCase() +
    (element.id ? '#' + element.id : '') +
    [...element.classList].map((name) => '.' + name).join('') +
    ' "' + (element.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 40) + '"';
  const past = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const isText = node.nodeType === Node.TEXT_NODE;
    if (isText && !node.textContent.trim()) continue;
    const element = isText ? node.parentElement : node;
    let box;
    if (isText) {
      const range = document.createRange();
      range.selectNodeContents(node);
      box = range.getBoundingClientRect();
    } else {
      box = node.getBoundingClientRect();
    }
    if (box.right <= clientWidth || clippedByScroller(element)) continue;
    if (isText && getComputedStyle(element).overflowX !== 'visible') continue;
    const parent = isText ? element : element.parentElement;
    const escapes = box.right > parent.getBoundingClientRect().right + 0.5;
    past.push({
      element: (isText ? 'text in ' : '') + describe(element),
      left: box.left,
      right: box.right,
      escapes,
    });
  }
  const furthest = (boxes) => boxes.reduce((best, box) => (!best || box.right > best.right ? box : best), undefined);
  const widest = furthest(past.filter((box) => box.escapes)) ?? furthest(past);
  return { clientWidth, scrollWidth: root.scrollWidth, widest };
})()`;

/**
 * WCAG 1.4.10 on the page a scriptless user was shown, at each of `reflowViewports`: a page wider
 * than the window, or an element sticking out of it, fails with its path, how wide it is and the
 * element reaching furthest. Returns one line per failing width, so
 * `expect(await reflowFailures(page)).toEqual([])` reads well when it fails.
 */
export function reflowFailures(shown: Page): Promise<string[]> {
  const shownAt = new URL(shown.url());
  const path = shownAt.pathname + shownAt.search;
  return inScriptTab(shown, async (tab) => {
    const failures: string[] = [];
    try {
      for (const viewport of reflowViewports) {
        await tab.setViewportSize(viewport);
        const { clientWidth, scrollWidth, widest } = await tab.evaluate<Overflow>(measureOverflow);
        if (scrollWidth <= clientWidth && !widest) continue;
        const element = widest
          ? `${widest.element} from ${widest.left.toFixed(1)} to ${widest.right.toFixed(1)} px`
          : 'no single element';
        failures.push(
          `${path} at ${viewport.name} is ${String(scrollWidth)} px wide for ` +
            `${String(clientWidth)}: furthest out ${element}`,
        );
      }
    } finally {
      await tab.setViewportSize(defaultViewport);
    }
    return failures;
  });
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
