import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import supertest from 'supertest';
import { createApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config/index.ts';
import type { MfaService } from '../../src/core/mfa-service.ts';
import { formatSetting, type PortalSettings } from '../../src/core/settings.ts';
import { createLogger, createServices, type Services } from '../../src/services.ts';
import { cliContext } from './context.ts';
import { createTemporaryPostgresDatabase } from './services.ts';

export interface TestPortal {
  app: Express;
  services: Services;
  config: Config;
  close(): Promise<void>;
}

/**
 * A real portal on a fresh SQLite file (or whatever DATABASE_URL the overrides name), built the
 * way server.ts builds it. Overrides are configuration keys, exactly as an operator sets them.
 * The `postgres` test project (vitest.config.ts) runs the same tests on a fresh PostgreSQL
 * database instead.
 */
export async function createTestPortal(
  overrides: Record<string, string> = {},
): Promise<TestPortal> {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-test-'));
  const postgres =
    process.env.TEST_DATABASE === 'postgres' && overrides.DATABASE_URL === undefined
      ? await createTemporaryPostgresDatabase()
      : undefined;
  const config = loadConfig({
    env: {
      DATABASE_URL: postgres?.url ?? `sqlite:${join(dir, 'mfa.sqlite')}`,
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'silent',
      ...overrides,
    },
  });
  const services = await createServices(config, createLogger(config));
  return {
    app: createApp(services),
    services,
    config,
    close: async () => {
      await services.close();
      await postgres?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Lets loopback skip the second step (the trusted-IP setting, SPEC J1), for tests about the
 * password step and sessions rather than about verification.
 */
export async function trustLoopback(portal: TestPortal): Promise<void> {
  await changeSettings(portal.services, { trustedIps: ['127.0.0.1', '::1'] });
}

/** Portal settings changed as the helpdesk changes them (SPEC A3), each checked and audited. */
export async function changeSettings(
  services: { mfa: MfaService },
  values: Partial<PortalSettings>,
): Promise<void> {
  for (const [key, value] of Object.entries(values)) {
    const changed = await services.mfa.administration.changeSetting(cliContext, {
      key,
      value: formatSetting(value),
    });
    if (changed.outcome !== 'changed') throw new Error(`${key}: ${changed.message}`);
  }
}

/** A user of the portal's own directory, added by the helpdesk (SPEC A2). */
export async function createUser(
  portal: { services: { mfa: MfaService } },
  username: string,
  password: string,
  role: 'user' | 'admin' = 'user',
  displayName = `${username} display`,
) {
  const created = await portal.services.mfa.administration.createUser(cliContext, {
    username,
    displayName,
    email: null,
    password,
    role,
  });
  if (created.outcome !== 'created') throw new Error(`${username} is taken`);
  return created.account;
}

/** The CSRF token of the first form on a page. */
export function csrfTokenFrom(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('No CSRF token on the page');
  return token;
}

/** An agent that keeps cookies, like a browser, with the path prefix of BASE_PATH. */
export function browserAgent(portal: TestPortal) {
  return supertest.agent(portal.app);
}

export async function signIn(
  agent: ReturnType<typeof supertest.agent>,
  username: string,
  password: string,
  basePath = '',
) {
  const page = await agent.get(`${basePath}/sign-in`).expect(200);
  return agent
    .post(`${basePath}/sign-in`)
    .type('form')
    .send({ _csrf: csrfTokenFrom(page.text), username, password });
}

/** The text of a page's one h1. */
export function headingOf(html: string): string | undefined {
  return /<h1>([^<]*)<\/h1>/.exec(html)?.[1];
}
