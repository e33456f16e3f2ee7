import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TFunction } from 'i18next';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startServer, type RunningServer } from '../../src/http-server.ts';
import type { Language } from '../../src/i18n.ts';
import type { Services } from '../../src/services.ts';
import {
  axeViolations,
  launchBrowser,
  newScriptlessContext,
  pageWeight,
  recordDocuments,
  reflowFailures,
  type ReceivedDocument,
} from './browser.ts';
import { appCode } from './two-step.ts';

/** A scriptless tab in one language, and the documents it received that no check looked at. */
export interface Journey {
  page: Page;
  lng: Language;
  t: TFunction;
  unchecked: Promise<ReceivedDocument>[];
}

export function pathOf(page: Page): string {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

/** Presses Enter on a control, as a keyboard user would, and waits for the page it leads to. */
export async function pressEnter(page: Page, control: Locator): Promise<void> {
  await Promise.all([page.waitForEvent('load'), control.press('Enter')]);
}

/** Presses Tab until the control (or one of the controls) has the focus. */
export async function tabTo(page: Page, control: Locator): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press('Tab');
    if ((await control.and(page.locator(':focus')).count()) > 0) return;
  }
  throw new Error(`Tab never reaches ${control.toString()}`);
}

/**
 * Chooses a radio as a keyboard user does: Tab into its group, the arrow keys to move to it, and
 * Space when the group had no choice yet.
 */
export async function chooseRadio(page: Page, name: string, value: string): Promise<void> {
  const group = page.locator(`input[type="radio"][name="${name}"]`);
  const wanted = group.and(page.locator(`[value="${value}"]`));
  await tabTo(page, group);
  const size = await group.count();
  for (let moves = 0; moves < size; moves++) {
    if ((await wanted.and(page.locator(':focus')).count()) === 1) break;
    await page.keyboard.press('ArrowDown');
  }
  if (!(await wanted.isChecked())) await page.keyboard.press('Space');
  expect(await wanted.isChecked(), `${name} = ${value}`).toBe(true);
}

/**
 * What every page must be (SPEC S3, L1, P5): sent under a CSP that allows no script and without a
 * script tag, like every document before it in the tab, redirects and self-refreshes included;
 * at most 20 KB of HTML and CSS in at most 3 requests; in the tab's language; with each id used
 * once; free of axe violations; and without sideways scrolling at 320 px or at 200 % zoom (WCAG
 * 1.4.10). Axe, reflow and weight findings are soft, so that a journey goes on and reports the
 * failures of every page it reaches.
 */
export async function expectPage(
  { page, lng, unchecked }: Journey,
  expected: { status: number; heading: string },
): Promise<void> {
  const documents = await Promise.all(unchecked.splice(0));
  expect(documents.at(-1)?.status, pathOf(page)).toBe(expected.status);
  for (const { url, policy, body } of documents) {
    const directives = policy.split(';').map((directive) => directive.trim());
    expect(directives, `CSP of ${url}`).toContain("script-src 'none'");
    expect(body, url).not.toMatch(/<script/i);
  }
  // SPEC P5: light pages, checked once the page and what it links have loaded.
  await page.waitForLoadState('load');
  const weight = pageWeight(documents.at(-1) as ReceivedDocument);
  expect(weight.scripts, `scripts of ${pathOf(page)}`).toEqual([]);
  expect.soft(weight.bytes, `HTML + CSS bytes of ${pathOf(page)}`).toBeLessThanOrEqual(20_000);
  expect.soft(weight.requests, `requests of ${pathOf(page)}`).toBeLessThanOrEqual(3);
  expect(await page.locator('html').getAttribute('lang')).toBe(lng);
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(expected.heading);
  expect(await page.locator('script').count()).toBe(0);
  const ids = [...(await page.content()).matchAll(/\sid="([^"]*)"/g)].map((match) => match[1]);
  const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
  expect.soft(repeated, `ids used twice on ${pathOf(page)}`).toEqual([]);
  expect.soft(await axeViolations(page), `axe on ${pathOf(page)} in ${lng}`).toEqual([]);
  expect.soft(await reflowFailures(page), `reflow of ${pathOf(page)} in ${lng}`).toEqual([]);
}

export interface E2eServer {
  running: RunningServer;
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * The real portal on a fresh SQLite file for one browser test: plain HTTP at the root, whatever
 * a web.config or local.json in the checkout says; `env` adds the keys a test needs.
 */
export async function startE2eServer(env: Record<string, string> = {}): Promise<E2eServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mfa-e2e-'));
  const running = await startServer(
    loadConfig({
      env: {
        DATABASE_URL: `sqlite:${join(dataDir, 'mfa.sqlite')}`,
        PORT: '0',
        BASE_PATH: '',
        SSL_REQUIRED: 'false',
        LOG_LEVEL: 'silent',
        ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        ...env,
      },
    }),
  );
  return {
    running,
    baseUrl: `http://127.0.0.1:${String(running.address)}`,
    stop: async () => {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A browser and the real portal for the tests of one describe block. */
export interface BrowserPortal {
  readonly server: E2eServer;
  readonly services: Services;
  /** A new scriptless tab in that language, closed after the test; it opens no page yet. */
  openTab(lng: Language): Promise<Journey>;
}

/**
 * Starts a browser for the enclosing describe block, and the portal with `env` for the block or,
 * with `serverPerTest`, for each test; every tab a test opened is closed after it. Hooks the
 * caller adds after this call run once the browser and the portal are up.
 */
export function useBrowserPortal(
  env: Record<string, string> = {},
  { serverPerTest = false } = {},
): BrowserPortal {
  let browser: Browser | undefined;
  let server: E2eServer | undefined;
  const contexts: BrowserContext[] = [];
  const started = (): E2eServer => {
    if (!server) throw new Error('The portal is not running');
    return server;
  };
  const startPortal = async () => {
    server = await startE2eServer(env);
  };
  const stopPortal = async () => {
    await server?.stop();
    server = undefined;
  };

  beforeAll(async () => {
    browser = await launchBrowser();
    if (!serverPerTest) await startPortal();
  });
  if (serverPerTest) beforeEach(startPortal);
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    if (serverPerTest) await stopPortal();
  });
  afterAll(async () => {
    await browser?.close();
    await stopPortal();
  });

  return {
    get server() {
      return started();
    },
    get services() {
      return started().running.services;
    },
    async openTab(lng) {
      if (!browser) throw new Error('The browser is not running');
      const context = await newScriptlessContext(browser, started().baseUrl);
      contexts.push(context);
      const page = await context.newPage();
      const t = started().running.services.i18n.getFixedT(lng);
      return { page, lng, t, unchecked: recordDocuments(page) };
    },
  };
}

/** A new tab on the sign-in page in that language, checked like every page. */
export async function openSignInPage(portal: BrowserPortal, lng: Language): Promise<Journey> {
  const journey = await portal.openTab(lng);
  await journey.page.goto(`/sign-in?lng=${lng}`);
  await expectPage(journey, { status: 200, heading: journey.t('signIn.title') });
  return journey;
}

/** Fills the sign-in form on the current page and submits it from the password field. */
export async function submitSignIn(
  { page, t }: Journey,
  username: string,
  password: string,
): Promise<void> {
  await page.getByLabel(t('signIn.username'), { exact: true }).fill(username);
  const passwordField = page.getByLabel(t('signIn.password'), { exact: true });
  await passwordField.fill(password);
  await pressEnter(page, passwordField);
}

/**
 * From the sign-in page, the password and then a code from the mobile app, each page checked:
 * the session on My account then holds a fresh proof.
 */
export async function signInWithApp(
  journey: Journey,
  username: string,
  password: string,
  secret: Buffer,
): Promise<void> {
  const { page, t } = journey;
  await submitSignIn(journey, username, password);
  expect(pathOf(page)).toBe('/verify');
  await expectPage(journey, { status: 200, heading: t('verify.app.title') });
  const code = page.getByLabel(t('codes.appLabel'), { exact: true });
  await code.fill(appCode(secret));
  await pressEnter(page, code);
  expect(pathOf(page)).toBe('/account');
  await expectPage(journey, { status: 200, heading: t('account.title') });
}

/** The header's sign-out button, by keyboard; the tab lands on the sign-in page. */
export async function signOut({ page, t }: Journey): Promise<void> {
  await pressEnter(page, page.getByRole('button', { name: t('common.signOut') }));
  expect(pathOf(page)).toBe('/sign-in?signedOut');
}

/** Back on My account after a change, with the confirmation of that change. */
export async function expectDone(journey: Journey, done: string): Promise<void> {
  const { page, t } = journey;
  expect(pathOf(page)).toBe(`/account?done=${done}`);
  await expectPage(journey, { status: 200, heading: t('account.title') });
  expect(await page.getByRole('status').textContent()).toBe(t(`account.done.${done}`));
}

/** SPEC L3: an "Error:" title and a summary whose every link leads to a field of the form. */
/** Follows a link by keyboard to the page it leads to, and checks that page (SPEC L2). */
export async function followLink(
  journey: Journey,
  link: { name: string | RegExp; path: string; heading: string },
): Promise<void> {
  const { page } = journey;
  const control = page.getByRole('link', { name: link.name, exact: true });
  await tabTo(page, control);
  await pressEnter(page, control);
  expect(pathOf(page)).toBe(link.path);
  await expectPage(journey, { status: 200, heading: link.heading });
}

/** Presses the page's button of that name, by keyboard. */
export async function pressButton({ page }: Journey, name: string): Promise<void> {
  const button = page.getByRole('button', { name, exact: true });
  await tabTo(page, button);
  await pressEnter(page, button);
}

export async function expectErrorSummary({ page, t }: Journey, messages: string[]): Promise<void> {
  const title = await page.title();
  expect(title.startsWith(`${t('common.errorPrefix')} `), `title "${title}"`).toBe(true);
  const summary = page.locator('.error-summary[role="alert"]');
  expect(await summary.getByRole('heading').textContent()).toBe(t('common.errorSummaryTitle'));
  const links = await summary.getByRole('link').all();
  expect(await Promise.all(links.map((link) => link.textContent()))).toEqual(messages);
  for (const link of links) {
    const href = (await link.getAttribute('href')) ?? '';
    const field = page.locator(`:is(input, select, textarea)[id="${href.slice(1)}"]`);
    expect(await field.count(), `the field ${href} of "${await link.textContent()}"`).toBe(1);
  }
}

/**
 * SPEC L3 for a form with one error: the summary's one link leads to the field, which is marked
 * invalid and takes the focus when the link is followed by keyboard.
 */
export async function expectFieldError(
  journey: Journey,
  field: string,
  message: string,
): Promise<void> {
  const { page } = journey;
  await expectErrorSummary(journey, [message]);
  const link = page.locator('.error-summary[role="alert"]').getByRole('link');
  expect(await link.getAttribute('href')).toBe(`#${field}`);
  expect(await page.locator(`[id="${field}"]`).getAttribute('aria-invalid')).toBe('true');
  await link.press('Enter');
  expect(await page.locator(':focus').getAttribute('id')).toBe(field);
}

/** What My account's summary shows for a method (SPEC J3): the row's value, or undefined. */
export async function summaryValue(page: Page, label: string): Promise<string | undefined> {
  const row = page
    .locator('.summary > div')
    .filter({ has: page.locator('dt').getByText(label, { exact: true }) });
  if ((await row.count()) !== 1) return undefined;
  return (await row.locator('dd').first().textContent()) ?? undefined;
}
