import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  accountOf,
  confirmWithApp,
  editUser,
  enrolledUser,
  signInWithoutProof,
} from '../helpers/account.ts';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  signIn,
  type TestPortal,
  changeSettings,
} from '../helpers/app.ts';
import { post } from '../helpers/two-step.ts';
import { cliContext } from '../helpers/context.ts';

/*
 * SPEC S5: calls and texts limited per user, per destination number and per client address
 * (toll fraud, SMS pumping, phone spam), through the real app and the development simulator,
 * whose record of calls and texts shows what reached the provider.
 */

const password = 'correct horse battery';
let portal: TestPortal;

beforeEach(async () => {
  portal = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '1000', SIMULATOR_ENABLED: 'true' });
});
afterEach(async () => {
  await portal.close();
});

type Agent = ReturnType<typeof browserAgent>;

const db = () => portal.services.database.db;

/**
 * What the provider was asked for: every call and text on the development phone's page, the
 * newest first, with the number it went to and what it said.
 */
async function provider(on: TestPortal = portal) {
  const page = await browserAgent(on).get('/simulator').expect(200);
  return page.text
    .split('<article class="simulated">')
    .slice(1)
    .map((article) => ({
      toNumber: /<h2[^>]*>[^<]*?(\+\d+)/.exec(article)?.[1] ?? '',
      body: /<p class="simulated-body">([^<]*)<\/p>/.exec(article)?.[1] ?? '',
    }));
}

/** The calls and texts refused by a limit, as the audit records them (SPEC A4), oldest first. */
async function refusals(on: TestPortal = portal) {
  const events = await on.services.mfa.administration.auditEvents(cliContext, {
    limit: 1000,
  });
  return events.filter((event) => event.reason?.startsWith('limit per')).reverse();
}

const userRow = (username: string) => accountOf(portal.services, username);

/** A French mobile number as a person types it, one of many. */
const mobile = (n: number) => `06 12 34 ${String(10 + n)} 78`;

/** A user without a method, signed in as far as User Setup. */
async function atUserSetup(username: string, lng = 'en'): Promise<Agent> {
  await createUser(portal, username, password);
  const agent = browserAgent(portal);
  await agent.get(`/sign-in?lng=${lng}`).expect(200);
  expect((await signIn(agent, username, password)).headers.location).toBe('/setup');
  return agent;
}

/** Types a mobile number at User Setup and asks for a text; `status` is the answer expected. */
async function textAtSetup(agent: Agent, mobileNumber: string, status?: number) {
  const form = await agent.get('/setup/sms').expect(200);
  const answer = await post(agent, '/setup/sms', form.text, { mobileCountry: 'FR', mobileNumber });
  if (status !== undefined) expect(answer.status).toBe(status);
  return answer;
}

/** A user who signs in with calls to a number, with a backup number, saved as User Setup would. */
async function phoneUser(username: string) {
  const user = await createUser(portal, username, password);
  return editUser(portal.services, user.id, {
    phone: '+31201234567',
    backupPhone: '+3222234567',
    mobilePhone: '+33612345678',
    defaultMethod: 'phone',
  });
}

async function missNewestCall(agent: Agent) {
  const page = await agent.get('/simulator').expect(200);
  const id = /action="\/simulator\/calls\/([0-9a-f-]+)\/miss"/.exec(page.text)?.[1] ?? '';
  await post(agent, `/simulator/calls/${id}/miss`, page.text, {}).expect(303);
}

describe('calls and texts per user (SPEC S5)', () => {
  it('stops one session at User Setup texting many numbers: 25 tries, 15 numbers, 6 texts', async () => {
    const agent = await atUserSetup('sem');
    const statuses: number[] = [];
    let last = '';
    for (let attempt = 0; attempt < 25; attempt++) {
      const answer = await textAtSetup(agent, mobile(attempt % 15));
      statuses.push(answer.status);
      last = answer.text;
    }
    expect(statuses).toEqual([...Array<number>(6).fill(303), ...Array<number>(19).fill(429)]);
    expect(await provider()).toHaveLength(6);
    expect(last).toContain('<h1>Calls and text messages are paused for now</h1>');
    expect(last).toContain(
      'Your account has had too many calls and text messages in the last hour',
    );
    expect(last).toContain('You can try again in 60 minutes.');
    expect(last).toContain('use another method if you have one');
    expect(last).toContain('<a href="/setup">Choose another method</a>');

    const refused = await refusals();
    expect(refused).toHaveLength(19);
    const user = await userRow('sem');
    expect(refused[0]).toMatchObject({
      type: 'verification.sms',
      result: 'failure',
      reason: 'limit per user',
      userId: user.id,
      method: 'sms',
      clientIp: '127.0.0.1',
      phone: '+33 ••• 78',
    });
    // A refusal is not a wrong guess: the lockout counters are untouched.
    expect(user).toMatchObject({ failedAttempts: 0, lockedUntil: null });
  });

  it('counts a resent code; a refused resend leaves the code already sent working', async () => {
    await changeSettings(portal.services, { callsAndTextsPerUserPerHour: 2 });
    const agent = await atUserSetup('sem');
    await textAtSetup(agent, mobile(0), 303);
    const page = await agent.get('/setup/sms/code').expect(200);
    await post(agent, '/setup/sms/resend', page.text, {}).expect(303);
    const refused = await post(agent, '/setup/sms/resend', page.text, {}).expect(429);
    expect(refused.text).toContain('Calls and text messages are paused for now');
    const texts = await provider();
    expect(texts).toHaveLength(2);
    expect((await refusals()).map((event) => event.reason)).toEqual(['limit per user']);

    const newest = texts[0]?.body ?? '';
    const code = /\b(\d{6})\b/.exec(newest)?.[1] ?? '';
    const done = await post(agent, '/setup/sms/code', page.text, { code }).expect(303);
    expect(done.headers.location).toBe('/setup/questions');
  });

  it('counts the backup phone: an unanswered call over the limit rings no backup', async () => {
    await changeSettings(portal.services, { callsAndTextsPerUserPerHour: 1 });
    await changeSettings(portal.services, { callsAndTextsPerAddressPerHour: 1 });
    await phoneUser('sem');
    const agent = browserAgent(portal);
    await signIn(agent, 'sem', password);
    const page = await agent.get('/verify').expect(200);
    await post(agent, '/verify/phone', page.text, {}).expect(303);
    await missNewestCall(agent);

    const calls = await provider();
    expect(calls.map((call) => call.toNumber)).toEqual(['+31201234567']);
    const denied = await agent.get('/verify/wait').expect(400);
    expect(denied.text).toContain(
      'The call was not answered, and we cannot call your backup phone number right now.',
    );
    // The backup call counts where the first call was asked for: both limits were met.
    expect(await refusals()).toMatchObject([
      {
        type: 'verification.phone',
        reason: 'limit per user, limit per address',
        phone: '+32 ••• 67',
        clientIp: '127.0.0.1',
      },
    ]);
    expect(await userRow('sem')).toMatchObject({ failedAttempts: 0, lockedUntil: null });
  });

  it('limits the second step and its resends, then lets a raised limit through at once', async () => {
    await changeSettings(portal.services, { callsAndTextsPerUserPerHour: 2 });
    await phoneUser('sem');
    const agent = browserAgent(portal);
    await signIn(agent, 'sem', password);
    const page = await agent.get('/verify?method=sms').expect(200);
    await post(agent, '/verify/sms', page.text, {}).expect(303);
    const codePage = await agent.get('/verify/sms-code').expect(200);
    await post(agent, '/verify/sms/resend', codePage.text, {}).expect(303);
    const resend = await post(agent, '/verify/sms/resend', codePage.text, {}).expect(429);
    expect(resend.text).toContain('<a href="/verify">Use another method</a>');
    const call = await post(agent, '/verify/phone', page.text, {}).expect(429);
    expect(call.text).toContain('Calls and text messages are paused for now');
    expect(await provider()).toHaveLength(2);

    // SPEC §5: a changed setting is in force on the next request, without a restart.
    await changeSettings(portal.services, { callsAndTextsPerUserPerHour: 3 });
    await post(agent, '/verify/phone', page.text, {}).expect(303);
    expect(await provider()).toHaveLength(3);
  });

  it('limits the calls and texts that prove a new number on My account', async () => {
    await changeSettings(portal.services, { callsAndTextsPerUserPerHour: 1 });
    const { agent, secret } = await enrolledUser(portal);
    const mobileForm = await agent.get('/account/mobile').expect(200);
    await post(agent, '/account/mobile', mobileForm.text, {
      mobileCountry: 'FR',
      mobileNumber: mobile(1),
    }).expect(303);
    const phoneForm = await agent.get('/account/phone').expect(200);
    const refused = await post(agent, '/account/phone', phoneForm.text, {
      phoneCountry: 'NL',
      phoneNumber: '020 123 4567',
      phoneExtension: '',
      backupCountry: 'BE',
      backupNumber: '',
      backupExtension: '',
    }).expect(429);
    expect(refused.text).toContain('<a href="/account">Go to My account</a>');
    expect(await userRow('lotte')).toMatchObject({ phone: null, mobilePhone: null });
    expect(await provider()).toHaveLength(1);

    // The proof page before a change (/account/confirm) is the second step again: limited too.
    const later = await signInWithoutProof(portal);
    await editUser(portal.services, (await userRow('lotte')).id, { mobilePhone: '+33612345678' });
    const confirm = await later.get('/account/confirm?method=sms').expect(200);
    const paused = await post(later, '/account/confirm/sms', confirm.text, {}).expect(429);
    expect(paused.text).toContain('<a href="/account/confirm">Use another method</a>');
    expect(await provider()).toHaveLength(1);
    // Another method still works meanwhile.
    expect((await confirmWithApp(later, secret)).status).toBe(303);
  });
});

describe('calls and texts per number (SPEC S5)', () => {
  it('pauses a number whoever asks, and tells the next user no more than that', async () => {
    await changeSettings(portal.services, { callsAndTextsPerNumberPerHour: 2 });
    const first = await atUserSetup('sem');
    await textAtSetup(first, mobile(3), 303);
    await textAtSetup(first, mobile(3), 303);

    const second = await atUserSetup('kim');
    const refused = await textAtSetup(second, mobile(3), 429);
    expect(refused.text).toContain('We cannot call or text this number right now.');
    expect(refused.text).not.toContain('Your account has had');
    // The sends that filled the number were someone else's: when they were is not told.
    expect(refused.text).toContain('You can try again in 60 minutes.');
    expect(Number(refused.headers['retry-after'])).toBe(3600);
    // Another number is not paused for this user.
    await textAtSetup(second, mobile(4), 303);

    const texts = await provider();
    expect(texts.filter((text) => text.toNumber === '+33612341378')).toHaveLength(2);
    expect(texts).toHaveLength(3);
    expect(await refusals()).toMatchObject([
      { reason: 'limit per number', userId: (await userRow('kim')).id, phone: '+33 ••• 78' },
    ]);
  });
});

describe('calls and texts per address (SPEC S5)', () => {
  let proxied: TestPortal;

  beforeEach(async () => {
    // Behind a reverse proxy on loopback, X-Forwarded-For names each client's address.
    proxied = await createTestPortal({
      RATE_LIMIT_SIGNIN_MAX: '1000',
      SIMULATOR_ENABLED: 'true',
      TRUST_PROXY: 'loopback',
    });
    await changeSettings(proxied.services, { callsAndTextsPerAddressPerHour: 2 });
  });
  afterEach(async () => {
    await proxied.close();
  });

  /** A user at User Setup texting one number, every request from that address. */
  async function textFrom(address: string, username: string) {
    await createUser(proxied, username, password);
    const agent = browserAgent(proxied);
    const signInPage = await agent.get('/sign-in').set('X-Forwarded-For', address).expect(200);
    await agent
      .post('/sign-in')
      .set('X-Forwarded-For', address)
      .type('form')
      .send({ _csrf: csrfTokenFrom(signInPage.text), username, password })
      .expect(303);
    const form = await agent.get('/setup/sms').set('X-Forwarded-For', address).expect(200);
    return agent
      .post('/setup/sms')
      .set('X-Forwarded-For', address)
      .type('form')
      .send({ _csrf: csrfTokenFrom(form.text), mobileCountry: 'FR', mobileNumber: mobile(0) });
  }

  it('pauses an address across users, and only that address', async () => {
    await changeSettings(proxied.services, { callsAndTextsPerNumberPerHour: 10 });
    expect((await textFrom('192.0.2.7', 'ann')).status).toBe(303);
    expect((await textFrom('192.0.2.7', 'bob')).status).toBe(303);
    const refused = await textFrom('192.0.2.7', 'cas');
    expect(refused.status).toBe(429);
    expect(refused.text).toContain(
      'Too many calls and text messages have been requested from your network in the last hour',
    );
    expect((await textFrom('198.51.100.9', 'dee')).status).toBe(303);

    expect(await provider(proxied)).toHaveLength(3);
    expect(await refusals(proxied)).toMatchObject([
      { type: 'verification.sms', reason: 'limit per address', clientIp: '192.0.2.7' },
    ]);
  });
});

describe('the page of a paused call or text (SPEC S5, L5)', () => {
  it.each([
    ['en', 'Calls and text messages are paused for now', '60 minutes', '1 minute.'],
    ['nl', 'Gesprekken en sms-berichten zijn even gepauzeerd', '60 minuten', '1 minuut opnieuw.'],
    ['fr', 'Les appels et les SMS sont suspendus pour le moment', '60 minutes', '1 minute.'],
  ])('is a 429 in %s that says in how many minutes to try again', async (lng, title, hour, one) => {
    await changeSettings(portal.services, { callsAndTextsPerUserPerHour: 2 });
    const agent = await atUserSetup('sem', lng);
    await textAtSetup(agent, mobile(0), 303);
    await textAtSetup(agent, mobile(1), 303);
    const refused = await textAtSetup(agent, mobile(2), 429);
    expect(refused.headers['content-language']).toBe(lng);
    expect(refused.text).toContain(`<html lang="${lng}">`);
    expect(refused.text).toContain(`<h1>${title}</h1>`);
    expect(refused.text).toContain(hour);
    expect(refused.text.match(/<h1>/g)).toHaveLength(1);
    // The language switch leads on to the way out: the form's address may be no page at all.
    expect(refused.text).toContain(`href="/setup?lng=en"`);

    // Both texts grow nearly an hour old: half a minute to wait reads as one minute.
    // Sends made older than they are: no request can date one back.
    await db()
      .updateTable('phone_sends')
      .set({ sent_at: Date.now() - 59.5 * 60_000 })
      .execute();
    const soon = await textAtSetup(agent, mobile(2), 429);
    expect(soon.text).toContain(one);
    expect(Number(soon.headers['retry-after'])).toBeLessThanOrEqual(30);
  });
});

describe('calls and texts counted together (SPEC S5)', () => {
  it('lets no more through than the limit when asked for at the same moment', async () => {
    await changeSettings(portal.services, { callsAndTextsPerUserPerHour: 3 });
    // The core's phone verification itself, under the interface: it takes the user's row.
    const user = await portal.services.users.findById(
      (await createUser(portal, 'sem', password)).id,
    );
    if (!user) throw new Error('no user');
    const phoneVerification = portal.services.phoneVerification;
    if (!phoneVerification) throw new Error('no simulator');
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        phoneVerification.startText(
          {
            user,
            purpose: 'enrolment',
            phone: `+336123456${String(10 + n)}`,
            pinHash: null,
            language: 'en',
          },
          { ...cliContext, clientIp: '203.0.113.4' },
        ),
      ),
    );
    // Each counts every send written before its count, its own included: when all of them are
    // written before any is counted, all are refused. Safe, never more than the limit.
    const started = outcomes.filter((outcome) => outcome.outcome === 'started');
    expect(started.length).toBeLessThanOrEqual(3);
    expect(await provider()).toHaveLength(started.length);
    expect(await refusals()).toHaveLength(12 - started.length);
    // The refused ones took their sends back: what room is left is there for the next one.
    const next = await phoneVerification.startText(
      { user, purpose: 'enrolment', phone: '+33612345699', pinHash: null, language: 'en' },
      { ...cliContext, clientIp: '203.0.113.4' },
    );
    expect(next.outcome).toBe(started.length < 3 ? 'started' : 'paused');
  });
});
