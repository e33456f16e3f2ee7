import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  browserAgent,
  createTestPortal,
  createUser,
  signIn,
  type TestPortal,
  changeSettings,
} from '../helpers/app.ts';
import { accountOf } from '../helpers/account.ts';
import { cliContext } from '../helpers/context.ts';
import {
  createPhone,
  phoneFields,
  phoneProviders,
  portalWithPhone,
  type TestPhone,
} from '../helpers/phones.ts';
import { post } from '../helpers/two-step.ts';

const password = 'correct horse battery';
let portal: TestPortal;
let phone: TestPhone;

type Agent = ReturnType<typeof browserAgent>;

/** The newest call or text the phone received. */
async function newestMessage() {
  const [newest] = await phone.messages();
  return newest ?? { kind: 'none', to: '', extension: null, body: '' };
}

/**
 * Locks the account for ten minutes, as failed attempts elsewhere would have: a lock set
 * straight away, between two reports of the provider, which no interface call does.
 */
async function lockAccount(username: string) {
  await portal.services.database.db
    .updateTable('users')
    .set({ locked_until: Date.now() + 10 * 60_000 })
    .where('username', '=', username)
    .execute();
}

/** How many calls and texts the phone has had. */
const sentToPhone = async () => (await phone.messages()).length;

/** The user's audit records of a type (SPEC A4), newest first; everyone's without a user. */
async function auditOf(type: string, username?: string) {
  const userId =
    username === undefined ? undefined : (await accountOf(portal.services, username)).id;
  return portal.services.mfa.administration.auditEvents(cliContext, {
    type,
    ...(userId === undefined ? {} : { userId }),
  });
}

async function enrolPhone(agent: Agent, fields: Record<string, string> = {}) {
  await signIn(agent, 'sem', password);
  const form = await agent.get('/setup/phone').expect(200);
  return post(agent, '/setup/phone', form.text, { ...phoneFields, ...fields });
}

// Every journey once with the development simulator and once with Twilio (SPEC N1).
describe.each(phoneProviders)('through the %s', (provider) => {
  let close: () => Promise<void>;
  beforeEach(async () => {
    phone = await createPhone(provider);
    ({ portal, close } = await portalWithPhone(phone, password));
  });
  afterEach(async () => {
    await close();
  });

  describe('phone call (SPEC M1, J2, J4)', () => {
    it('validates the number, calls it, waits with a refreshing page, and enrols on #', async () => {
      const agent = browserAgent(portal);
      const bad = await enrolPhone(agent, { phoneNumber: '12' });
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('Enter a valid phone number for the country you chose');
      expect(await sentToPhone()).toBe(0);

      const started = await enrolPhone(agent, { phoneExtension: '12,3' });
      expect(started.headers.location).toBe('/setup/phone/wait');
      const waiting = await agent.get('/setup/phone/wait').expect(200);
      // It refreshes itself only when asked to (WCAG 2.2.1); "Check now" always works.
      expect(waiting.text).not.toContain('http-equiv="refresh"');
      expect(waiting.text).toContain('Check now');
      expect(waiting.text).toContain('href="/setup/phone/wait?auto=on"');
      const auto = await agent.get('/setup/phone/wait?auto=on').expect(200);
      expect(auto.text).toContain('<meta http-equiv="refresh" content="20">');
      expect(auto.text).toContain('<input type="hidden" name="auto" value="on">');
      expect(auto.text).toContain('Stop checking automatically');
      // Screen readers hear the masked number as words, not "bullet bullet bullet".
      expect(waiting.text).toContain(
        '<span aria-hidden="true">+31 ••• 67</span><span class="visually-hidden"> (+31, ending in 67)</span>',
      );
      // The stop link comes before the page's text, so it is reached before the next reload.
      expect(auto.text.indexOf('Stop checking automatically')).toBeLessThan(
        auto.text.indexOf('role="status"'),
      );

      expect(await newestMessage()).toMatchObject({
        kind: 'call',
        to: '+31201234567',
        extension: '12,3',
      });
      const prompt = await phone.answer('#');
      expect(prompt).toContain('press the hash key');

      const done = await agent.get('/setup/phone/wait').expect(303);
      expect(done.headers.location).toBe('/account?enrolled');
      expect(await accountOf(portal.services, 'sem')).toMatchObject({
        phone: '+31201234567',
        phoneExtension: '12,3',
        defaultMethod: 'phone',
      });
    });

    it('rings the backup phone when the primary is not answered, then signs in with it', async () => {
      const agent = browserAgent(portal);
      await enrolPhone(agent, { backupNumber: '02 223 45 67' });
      await phone.answer('#');
      await agent.get('/setup/phone/wait').expect(303);

      const next = browserAgent(portal);
      expect((await signIn(next, 'sem', password)).headers.location).toBe('/verify');
      const page = await next.get('/verify').expect(200);
      expect(page.text).toContain('Call me now');
      await post(next, '/verify/phone', page.text, {}).expect(303);
      await phone.miss();
      expect(await newestMessage()).toMatchObject({ kind: 'call', to: '+3222234567' });
      await next.get('/verify/wait').expect(200);
      await phone.answer('#');
      const signedIn = await next.get('/verify/wait').expect(303);
      expect(signedIn.headers.location).toBe('/account');
      await next.get('/account').expect(200);
    });

    it('rings no backup phone for an account locked while the call rang (review F3)', async () => {
      const agent = browserAgent(portal);
      await enrolPhone(agent, { backupNumber: '02 223 45 67' });
      await phone.answer('#');
      await agent.get('/setup/phone/wait').expect(303);

      const next = browserAgent(portal);
      await signIn(next, 'sem', password);
      const page = await next.get('/verify').expect(200);
      await post(next, '/verify/phone', page.text, {}).expect(303);
      const calls = await sentToPhone();
      await lockAccount('sem');
      await phone.miss();
      // Like a call asked for while locked: nothing rings, and the waiting page says why.
      expect(await sentToPhone()).toBe(calls);
      const locked = await next.get('/verify/wait').expect(403);
      expect(locked.text).toContain('Your account is locked');
      const [verification] = await auditOf('verification.phone', 'sem');
      expect(verification).toMatchObject({
        phone: '+31 ••• 67',
        result: 'failure',
        reason: 'locked',
      });
    });

    it('in PIN mode approves only PIN then #, and counts a wrong PIN towards the lockout', async () => {
      await changeSettings(portal.services, { phoneMode: 'pin' });
      const agent = browserAgent(portal);
      const weak = await enrolPhone(agent, { pin: '4567', pinConfirmation: '4567' });
      expect(weak.text).toContain('Your PIN cannot be a series such as 1234 or 4321');
      await enrolPhone(agent, { pin: '9240', pinConfirmation: '9240' });
      expect(await phone.answer('9240#')).toContain('enter your PIN');
      await agent.get('/setup/phone/wait').expect(303);

      const next = browserAgent(portal);
      await signIn(next, 'sem', password);
      const page = await next.get('/verify');
      await post(next, '/verify/phone', page.text, {});
      await phone.answer('1111#');
      const denied = await next.get('/verify/wait').expect(400);
      expect(denied.text).toContain('The PIN entered during the call was not correct.');
      expect((await accountOf(portal.services, 'sem')).failedAttempts).toBe(1);
      await next.get('/account').expect(302);
    });

    it('reports fraud with 0# and blocks the user when auto-block is on', async () => {
      const agent = browserAgent(portal);
      await enrolPhone(agent);
      await phone.answer('0#');
      // The account is blocked at once: even the session that started the call is let go.
      const blocked = await agent.get('/setup/phone/wait').expect(302);
      expect(blocked.headers.location).toBe('/sign-in');
      expect((await signIn(browserAgent(portal), 'sem', password)).status).toBe(400);
      expect((await accountOf(portal.services, 'sem')).disabled).toBe(true);
      const audit = await auditOf('fraud-alert');
      expect(audit).toHaveLength(1);
      expect(audit[0]?.phone).toBe('+31 ••• 67');
    });
  });

  describe('text message (SPEC M2)', () => {
    async function enrolSms(agent: Agent) {
      await signIn(agent, 'sem', password);
      const form = await agent.get('/setup/sms').expect(200);
      return post(agent, '/setup/sms', form.text, {
        mobileCountry: 'FR',
        mobileNumber: '06 12 34 56 78',
      });
    }
    const codeIn = (body: string) => /\b(\d{6})\b/.exec(body)?.[1] ?? '';

    it('one-way: texts a code, refuses a wrong one, resends (old code dead), enrols and signs in', async () => {
      const agent = browserAgent(portal);
      const started = await enrolSms(agent);
      expect(started.headers.location).toBe('/setup/sms/code');
      const first = codeIn((await newestMessage()).body);
      expect(first).toMatch(/^\d{6}$/);
      const page = await agent.get('/setup/sms/code').expect(200);
      expect(page.text).toContain('valid for 5 minutes');
      const wrongCode = first === '000000' ? '111111' : '000000';
      expect((await post(agent, '/setup/sms/code', page.text, { code: wrongCode })).status).toBe(
        400,
      );
      expect((await accountOf(portal.services, 'sem')).failedAttempts).toBe(1);

      await post(agent, '/setup/sms/resend', page.text, {}).expect(303);
      const second = codeIn((await newestMessage()).body);
      // Resending never resets the failure counter (SPEC M2).
      expect((await accountOf(portal.services, 'sem')).failedAttempts).toBe(1);
      if (second !== first) {
        expect((await post(agent, '/setup/sms/code', page.text, { code: first })).status).toBe(400);
      }
      const done = await post(agent, '/setup/sms/code', page.text, { code: second }).expect(303);
      expect(done.headers.location).toBe('/account?enrolled');
      expect((await accountOf(portal.services, 'sem')).mobilePhone).toBe('+33612345678');

      const next = browserAgent(portal);
      await signIn(next, 'sem', password);
      const verify = await next.get('/verify');
      expect(verify.text).toContain('Text me now');
      await post(next, '/verify/sms', verify.text, {}).expect(303);
      const code = codeIn((await newestMessage()).body);
      const codePage = await next.get('/verify/sms-code');
      await post(next, '/verify/sms-code', codePage.text, { code }).expect(303);
      await next.get('/account').expect(200);
      // The same code cannot sign in twice.
      const again = browserAgent(portal);
      await signIn(again, 'sem', password);
      const againPage = await again.get('/verify');
      await post(again, '/verify/sms', againPage.text, {});
      const againCode = await again.get('/verify/sms-code');
      const reused = await post(again, '/verify/sms-code', againCode.text, { code });
      if (codeIn((await newestMessage()).body) !== code) expect(reused.status).toBe(400);
    });

    it('two-way: the user replies to the text and the waiting page lets them in', async () => {
      await changeSettings(portal.services, { smsDirection: 'two-way' });
      const agent = browserAgent(portal);
      const started = await enrolSms(agent);
      expect(started.headers.location).toBe('/setup/sms/wait');
      const { body } = await newestMessage();
      expect(body).toContain('reply with');
      await agent.get('/setup/sms/wait').expect(200);
      await phone.reply(codeIn(body));
      const done = await agent.get('/setup/sms/wait').expect(303);
      expect(done.headers.location).toBe('/account?enrolled');
    });

    it('sends no new code to an account locked by wrong codes (review F3)', async () => {
      const agent = browserAgent(portal);
      await enrolSms(agent);
      const code = codeIn((await newestMessage()).body);
      const setup = await agent.get('/setup/sms/code').expect(200);
      await post(agent, '/setup/sms/code', setup.text, { code }).expect(303);

      const next = browserAgent(portal);
      await signIn(next, 'sem', password);
      const verify = await next.get('/verify').expect(200);
      await post(next, '/verify/sms', verify.text, {}).expect(303);
      const sent = codeIn((await newestMessage()).body);
      const wrong = sent === '000000' ? '111111' : '000000';
      const page = await next.get('/verify/sms-code').expect(200);
      for (let i = 0; i < 4; i++) {
        await post(next, '/verify/sms-code', page.text, { code: wrong }).expect(400);
      }
      const locked = await post(next, '/verify/sms-code', page.text, { code: wrong }).expect(403);
      expect(locked.text).toContain('Your account is locked');

      const texts = await sentToPhone();
      const resend = await post(next, '/verify/sms/resend', page.text, {}).expect(403);
      expect(resend.text).toContain('Your account is locked');
      expect(await sentToPhone()).toBe(texts);
    });

    it('settles only the text a reply answers, not another user’s newer one to that number (review F4)', async () => {
      await changeSettings(portal.services, { smsDirection: 'two-way' });
      const sem = browserAgent(portal);
      await enrolSms(sem);
      const enrolment = await newestMessage();
      await phone.reply(codeIn(enrolment.body));
      await sem.get('/setup/sms/wait').expect(303);

      const again = browserAgent(portal);
      await signIn(again, 'sem', password);
      const verify = await again.get('/verify').expect(200);
      await post(again, '/verify/sms', verify.text, {}).expect(303);
      const own = await newestMessage();

      // Someone who knows Sem's number has a text sent to it, from a User Setup of their own.
      await createUser(portal, 'eve', password);
      const eve = browserAgent(portal);
      await signIn(eve, 'eve', password);
      const form = await eve.get('/setup/sms').expect(200);
      await post(eve, '/setup/sms', form.text, {
        mobileCountry: 'FR',
        mobileNumber: '06 12 34 56 78',
      }).expect(303);
      const messages = await phone.messages();
      expect(messages[1]).toEqual(own);
      expect(messages[0]?.to).toBe(own.to);

      // Sem replies to his own text, the older of the two: it lets him in, and only him.
      await phone.reply(codeIn(own.body));
      expect((await again.get('/verify/wait').expect(303)).headers.location).toBe('/account');
      expect((await accountOf(portal.services, 'eve')).failedAttempts).toBe(0);
      // Eve's text is still waiting: her page waits on, and none of hers was settled.
      await eve.get('/setup/sms/wait').expect(200);
      expect(await auditOf('verification.sms', 'eve')).toEqual([]);
    });

    it('texts in the language the user chose', async () => {
      const agent = browserAgent(portal);
      await agent.get('/sign-in?lng=fr');
      await enrolSms(agent);
      expect((await newestMessage()).body).toContain('votre code est');
    });
  });
});

describe('without a voice/SMS provider', () => {
  it('offers neither calls nor texts and has no simulator page', async () => {
    const plain = await createTestPortal();
    try {
      await createUser(plain, 'kim', password);
      const agent = browserAgent(plain);
      await signIn(agent, 'kim', password);
      const choose = await agent.get('/setup');
      expect(choose.text).not.toContain('value="phone"');
      expect(choose.text).not.toContain('value="sms"');
      await agent.get('/setup/phone').expect(404);
      await agent.get('/simulator').expect(404);
    } finally {
      await plain.close();
    }
  });
});
