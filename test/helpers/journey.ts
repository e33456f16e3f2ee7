import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TFunction } from 'i18next';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startServer, type RunningServer } from '../../src/http-server.ts';
import type { Language } from '../../src/i18n.ts';
import { axeViolations, type ReceivedDocument } from './browser.ts';

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
 * What every page must be (SPEC S3, L1): sent under a CSP that allows no script and without a
 * script tag, like every document before it in the tab, redirects and self-refreshes included; in
 * the tab's language; with each id used once; and free of axe violations. Axe findings are soft,
 * so that a journey goes on and reports the violations of every page it reaches.
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
  expect(await page.locator('html').getAttribute('lang')).toBe(lng);
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(expected.heading);
  expect(await page.locator('script').count()).toBe(0);
  const ids = [...(await page.content()).matchAll(/\sid="([^"]*)"/g)].map((match) => match[1]);
  const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
  expect.soft(repeated, `ids used twice on ${pathOf(page)}`).toEqual([]);
  expect.soft(await axeViolations(page), `axe on ${pathOf(page)} in ${lng}`).toEqual([]);
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
