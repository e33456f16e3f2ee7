import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  signIn,
  trustLoopback,
  type TestPortal,
} from '../helpers/app.ts';
import {
  eventually,
  freePort,
  redisServerMissing,
  startPortalProcess,
  startRedisServer,
  startTcpProxy,
  type PortalProcess,
  type RedisServer,
  type TcpProxy,
} from '../helpers/outages.ts';
import {
  createTemporaryPostgresDatabase,
  needs,
  postgresUnavailable,
} from '../helpers/services.ts';

const noRedisServer = await needs('redis-server', redisServerMissing);
const noPostgres = await needs('PostgreSQL', postgresUnavailable);

const password = 'a long enough password';
const unavailable = {
  en: 'The service is temporarily unavailable',
  nl: 'De dienst is tijdelijk niet beschikbaar',
  fr: 'Le service est temporairement indisponible',
} as const;

/** A request that answers within ~2 s, as every request must while a dependency is down. */
async function quickly<T>(request: PromiseLike<T>): Promise<T> {
  const started = Date.now();
  const response = await request;
  expect(Date.now() - started).toBeLessThan(2500);
  return response;
}

type Agent = ReturnType<typeof browserAgent>;

/** The signed-in agent's own page, in each language, is the unavailable page. */
async function expectUnavailablePages(agent: Agent) {
  for (const lng of ['en', 'nl', 'fr'] as const) {
    const page = await quickly(agent.get(`/account?lng=${lng}`));
    expect(page.status).toBe(503);
    expect(page.headers['retry-after']).toBe('30');
    expect(page.text).toContain(unavailable[lng]);
  }
}

/** A signed-in user, and a visitor with the sign-in form open in `lng`: before the outage. */
async function userAndVisitor(portal: TestPortal, lng: keyof typeof unavailable) {
  const user = browserAgent(portal);
  expect((await signIn(user, 'sanne', password)).status).toBe(303);
  await user.get('/account').expect(200);
  const visitor = browserAgent(portal);
  const form = await visitor.get(`/sign-in?lng=${lng}`).expect(200);
  return { user, visitor, form: form.text };
}

/**
 * During the outage: the user's pages and the visitor's sign-in are the unavailable page, at
 * once; the portal is alive but not ready.
 */
async function expectOutage(
  portal: TestPortal,
  { user, visitor, form }: Awaited<ReturnType<typeof userAndVisitor>>,
  lng: keyof typeof unavailable,
  checks: Record<string, 'ok' | 'failed'>,
) {
  await expectUnavailablePages(user);
  const refused = await quickly(
    visitor
      .post('/sign-in')
      .type('form')
      .send({ _csrf: csrfTokenFrom(form), username: 'sanne', password }),
  );
  expect(refused.status).toBe(503);
  expect(refused.text).toContain(unavailable[lng]);
  expect(await readiness(portal)).toEqual({ status: 503, checks });
  await supertest(portal.app).get('/healthz').expect(200);
}

async function readiness(portal: TestPortal) {
  const ready = await quickly(supertest(portal.app).get('/readyz'));
  return { status: ready.status, checks: (ready.body as { checks: unknown }).checks };
}

describe.skipIf(noRedisServer)('Redis outage while serving (SPEC O5)', () => {
  let redis: RedisServer;
  let portal: TestPortal;

  beforeAll(async () => {
    redis = await startRedisServer();
    portal = await createTestPortal({ REDIS_URL: redis.url });
    await trustLoopback(portal);
    await createUser(portal, 'sanne', password);
  });
  afterAll(async () => {
    await portal.close();
    await redis.stop();
  });

  it('answers 503 at once, is not ready, writes nothing, and serves again once Redis is back', async () => {
    const people = await userAndVisitor(portal, 'fr');
    const audited = async () =>
      (
        await portal.services.database.db
          .selectFrom('audit_events')
          .select(({ fn }) => fn.countAll<number>().as('count'))
          .executeTakeFirstOrThrow()
      ).count;
    const auditedBefore = await audited();

    await redis.stop();
    await expectOutage(portal, people, 'fr', { database: 'ok', redis: 'failed' });
    // Not a line of audit for a password the portal could not act on.
    expect(await audited()).toBe(auditedBefore);
    // Not even a sign-in form, which would only lead to the same page.
    const signInPage = await quickly(people.visitor.get('/sign-in?lng=nl'));
    expect(signInPage.status).toBe(503);
    expect(signInPage.text).toContain(unavailable.nl);

    await redis.start();
    await eventually(async () => (await readiness(portal)).status === 200);
    // That Redis kept nothing: the old session is gone, and signing in again works.
    await people.user.get('/account').expect(302);
    expect((await signIn(people.user, 'sanne', password)).status).toBe(303);
    await people.user.get('/account').expect(200);
  });
});

describe.skipIf(noRedisServer)('a portal started while Redis is down (SPEC O5)', () => {
  let redis: RedisServer | undefined;
  let portal: PortalProcess | undefined;
  afterAll(async () => {
    await portal?.kill('SIGTERM');
    await redis?.stop();
  });

  it('listens, says so once, and works once Redis comes up', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mfa-no-redis-'));
    portal = await startPortalProcess({
      DATABASE_URL: `sqlite:${join(dir, 'mfa.sqlite')}`,
      REDIS_URL: `redis://127.0.0.1:${String(port)}`,
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    });
    const app = supertest(portal.url);
    const ready = await quickly(app.get('/readyz'));
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      status: 'unavailable',
      checks: { database: 'ok', redis: 'failed' },
    });
    const page = await quickly(app.get('/sign-in?lng=fr'));
    expect(page.status).toBe(503);
    expect(page.headers['retry-after']).toBe('30');
    expect(page.text).toContain(unavailable.fr);

    // The client retries every 50 ms, 100 ms, … up to 2 s; the log says it once.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const aboutRedis = (running: PortalProcess) =>
      running.logs().filter((line) => line.msg.includes('Redis'));
    expect(aboutRedis(portal)).toEqual([
      expect.objectContaining({
        level: 40,
        msg: expect.stringContaining('Redis cannot be reached') as string,
        err: expect.objectContaining({ code: 'ECONNREFUSED' }) as object,
      }),
    ]);

    redis = await startRedisServer(port);
    await eventually(async () => (await app.get('/readyz')).status === 200);
    expect(aboutRedis(portal).map((line) => line.msg)).toEqual([
      expect.stringContaining('Redis cannot be reached'),
      'Redis is reachable again',
    ]);
    // The sign-in form, its CSRF check and the rate limit in Redis all work.
    const visitor = supertest.agent(portal.url);
    const form = await visitor.get('/sign-in').expect(200);
    const attempt = await visitor
      .post('/sign-in')
      .type('form')
      .send({ _csrf: csrfTokenFrom(form.text), username: 'nobody', password: 'wrong' });
    expect(attempt.status).toBe(400);
    expect(attempt.headers.ratelimit).toMatch(/; r=19;/);
  });
});

describe.skipIf(noPostgres)('database outage while serving (SPEC O5)', () => {
  let proxy: TcpProxy;
  let temporary: Awaited<ReturnType<typeof createTemporaryPostgresDatabase>>;
  let portal: TestPortal;

  beforeAll(async () => {
    temporary = await createTemporaryPostgresDatabase();
    const direct = new URL(temporary.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    direct.port = String(proxy.port);
    // Sessions in the database, as without Redis.
    portal = await createTestPortal({ DATABASE_URL: direct.toString() });
    await trustLoopback(portal);
    await createUser(portal, 'sanne', password);
  });
  afterAll(async () => {
    await portal.close();
    await proxy.close();
    await temporary.drop();
  });

  it('answers 503 at once, is not ready, and serves the same session again once it is back', async () => {
    const people = await userAndVisitor(portal, 'nl');

    await proxy.cut();
    await expectOutage(portal, people, 'nl', { database: 'failed' });

    await proxy.restore();
    await eventually(async () => (await readiness(portal)).status === 200);
    const account = await people.user.get('/account').expect(200);
    expect(account.text).toContain('sanne display');
  });

  it('does not hold a request longer than two seconds when the database stops answering', async () => {
    const agent = browserAgent(portal);
    expect((await signIn(agent, 'sanne', password)).status).toBe(303);

    proxy.stall();
    const page = await quickly(agent.get('/account?lng=fr'));
    expect(page.status).toBe(503);
    expect(page.text).toContain(unavailable.fr);
    expect((await readiness(portal)).status).toBe(503);

    await proxy.restore();
    await eventually(async () => (await readiness(portal)).status === 200);
    await agent.get('/account').expect(200);
  });
});
