import supertest from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { smsText } from '../../src/core/phone-verification.ts';
import { languages } from '../../src/i18n.ts';
import { accountOf } from '../helpers/account.ts';
import {
  browserAgent,
  changeSettings,
  createUser,
  signIn,
  type TestPortal,
} from '../helpers/app.ts';
import { cliContext } from '../helpers/context.ts';
import { signTwilio, type FakeCall, type FakeTwilio } from '../helpers/fake-twilio.ts';
import { phoneFields, portalWithPhone, twilioPhone } from '../helpers/phones.ts';
import { post } from '../helpers/two-step.ts';

/*
 * Twilio (SPEC N1, M1, M2) against a local server speaking its REST API that calls the
 * portal's webhooks back, signed: what the portal asks of Twilio, in each language; calls that
 * ring out, are busy or end without keys; texts that cannot be delivered; Twilio down or too
 * slow; and the webhooks attacked as an attacker would.
 */

const password = 'correct horse battery';
type Agent = ReturnType<typeof browserAgent>;
let phone: Awaited<ReturnType<typeof twilioPhone>>;
let twilio: FakeTwilio;
let portal: TestPortal;

let close: () => Promise<void>;

beforeEach(async () => {
  phone = await twilioPhone();
  twilio = phone.twilio;
  ({ portal, close } = await portalWithPhone(phone, password));
});
afterEach(async () => {
  await close();
});

const t = (lng: string) => portal.services.i18n.getFixedT(lng);
const lastCall = () => twilio.calls.at(-1) as FakeCall;
const codeIn = (body: string) => /\b(\d{6})\b/.exec(body)?.[1] ?? '';

async function auditOf(type: string) {
  const { id } = await accountOf(portal.services, 'sem');
  return portal.services.mfa.administration.auditEvents(cliContext, { type, userId: id });
}

async function startSetup(agent: Agent, lng: string, method: 'phone' | 'sms', fields = {}) {
  await agent.get(`/sign-in?lng=${lng}`);
  await signIn(agent, 'sem', password);
  const form = await agent.get(`/setup/${method}`).expect(200);
  const numbers: Record<string, string> =
    method === 'phone' ? phoneFields : { mobileCountry: 'FR', mobileNumber: '06 12 34 56 78' };
  return post(agent, `/setup/${method}`, form.text, { ...numbers, ...fields });
}

describe.each(languages)('in %s', (lng) => {
  it('calls with the prompt in the language’s voice, dials the extension, and says goodbye in it', async () => {
    const agent = browserAgent(portal);
    const started = await startSetup(agent, lng, 'phone', { phoneExtension: '12,3' });
    expect(started.headers.location).toBe('/setup/phone/wait');
    const call = lastCall();
    const voices = {
      en: ['Polly.Amy', 'en-GB'],
      nl: ['Polly.Lotte', 'nl-NL'],
      fr: ['Polly.Lea', 'fr-FR'],
    };
    expect([call.voice, call.language]).toEqual(voices[lng]);
    expect(call).toMatchObject({
      to: '+31201234567',
      from: twilio.from,
      sendDigits: 'ww12ww3',
      prompt: t(lng)('telephony.callPrompt', { fraudCode: '0' }),
    });
    // Twilio calls the public address, not the one the portal listens on.
    expect(call.statusCallback).toMatch(
      new RegExp(`^${twilio.publicUrl}/telephony/twilio/calls/[0-9a-f-]{36}/status$`),
    );
    expect(call.gatherAction).toMatch(new RegExp(`^${twilio.publicUrl}/.*/keys\\?lng=${lng}$`));
    await agent.get('/setup/phone/wait').expect(200);
    await twilio.answer(call, '#');
    expect(call.goodbye).toContain(`${t(lng)('telephony.callThanks')}</Say><Hangup/>`);
    expect((await agent.get('/setup/phone/wait').expect(303)).headers.location).toBe(
      '/account?enrolled',
    );
  });

  it('texts the code in the language, and says so when the text cannot be delivered', async () => {
    const agent = browserAgent(portal);
    await startSetup(agent, lng, 'sms');
    const [text] = twilio.texts;
    const code = codeIn(text?.body ?? '');
    expect(text?.body).toBe(smsText(t(lng)('telephony.textCode', { code, count: 5 })));
    expect(text?.statusCallback).toMatch(/\/telephony\/twilio\/texts\/[0-9a-f-]{36}\/status$/);
    await twilio.report(text as never, 'sent');
    await agent.get('/setup/sms/code').expect(200);
    await twilio.report(text as never, 'undelivered');
    const page = await agent.get('/setup/sms/code').expect(400);
    expect(page.text).toContain(t(lng)('wait.denied.undelivered'));
    const [audit] = await auditOf('verification.sms');
    expect(audit).toMatchObject({ result: 'failure', reason: 'undelivered' });
  });

  it('tells the user Twilio could not call them when it is down, and audits why', async () => {
    const agent = browserAgent(portal);
    twilio.setOutage({ status: 500 });
    const refused = await startSetup(agent, lng, 'phone');
    expect(refused.status).toBe(503);
    expect(refused.text).toContain(`<h1>${t(lng)('phoneUnavailable.title.phone')}</h1>`);
    const [audit] = await auditOf('verification.phone');
    expect(audit).toMatchObject({
      result: 'failure',
      reason: 'provider unavailable: Twilio answered 500 (error 20500)',
    });
  });
});

describe('calls (SPEC M1)', () => {
  async function enrolWithBackup(agent: Agent) {
    await startSetup(agent, 'en', 'phone', { backupNumber: '02 223 45 67' });
    await twilio.answer(lastCall(), '#');
    await agent.get('/setup/phone/wait').expect(303);
  }

  async function startSignInCall() {
    const next = browserAgent(portal);
    await signIn(next, 'sem', password);
    const page = await next.get('/verify').expect(200);
    await post(next, '/verify/phone', page.text, {}).expect(303);
    return next;
  }

  it('rings the backup phone when the primary is busy, then ends as not answered', async () => {
    const agent = browserAgent(portal);
    await enrolWithBackup(agent);
    const next = await startSignInCall();
    const primary = lastCall();
    await twilio.end(primary, 'busy');
    const backup = lastCall();
    expect(backup.to).toBe('+3222234567');
    expect(backup.sid).not.toBe(primary.sid);
    // The first call's late reports are about a call that is over: they change nothing.
    await twilio.end(primary, 'no-answer');
    await twilio.answer(primary, '#');
    await next.get('/verify/wait').expect(200);
    await twilio.end(backup, 'no-answer');
    const denied = await next.get('/verify/wait').expect(400);
    expect(denied.text).toContain('The call was not answered.');
    expect(twilio.calls).toHaveLength(3);
  });

  it('ends a call answered without a key with its own message', async () => {
    const agent = browserAgent(portal);
    await enrolWithBackup(agent);
    const next = await startSignInCall();
    const call = lastCall();
    await twilio.answer(call, '');
    expect(call.goodbye).toContain('No key was pressed. Goodbye.');
    const denied = await next.get('/verify/wait').expect(400);
    expect(denied.text).toContain('The call ended before a key was pressed.');
    // Answered: the backup phone does not ring.
    expect(twilio.calls).toHaveLength(2);
  });

  it('gives up on a Twilio that does not answer within the timeout', async () => {
    const agent = browserAgent(portal);
    twilio.setOutage('hang');
    const started = Date.now();
    const refused = await startSetup(agent, 'fr', 'sms');
    expect(refused.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(refused.text).toContain('Nous n’avons pas pu vous envoyer de SMS');
    const [audit] = await auditOf('verification.sms');
    expect(audit?.reason).toBe('provider unavailable: Twilio did not answer within 2 s');
    const ready = await supertest(portal.app).get('/readyz').expect(200);
    expect((ready.body as { providers: unknown }).providers).toMatchObject({
      voice: { provider: 'twilio', state: 'failed' },
      sms: { provider: 'twilio', state: 'failed' },
    });
  });
});

describe('two-way texts (SPEC M2)', () => {
  beforeEach(async () => {
    await changeSettings(portal.services, { smsDirection: 'two-way' });
  });

  it('is settled by the reply to the portal’s number, and a failed delivery ends the wait', async () => {
    const agent = browserAgent(portal);
    expect((await startSetup(agent, 'nl', 'sms')).headers.location).toBe('/setup/sms/wait');
    const [text] = twilio.texts;
    expect(text?.body).toBe(
      smsText(t('nl')('telephony.textReply', { code: codeIn(text?.body ?? '') })),
    );
    await twilio.reply('+33612345678', codeIn(text?.body ?? ''));
    expect((await agent.get('/setup/sms/wait').expect(303)).headers.location).toBe(
      '/account?enrolled',
    );

    const next = browserAgent(portal);
    await next.get('/sign-in?lng=nl');
    await signIn(next, 'sem', password);
    const page = await next.get('/verify').expect(200);
    await post(next, '/verify/sms', page.text, {}).expect(303);
    await twilio.report(twilio.texts.at(-1) as never, 'failed');
    const denied = await next.get('/verify/wait').expect(400);
    expect(denied.text).toContain('De sms kon niet worden afgeleverd.');
  });
});

describe('the webhooks, attacked', () => {
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    warn = vi.spyOn(portal.services.logger, 'warn');
  });

  /** A user whose sign-in call is ringing, and the call. */
  async function ringing() {
    const agent = browserAgent(portal);
    await startSetup(agent, 'en', 'phone');
    await agent.get('/setup/phone/wait').expect(200);
    return { agent, call: lastCall() };
  }

  const keysForm = (call: FakeCall, keys: string) => ({
    AccountSid: twilio.accountSid,
    CallSid: call.sid,
    Digits: keys,
    FinishedOnKey: '#',
  });

  async function send(url: string, form: Record<string, string>, signature?: string) {
    return fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      },
      body: new URLSearchParams(form).toString(),
    });
  }

  it('refuses and logs unsigned, mis-signed and foreign-account callbacks; the call waits on', async () => {
    const { agent, call } = await ringing();
    const form = keysForm(call, '');
    const url = call.gatherAction;
    expect((await send(url, form)).status).toBe(403);
    expect((await send(url, form, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=')).status).toBe(403);
    expect((await send(url, form, signTwilio('wrong-token-123456', url, form))).status).toBe(403);
    // Signed right, but with a field that is not Twilio's: the signature does not cover it.
    const signed = signTwilio(twilio.authToken, url, form);
    expect((await send(url, { ...form, Digits: '0' }, signed)).status).toBe(403);
    const otherAccount = { ...form, AccountSid: `AC${'0'.repeat(32)}` };
    expect(
      (await send(url, otherAccount, signTwilio(twilio.authToken, url, otherAccount))).status,
    ).toBe(403);
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'Twilio callback without a valid X-Twilio-Signature' }),
      'provider callback refused',
    );
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'Twilio callback for another account' }),
      'provider callback refused',
    );
    await agent.get('/setup/phone/wait').expect(200);
  });

  it('checks the signature over the configured public address, whatever Host the request names', async () => {
    const { agent, call } = await ringing();
    // Straight to the portal's own socket, signed for the address the portal sees there.
    const path = new URL(call.gatherAction);
    const direct = `${phone.portalUrl()}${path.pathname}${path.search}`;
    const form = keysForm(call, '');
    const answer = await fetch(direct, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        host: new URL(twilio.publicUrl).host,
        'x-forwarded-host': new URL(twilio.publicUrl).host,
        'x-twilio-signature': signTwilio(twilio.authToken, direct, form),
      },
      body: new URLSearchParams(form).toString(),
    });
    expect(answer.status).toBe(403);
    await agent.get('/setup/phone/wait').expect(200);
  });

  it('ignores a report about another call, and a replay once the call is settled', async () => {
    const first = await ringing();
    await twilio.answer(first.call, '#');
    await first.agent.get('/setup/phone/wait').expect(303);

    await createUser(portal, 'eve', password);
    const eve = browserAgent(portal);
    await eve.get('/sign-in');
    await signIn(eve, 'eve', password);
    const form = await eve.get('/setup/phone').expect(200);
    await post(eve, '/setup/phone', form.text, {
      ...phoneFields,
      phoneNumber: '020 765 4321',
    }).expect(303);
    const evesCall = lastCall();
    // Signed by Twilio for Eve's call's URL, but naming Sem's call: not Eve's call under way.
    const forged = keysForm(first.call, '');
    const forgedResponse = await twilio.callBack(evesCall.gatherAction, forged);
    expect(forgedResponse.status).toBe(200);
    await eve.get('/setup/phone/wait').expect(200);
    // Sem's approval replayed, exactly as Twilio sent it: his attempt is over, nothing changes.
    await twilio.answer(first.call, '#');
    expect(await auditOf('verification.phone')).toHaveLength(1);
    // …and sent to Eve's call's address it is no longer Twilio's signature.
    const replay = keysForm(first.call, '');
    expect(
      (
        await send(
          evesCall.gatherAction,
          replay,
          signTwilio(twilio.authToken, first.call.gatherAction, replay),
        )
      ).status,
    ).toBe(403);
    await eve.get('/setup/phone/wait').expect(200);
  });

  it('ignores a signed report once the attempt is denied (fraud), and one repeated', async () => {
    const { agent, call } = await ringing();
    await twilio.answer(call, '0#');
    expect((await accountOf(portal.services, 'sem')).disabled).toBe(true);
    await twilio.answer(call, '#');
    await agent.get('/setup/phone/wait').expect(302);
    const [fraud] = await auditOf('fraud-alert');
    expect(fraud?.result).toBe('failure');
    expect(await auditOf('verification.phone')).toHaveLength(0);
  });

  it('lets no report settle an attempt past its time, even before the waiting page looks again', async () => {
    const agent = browserAgent(portal);
    await startSetup(agent, 'en', 'phone', { backupNumber: '02 223 45 67' });
    await agent.get('/setup/phone/wait').expect(200);
    const call = lastCall();
    // The call's two minutes are over while nobody reloads the waiting page.
    await portal.services.database.db
      .updateTable('verifications')
      .set({ expires_at: Date.now() - 1000 })
      .execute();
    await twilio.end(call, 'no-answer');
    await twilio.answer(call, '#');
    // Neither the late keys nor the late missed call counts: no backup call, no approval.
    expect(twilio.calls).toHaveLength(1);
    const denied = await agent.get('/setup/phone/wait').expect(400);
    expect(denied.text).toContain('The call was not answered.');
    expect(await auditOf('verification.phone')).toMatchObject([
      { result: 'failure', reason: 'no answer' },
    ]);
  });

  it('refuses a forged reply and a repeated field, and sets no cookie', async () => {
    await changeSettings(portal.services, { smsDirection: 'two-way' });
    const agent = browserAgent(portal);
    await startSetup(agent, 'en', 'sms');
    const code = codeIn(twilio.texts.at(-1)?.body ?? '');
    const inbound = `${twilio.publicUrl}/telephony/twilio/texts/inbound`;
    const reply = {
      AccountSid: twilio.accountSid,
      MessageSid: `SM${'1'.repeat(32)}`,
      From: '+33612345678',
      Body: code,
    };
    expect((await send(inbound, reply)).status).toBe(403);
    const repeated = await fetch(inbound, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signTwilio(twilio.authToken, inbound, reply),
      },
      body: `${new URLSearchParams(reply).toString()}&Body=${code}`,
    });
    expect(repeated.status).toBe(403);
    await agent.get('/setup/sms/wait').expect(200);
    const genuine = await twilio.callBack(inbound, reply);
    expect(genuine.headers.get('set-cookie')).toBeNull();
    expect(await genuine.text()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
    );
    expect((await agent.get('/setup/sms/wait').expect(303)).headers.location).toBe(
      '/account?enrolled',
    );
  });
});
