import { randomBytes } from 'node:crypto';
import { request as httpRequest, Agent as HttpAgent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  type TestPortal,
} from '../helpers/app.ts';
import { needs, redisUnavailable, redisUrl } from '../helpers/services.ts';

/** What an anonymous visitor asks for: pages, a language switch, errors, assets. */
const paths = [
  '/sign-in',
  '/sign-in?lng=nl',
  '/',
  '/not-enrolled',
  '/no-such-page',
  '/account',
  '/setup/app',
  '/verify',
  '/assets/styles.css',
];

/** `count` GETs over one keep-alive connection pool, each answered in full. */
async function anonymousGets(server: Server, count: number): Promise<Map<number, number>> {
  const { port } = server.address() as AddressInfo;
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const path = paths[next++ % paths.length] ?? '/';
      const status = await new Promise<number>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port, path, agent }, (response) => {
          response.resume();
          response.on('end', () => {
            resolve(response.statusCode ?? 0);
          });
        })
          .on('error', reject)
          .end();
      });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
  return statuses;
}

function listen(portal: TestPortal): Promise<Server> {
  return new Promise((resolve) => {
    const server = portal.app.listen(0, '127.0.0.1', () => {
      resolve(server);
    });
  });
}

/** The sessions as the store holds them: what S11 is about, and no interface call shows. */
async function sessionRows(portal: TestPortal): Promise<number> {
  const row = await portal.services.database.db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

describe('no server state for anonymous visitors (SPEC S11)', () => {
  let portal: TestPortal;
  let server: Server;
  beforeAll(async () => {
    portal = await createTestPortal();
    await createUser(portal, 'piet', 'a long enough password');
    server = await listen(portal);
  });
  afterAll(async () => {
    server.close();
    await portal.close();
  });

  it('10,000 anonymous GETs add no session row', async () => {
    const statuses = await anonymousGets(server, 10_000);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(statuses.get(200)).toBeGreaterThan(3000);
    expect(statuses.get(404)).toBeGreaterThan(1000);
    expect(await sessionRows(portal)).toBe(0);
  });

  it('sets no session cookie on the sign-in page, only the signed form cookie', async () => {
    const page = await browserAgent(portal).get('/sign-in').expect(200);
    const cookies = (page.headers['set-cookie'] ?? []) as unknown as string[];
    expect(cookies.some((c) => c.startsWith('mfa.sid='))).toBe(false);
    const form = cookies.find((c) => c.startsWith('mfa.csrf='));
    expect(form).toMatch(/HttpOnly/i);
    expect(form).toMatch(/SameSite=Strict/i);
  });

  it('starts the session only once the password is proven', async () => {
    const agent = browserAgent(portal);
    const page = await agent.get('/sign-in').expect(200);
    const wrong = await agent
      .post('/sign-in')
      .type('form')
      .send({ _csrf: csrfTokenFrom(page.text), username: 'piet', password: 'not it' })
      .expect(400);
    expect(((wrong.headers['set-cookie'] ?? []) as unknown as string[]).join(';')).not.toContain(
      'mfa.sid=',
    );
    expect(await sessionRows(portal)).toBe(0);
    await agent
      .post('/sign-in')
      .type('form')
      .send({
        _csrf: csrfTokenFrom(wrong.text),
        username: 'piet',
        password: 'a long enough password',
      })
      .expect(303);
    expect(await sessionRows(portal)).toBe(1);
  });

  it('refuses the sign-in form without its cookie, with another browser’s cookie, or with a forged token', async () => {
    const body = { username: 'piet', password: 'a long enough password' };
    const mine = browserAgent(portal);
    const token = csrfTokenFrom((await mine.get('/sign-in').expect(200)).text);
    const theirs = browserAgent(portal);
    await theirs.get('/sign-in').expect(200);
    // The token without its cookie, in a browser that holds another cookie.
    await theirs
      .post('/sign-in')
      .type('form')
      .send({ ...body, _csrf: token })
      .expect(403);
    // A token of the right shape but not signed by the portal, with a matching cookie.
    const forged = `${'0'.repeat(64)}.${randomBytes(32).toString('hex')}`;
    await browserAgent(portal)
      .post('/sign-in')
      .set('Cookie', `mfa.csrf=${forged}`)
      .type('form')
      .send({ ...body, _csrf: forged })
      .expect(403);
    expect(await sessionRows(portal)).toBe(1);
  });
});

const skip = await needs('Redis', redisUnavailable);

describe.skipIf(skip)('no Redis key for anonymous visitors (SPEC S11)', () => {
  let portal: TestPortal;
  let server: Server;
  let redis: ReturnType<typeof createClient>;
  const prefix = `mfa-test-${randomBytes(4).toString('hex')}:`;
  beforeAll(async () => {
    portal = await createTestPortal({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix });
    await createUser(portal, 'piet', 'a long enough password');
    server = await listen(portal);
    redis = createClient({ url: redisUrl });
    await redis.connect();
  });
  afterAll(async () => {
    server.close();
    await redis.quit();
    await portal.close();
  });

  it('2,000 anonymous GETs add no key', async () => {
    await anonymousGets(server, 2_000);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    expect(await sessionRows(portal)).toBe(0);
  });
});
