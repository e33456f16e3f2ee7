import { randomBytes } from 'node:crypto';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { accountPassword, enrolledUser } from '../helpers/account.ts';
import { browserAgent, createTestPortal, signIn, type TestPortal } from '../helpers/app.ts';
import { cliContext } from '../helpers/context.ts';
import { appCode, post } from '../helpers/two-step.ts';

const token = randomBytes(24).toString('hex');

/** The value of one series in a Prometheus exposition, or 0 when it is not there yet. */
function valueOf(exposition: string, series: string): number {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('/metrics (SPEC O1)', () => {
  let portal: TestPortal;
  beforeAll(async () => {
    portal = await createTestPortal({ METRICS_TOKEN: token });
  });
  afterAll(async () => {
    await portal.close();
  });

  const scrape = async () => {
    const response = await supertest(portal.app)
      .get('/metrics')
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.headers['set-cookie']).toBeUndefined();
    return response.text;
  };

  it('refuses a scrape without the token, with a wrong one or another scheme, storing nothing', async () => {
    for (const authorization of [
      undefined,
      `Bearer ${token}x`,
      `Bearer ${token} extra`,
      `Basic ${token}`,
      'Bearer',
    ]) {
      const request = supertest(portal.app).get('/metrics');
      if (authorization) request.set('Authorization', authorization);
      const response = await request.expect(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(response.text).not.toContain('mfa_');
    }
  });

  it('counts requests, sign-ins, second steps and enrolments where they are recorded', async () => {
    const before = await scrape();
    const { secret } = await enrolledUser(portal, 'femke');
    const agent = browserAgent(portal);
    expect((await signIn(agent, 'femke', 'not the password')).status).toBe(400);
    expect((await signIn(agent, 'femke', accountPassword)).headers.location).toBe('/verify');
    const verify = await agent.get('/verify').expect(200);
    await post(agent, '/verify', verify.text, { method: 'app', code: '000000' }).expect(400);
    await post(agent, '/verify', verify.text, { method: 'app', code: appCode(secret, 1) }).expect(
      303,
    );
    const after = await scrape();

    const grew = (series: string) => valueOf(after, series) - valueOf(before, series);
    expect(grew('mfa_enrolments_total')).toBe(1);
    // enrolledUser signed in once with the password before User Setup.
    expect(grew('mfa_sign_ins_total{result="success"}')).toBe(2);
    expect(grew('mfa_sign_ins_total{result="failure"}')).toBe(1);
    const secondStep = 'mfa_verifications_total{purpose="sign-in",method="app"';
    expect(grew(`${secondStep},result="success"}`)).toBe(1);
    expect(grew(`${secondStep},result="failure"}`)).toBe(1);
    expect(
      grew('mfa_http_request_duration_seconds_count{method="POST",area="verify",status="400"}'),
    ).toBe(1);
    expect(
      grew('mfa_http_request_duration_seconds_count{method="GET",area="metrics",status="200"}'),
    ).toBe(1);
    expect(after).toMatch(/^process_cpu_seconds_total /m);
  });

  it('counts a lockout once', async () => {
    const before = await scrape();
    await enrolledUser(portal, 'joost');
    const agent = browserAgent(portal);
    await signIn(agent, 'joost', accountPassword);
    const { lockoutThreshold } = await portal.services.mfa.signIn.settings(cliContext);
    const verify = await agent.get('/verify').expect(200);
    for (let i = 0; i < lockoutThreshold; i++) {
      await post(agent, '/verify', verify.text, { method: 'app', code: '000000' });
    }
    // The lockout's record is written beside the answer (with its notice email): wait for it.
    const lockouts = async () =>
      valueOf(await scrape(), 'mfa_lockouts_total') - valueOf(before, 'mfa_lockouts_total');
    await expect.poll(lockouts, { timeout: 2000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await lockouts()).toBe(1);
  });
});

describe('/metrics switched off', () => {
  it('is not served without METRICS_TOKEN, and counts nothing', async () => {
    const portal = await createTestPortal();
    try {
      expect(portal.services.metrics).toBeUndefined();
      await supertest(portal.app).get('/metrics').set('Authorization', 'Bearer x').expect(404);
    } finally {
      await portal.close();
    }
  });

  it('refuses a short token at start without echoing it', () => {
    expect(() => loadConfig({ env: { METRICS_TOKEN: 'short-secret' } })).toThrow(
      /^Invalid configuration: METRICS_TOKEN must be empty or at least 32 printable characters without spaces \(got 12 characters\)$/,
    );
  });
});
