import { randomBytes } from 'node:crypto';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppUser } from '../helpers/account.ts';
import { createTestPortal, csrfTokenFrom } from '../helpers/app.ts';
import { startPortalProcess, type PortalProcess } from '../helpers/outages.ts';
import {
  createTemporaryPostgresDatabase,
  needs,
  postgresUnavailable,
  redisUnavailable,
  redisUrl,
} from '../helpers/services.ts';
import { appCode } from '../helpers/two-step.ts';

const skip =
  (await needs('PostgreSQL', postgresUnavailable)) || (await needs('Redis', redisUnavailable));

const password = 'a long enough password';

/** The `name=value` of a cookie the response set. */
function cookieOf(response: { headers: Record<string, unknown> }, name: string): string {
  const cookies = (response.headers['set-cookie'] ?? []) as string[];
  return cookies.find((cookie) => cookie.startsWith(`${name}=`))?.split(';')[0] ?? '';
}

describe.skipIf(skip)('two instances on one PostgreSQL and one Redis (SPEC C5)', () => {
  let temporary: Awaited<ReturnType<typeof createTemporaryPostgresDatabase>>;
  let instances: PortalProcess[] = [];
  let secret: Buffer;

  beforeAll(async () => {
    temporary = await createTemporaryPostgresDatabase();
    const shared = {
      DATABASE_URL: temporary.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `mfa-test-${randomBytes(4).toString('hex')}:`,
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    };
    const setUp = await createTestPortal(shared);
    secret = await createAppUser(setUp.services, 'sanne', password);
    await setUp.close();
    // No SESSION_SECRET: the instances share the one kept in the database.
    instances = await Promise.all([startPortalProcess(shared), startPortalProcess(shared)]);
  });
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.kill('SIGTERM')));
    await temporary.drop();
  });

  it('finishes on B the sign-in a user started on A, after A was killed mid-journey', async () => {
    const [a, b] = instances;
    if (!a || !b) throw new Error('two instances were started');
    const onA = supertest(a.url);
    const form = await onA.get('/sign-in').expect(200);
    const signedIn = await onA
      .post('/sign-in')
      .set('Cookie', cookieOf(form, 'mfa.csrf'))
      .type('form')
      .send({ _csrf: csrfTokenFrom(form.text), username: 'sanne', password })
      .expect(303);
    expect(signedIn.headers.location).toBe('/verify');
    const session = cookieOf(signedIn, 'mfa.sid');
    const secondStep = await onA.get('/verify').set('Cookie', session).expect(200);

    await a.kill('SIGKILL');
    await expect(onA.get('/healthz')).rejects.toThrow(/ECONNREFUSED/);

    const onB = supertest(b.url);
    const verified = await onB
      .post('/verify')
      .set('Cookie', session)
      .type('form')
      .send({ _csrf: csrfTokenFrom(secondStep.text), method: 'app', code: appCode(secret) })
      .expect(303);
    expect(verified.headers.location).toBe('/account');
    const account = await onB
      .get('/account')
      .set('Cookie', cookieOf(verified, 'mfa.sid'))
      .expect(200);
    expect(account.text).toContain('sanne display');
  });
});
