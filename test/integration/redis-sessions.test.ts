import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestPortal,
  createUser,
  csrfTokenFrom,
  trustLoopback,
  type TestPortal,
} from '../helpers/app.ts';
import { needs, redisUnavailable, redisUrl } from '../helpers/services.ts';

const skip = await needs('Redis', redisUnavailable);

describe.skipIf(skip)('sessions in Redis (REDIS_URL, SPEC C5)', () => {
  let first: TestPortal;
  let second: TestPortal;
  let redis: ReturnType<typeof createClient>;

  beforeAll(async () => {
    // Two instances sharing one database and one Redis, as behind a load balancer. The key
    // prefix keeps this run's counters apart from earlier runs on the same Redis.
    const shared = {
      DATABASE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'mfa-redis-')), 'mfa.sqlite')}`,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `mfa-test-${randomBytes(4).toString('hex')}:`,
      SESSION_SECRET: randomBytes(16).toString('hex'),
      RATE_LIMIT_SIGNIN_MAX: '5',
    };
    first = await createTestPortal(shared);
    second = await createTestPortal(shared);
    await trustLoopback(first);
    await createUser(first, 'sanne', 'a long enough password');
    redis = createClient({ url: redisUrl });
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
    await first.close();
    await second.close();
  });

  const cookieOf = (response: { headers: Record<string, unknown> }, name = 'mfa.sid') =>
    ((response.headers['set-cookie'] ?? []) as string[])
      .find((c) => c.startsWith(`${name}=`))
      ?.split(';')[0] ?? '';

  it('keeps the session in Redis, readable by another instance, and removes it at sign-out', async () => {
    const page = await supertest(first.app).get('/sign-in');
    const signedIn = await supertest(second.app)
      .post('/sign-in')
      .set('Cookie', cookieOf(page, 'mfa.csrf'))
      .type('form')
      .send({
        _csrf: csrfTokenFrom(page.text),
        username: 'sanne',
        password: 'a long enough password',
      })
      .expect(303);
    const cookie = cookieOf(signedIn);
    const sid = decodeURIComponent(cookie.slice('mfa.sid='.length)).slice(2).split('.')[0] ?? '';
    const key = `${first.config.REDIS_KEY_PREFIX}sess:${sid}`;
    const stored = await redis.get(key);
    expect(stored).toContain('"userId"');
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(7 * 3600);

    const account = await supertest(first.app).get('/account').set('Cookie', cookie).expect(200);
    await supertest(second.app)
      .post('/sign-out')
      .set('Cookie', cookie)
      .type('form')
      .send({ _csrf: csrfTokenFrom(account.text) })
      .expect(303);
    expect(await redis.get(key)).toBeNull();
    expect((await supertest(first.app).get('/account').set('Cookie', cookie)).status).toBe(302);
    // Nothing went to the database store.
    expect(await first.services.database.db.selectFrom('sessions').selectAll().execute()).toEqual(
      [],
    );
  });

  it('counts the sign-in rate limit across instances', async () => {
    // The sign-in of the test before used one of the five attempts this address has.
    const page = await supertest(first.app).get('/sign-in');
    const attempt = (portal: TestPortal) =>
      supertest(portal.app)
        .post('/sign-in')
        .set('Cookie', cookieOf(page, 'mfa.csrf'))
        .type('form')
        .send({ _csrf: csrfTokenFrom(page.text), username: 'x', password: 'y' });
    const statuses = [];
    for (const portal of [first, second, first, second, first])
      statuses.push((await attempt(portal)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 429]);
  });
});
