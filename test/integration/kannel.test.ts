import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { smsText } from '../../src/core/phone-verification.ts';
import { accountOf } from '../helpers/account.ts';
import {
  browserAgent,
  changeSettings,
  createTestPortal,
  createUser,
  signIn,
  type TestPortal,
} from '../helpers/app.ts';
import { cliContext } from '../helpers/context.ts';
import { kannelMissing, startKannel, type Kannel } from '../helpers/kannel.ts';
import { needs } from '../helpers/services.ts';
import { post } from '../helpers/two-step.ts';

/*
 * The generic HTTP SMS gateway (SPEC N1, M2) with a real Kannel: the README's configuration,
 * sendsms with a delivery report URL, Kannel's fake SMSC as the network, and replies passed to
 * the portal by Kannel's sms-service.
 */

const noKannel = await needs('Kannel', kannelMissing);
const password = 'correct horse battery';
const portalNumber = '+3197010000000';

describe.skipIf(noKannel)('texts through Kannel', { timeout: 60_000 }, () => {
  let kannel: Kannel;
  let portal: TestPortal;
  let server: http.Server;
  const token = randomBytes(16).toString('hex');
  let reports: string[] = [];

  /** The n-th delivery report Kannel sent the portal. */
  async function nthReport(n: number): Promise<string> {
    const deadline = Date.now() + 10_000;
    while (reports.length < n && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reports.length).toBeGreaterThanOrEqual(n);
    return reports[n - 1] ?? '';
  }

  /** The README's Kannel configuration, with this Kannel's address and user. */
  async function startPortal(sendsmsPassword = kannel.password) {
    const base = `http://127.0.0.1:${String((server.address() as net.AddressInfo).port)}`;
    portal = await createTestPortal({
      SMS_PROVIDER: 'http',
      TELEPHONY_CALLBACK_URL: base,
      TELEPHONY_TIMEOUT_SECONDS: '5',
      SMS_HTTP_URL: `${kannel.sendsmsUrl}?username=${kannel.username}&password=${sendsmsPassword}&from={from}&to={to}&text={text}&charset=UTF-8&coding=0&dlr-mask=3&dlr-url={dlr_url}%3Fstatus%3D%25d`,
      SMS_HTTP_SUCCESS: '^[03]: ',
      SMS_HTTP_FROM: portalNumber,
      SMS_HTTP_INBOUND_TOKEN: token,
      RATE_LIMIT_SIGNIN_MAX: '1000',
    });
    server.removeAllListeners('request');
    const app = portal.app;
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      // Kannel's own delivery reports, as they reach the portal.
      if (req.headers['user-agent']?.startsWith('Kannel') && req.url?.includes('/status?')) {
        reports.push(`${base}${req.url}`);
      }
      app(req, res);
    });
    await createUser(portal, 'sem', password);
    await changeSettings(portal.services, { useSecurityQuestions: false });
  }

  beforeEach(async () => {
    reports = [];
    server = http.createServer();
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve);
    });
    const base = `http://127.0.0.1:${String((server.address() as net.AddressInfo).port)}`;
    kannel = await startKannel({
      inboundUrl: `${base}/telephony/http/texts/inbound?token=${token}`,
    });
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await portal.close();
    await kannel.close();
  });

  async function startSetup(lng: string) {
    const agent = browserAgent(portal);
    await agent.get(`/sign-in?lng=${lng}`);
    await signIn(agent, 'sem', password);
    const form = await agent.get('/setup/sms').expect(200);
    const started = await post(agent, '/setup/sms', form.text, {
      mobileCountry: 'FR',
      mobileNumber: '06 12 34 56 78',
    });
    return { agent, started };
  }
  const codeIn = (body: string) => /\b(\d{6})\b/.exec(body)?.[1] ?? '';

  it('one-way, in French: Kannel delivers the code, accents and all, and it enrols', async () => {
    await startPortal();
    const { agent, started } = await startSetup('fr');
    expect(started.headers.location).toBe('/setup/sms/code');
    const text = await kannel.nthDelivered(1);
    expect(text).toMatchObject({ from: portalNumber, to: '+33612345678' });
    const code = codeIn(text.body);
    expect(text.body).toBe(
      smsText(portal.services.i18n.getFixedT('fr')('telephony.textCode', { code, count: 5 })),
    );
    const page = await agent.get('/setup/sms/code').expect(200);
    const done = await post(agent, '/setup/sms/code', page.text, { code }).expect(303);
    expect(done.headers.location).toBe('/account?enrolled');
    expect((await accountOf(portal.services, 'sem')).mobilePhone).toBe('+33612345678');
  });

  it('two-way, in Dutch: the reply goes through Kannel to the portal and lets the user in', async () => {
    await startPortal();
    await changeSettings(portal.services, { smsDirection: 'two-way' });
    const { agent, started } = await startSetup('nl');
    expect(started.headers.location).toBe('/setup/sms/wait');
    const text = await kannel.nthDelivered(1);
    expect(text.body).toContain('MFA-portaal');
    await agent.get('/setup/sms/wait').expect(200);
    await kannel.reply('+33612345678', portalNumber, codeIn(text.body));
    const deadline = Date.now() + 10_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await agent.get('/setup/sms/wait')).status;
    }
    expect(status).toBe(303);
  });

  it('tells the user when Kannel refuses the text, and audits why', async () => {
    await startPortal('not-the-password');
    const { started } = await startSetup('en');
    expect(started.status).toBe(503);
    expect(started.text).toContain('We could not text you');
    const { id } = await accountOf(portal.services, 'sem');
    const [audit] = await portal.services.mfa.administration.auditEvents(cliContext, {
      type: 'verification.sms',
      userId: id,
    });
    expect(audit?.reason).toMatch(
      /^provider unavailable: The SMS gateway refused the text \(4\d\d/,
    );
    expect(kannel.delivered).toEqual([]);
  });

  it('refuses a reply without the token and a report for a text it did not send', async () => {
    await startPortal();
    await changeSettings(portal.services, { smsDirection: 'two-way' });
    const { agent } = await startSetup('en');
    const code = codeIn((await kannel.nthDelivered(1)).body);
    const base = `http://127.0.0.1:${String((server.address() as net.AddressInfo).port)}`;
    const forged = await fetch(
      `${base}/telephony/http/texts/inbound?token=${'0'.repeat(32)}&from=%2B33612345678&text=${code}`,
    );
    expect(forged.status).toBe(403);
    const noToken = await fetch(
      `${base}/telephony/http/texts/inbound?from=%2B33612345678&text=${code}`,
    );
    expect(noToken.status).toBe(403);
    // A delivery report for a text of no attempt, or malformed, changes nothing.
    const stray = `${base}/telephony/http/texts/${randomUUID()}/${randomUUID()}/status?status=16`;
    expect((await fetch(stray)).status).toBe(204);
    expect((await fetch(`${base}/telephony/http/texts/x/y/status?status=16`)).status).toBe(403);
    await agent.get('/setup/sms/wait').expect(200);
  });

  it('ends the attempt on a failure report for the text under way, and only that text', async () => {
    await startPortal();
    const { agent } = await startSetup('en');
    await kannel.nthDelivered(1);
    // Kannel's fake SMSC reports every text delivered (type 1): it changes nothing. A failure
    // (type 16, rejected by the SMSC) comes to the same dlr-url, as Kannel would send it.
    const delivered = await nthReport(1);
    expect(delivered).toMatch(
      /\/telephony\/http\/texts\/[0-9a-f-]{36}\/[0-9a-f-]{36}\/status\?status=1$/,
    );
    await agent.get('/setup/sms/code').expect(200);
    const resend = await agent.get('/setup/sms/code').expect(200);
    await post(agent, '/setup/sms/resend', resend.text, {}).expect(303);
    await kannel.nthDelivered(2);
    // The report about the first text, after a second one was sent, is about a text that is over.
    expect((await fetch(delivered.replace(/status=1$/, 'status=16'))).status).toBe(204);
    await agent.get('/setup/sms/code').expect(200);
    const second = await nthReport(2);
    expect((await fetch(second.replace(/status=1$/, 'status=16'))).status).toBe(204);
    const page = await agent.get('/setup/sms/code').expect(400);
    expect(page.text).toContain('The text message could not be delivered.');
  });
});
