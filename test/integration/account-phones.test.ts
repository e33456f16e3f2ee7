import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UserEdit } from '../../src/core/service/administration.ts';
import {
  accountOf,
  confirmWithApp,
  editUser,
  enrolledUser,
  signInWithoutProof,
} from '../helpers/account.ts';
import { cliContext, userContext } from '../helpers/context.ts';
import { browserAgent, createTestPortal, type TestPortal, changeSettings } from '../helpers/app.ts';
import { createPhone, phoneProviders, type TestPhone } from '../helpers/phones.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { post } from '../helpers/two-step.ts';

type Agent = ReturnType<typeof browserAgent>;

let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let portal: TestPortal;

beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(async () => {
  await smtp.close();
});
let phone: TestPhone;

/** The user set up by `enrolledUser` gets a notice of their own: these tests read the next ones. */
async function afterEnrolmentNotice() {
  await smtp.waitFor(1);
  smtp.received.splice(0);
}

const primaryForm = {
  phoneCountry: 'NL',
  phoneNumber: '020 123 4567',
  phoneExtension: '',
  backupCountry: 'BE',
  backupNumber: '',
  backupExtension: '',
};

/** The account as the helpdesk sees it (SPEC A2). */
const userRow = (username = 'lotte') => accountOf(portal.services, username);

/** Gives the user numbers as the helpdesk would have set them, next to their app. */
async function giveNumbers(numbers: UserEdit, username = 'lotte') {
  await editUser(portal.services, (await userRow(username)).id, numbers);
}

/** The calls and texts the phone received, newest first: whom each went to. */
async function simulatorMessages() {
  return (await phone.messages()).map((message) => `${message.kind} to ${message.to}`);
}

const changeEvents = async () =>
  (
    await portal.services.mfa.administration.auditEvents(cliContext, {
      userId: (await userRow()).id,
    })
  ).filter((e) => e.type.startsWith('change.'));

/** The newest call or text the phone received: whom it went to, and what it said. */
async function newestMessage() {
  const [newest] = await phone.messages();
  return { heading: `${newest?.kind ?? ''} to ${newest?.to ?? ''}`, body: newest?.body ?? '' };
}

const codeIn = (body: string) => /\b(\d{6})\b/.exec(body)?.[1] ?? '';

/** Fills in the phone form afresh; the change starts with a call: 303 to the waiting page. */
async function startPhoneChange(agent: Agent, fields: Record<string, string>) {
  const form = await agent.get('/account/phone').expect(200);
  const started = await post(agent, '/account/phone', form.text, fields).expect(303);
  expect(started.headers.location).toBe('/account/phone/wait');
}

// Every change once with the development simulator and once with Twilio (SPEC N1).
describe.each(phoneProviders)('through the %s', (provider) => {
  beforeEach(async () => {
    smtp.received.splice(0);
    phone = await createPhone(provider);
    portal = await createTestPortal({
      RATE_LIMIT_SIGNIN_MAX: '1000',
      ...phone.env,
      ...smtp.config,
    });
    await phone.attach(portal);
  });
  afterEach(async () => {
    await phone.close();
    await portal.close();
  });

  describe('Phone numbers for calls (SPEC J3, M1)', () => {
    it('calls each new number in turn and saves them only once both answered, with a Dutch notice', async () => {
      const { agent, user } = await enrolledUser(portal, 'lotte', {
        email: 'lotte@example.test',
        language: 'nl',
      });
      await afterEnrolmentNotice();
      const form = await agent.get('/account/phone').expect(200);
      expect(form.text).toContain('Verificatie per telefoongesprek instellen');
      expect(form.text).toContain('name="backupNumber"');

      const started = await post(agent, '/account/phone', form.text, {
        ...primaryForm,
        phoneExtension: '12,3',
        backupNumber: '02 223 45 67',
      }).expect(303);
      expect(started.headers.location).toBe('/account/phone/wait');
      const waiting = await agent.get('/account/phone/wait').expect(200);
      expect(waiting.text).toContain('+31 ••• 67');
      expect(waiting.text).toContain('action="/account/phone/wait"');
      expect(waiting.text).not.toContain('http-equiv="refresh"');
      const auto = await agent.get('/account/phone/wait?auto=on').expect(200);
      expect(auto.text).toContain('<meta http-equiv="refresh" content="20">');

      const first = await newestMessage();
      expect(first.heading).toContain('+31201234567');
      expect(first.body).toContain('hekje');
      await phone.answer('#');
      // The primary answered: the backup is called next, and still nothing is saved.
      const next = await agent.get('/account/phone/wait').expect(303);
      expect(next.headers.location).toBe('/account/phone/wait');
      expect((await userRow()).phone).toBeNull();
      expect((await newestMessage()).heading).toContain('+3222234567');
      await agent.get('/account/phone/wait').expect(200);
      await phone.answer('#');

      const done = await agent.get('/account/phone/wait').expect(303);
      expect(done.headers.location).toBe('/account?done=phone');
      expect(await userRow()).toMatchObject({
        phone: '+31201234567',
        phoneExtension: '12,3',
        backupPhone: '+3222234567',
        backupExtension: null,
      });
      // Each call proved its own number: none rang on to another one.
      const calls = await simulatorMessages();
      expect(calls).toHaveLength(2);
      expect(calls[0]).toContain('+3222234567');
      expect(calls[1]).toContain('+31201234567');
      const [event] = await changeEvents();
      expect(event).toMatchObject({ type: 'change.phone', method: 'phone', phone: '+31 ••• 67' });

      const [mail] = await smtp.waitFor(1);
      expect(mail?.to).toEqual(['lotte@example.test']);
      expect(mail?.language).toBe('nl');
      expect(mail?.subject).toBe(
        'Beveiligingsmelding: er is een methode aan uw account toegevoegd',
      );
      expect(mail?.text).toContain(`Beste ${user.displayName},`);
      expect(mail?.text).toContain('telefoonnummers voor telefoongesprekken');
      const summary = await agent.get('/account').expect(200);
      expect(summary.text).toContain('+31 ••• 67');
      // The change is over: its waiting page leads back to the form.
      expect((await agent.get('/account/phone/wait').expect(302)).headers.location).toBe(
        '/account/phone',
      );
    });

    it('in PIN mode, leads a user without a PIN from the saved number to choosing one', async () => {
      await changeSettings(portal.services, { phoneMode: 'pin' });
      const { agent, user } = await enrolledUser(portal);
      await startPhoneChange(agent, primaryForm);
      await phone.answer('#');
      const saved = await agent.get('/account/phone/wait').expect(303);
      expect(saved.headers.location).toBe('/account/pin?needed=phone');
      expect((await userRow()).phone).toBe('+31201234567');
      const pinPage = await agent.get('/account/pin?needed=phone').expect(200);
      expect(pinPage.text).toContain('The method “Phone call” asks for a PIN');
      expect(pinPage.text).toContain('action="/account/pin?needed=phone"');
      await post(agent, '/account/pin?needed=phone', pinPage.text, {
        pin: '7294',
        pinConfirmation: '7294',
      }).expect(303);
      expect((await userRow()).hasPin).toBe(true);
      // The PIN as stored: an Argon2id hash, which no interface call shows.
      expect((await portal.services.users.findById(user.id))?.pin_hash).toMatch(/^\$argon2id\$/);
    });

    it('saves nothing when the new number does not answer, or answers with other keys', async () => {
      const { agent } = await enrolledUser(portal);
      await startPhoneChange(agent, primaryForm);
      await phone.miss();
      const missed = await agent.get('/account/phone/wait').expect(400);
      expect(missed.text).toContain('The call was not answered');
      expect(missed.text).toContain('value="020 123 4567"');
      expect((await userRow()).phone).toBeNull();

      await startPhoneChange(agent, primaryForm);
      await phone.answer('1#');
      const wrongKeys = await agent.get('/account/phone/wait').expect(400);
      expect(wrongKeys.text).toContain(
        'The keys pressed during the call were not the ones asked for',
      );
      expect((await userRow()).phone).toBeNull();
      expect(await changeEvents()).toEqual([]);
      // The failed attempt is gone from the session: nothing left to wait for.
      await agent.get('/account/phone/wait').expect(302);
    });

    it('a denied backup call keeps the numbers as they were, although the primary answered', async () => {
      const { agent } = await enrolledUser(portal);
      await giveNumbers({ phone: '+31201234567' });
      await startPhoneChange(agent, {
        ...primaryForm,
        phoneNumber: '020 765 4321',
        backupNumber: '02 223 45 67',
      });
      await phone.answer('#');
      await agent.get('/account/phone/wait').expect(303);
      await phone.miss();
      const denied = await agent.get('/account/phone/wait').expect(400);
      expect(denied.text).toMatch(/href="#backupNumber"/);
      expect(await userRow()).toMatchObject({ phone: '+31201234567', backupPhone: null });
    });

    it('shows the current numbers, and needs no call for no change, clearing the backup or a swap', async () => {
      const { agent } = await enrolledUser(portal);
      await giveNumbers({
        phone: '+31201234567',
        phoneExtension: '12',
        backupPhone: '+3222234567',
        backupExtension: null,
      });
      const form = await agent.get('/account/phone').expect(200);
      expect(form.text).toContain('Change your phone numbers');
      expect(form.text).toContain('value="020 123 4567"');
      expect(form.text).toContain('value="02 223 45 67"');
      expect(form.text).toMatch(/<option value="NL" selected>/);
      expect(form.text).toMatch(/<option value="BE" selected>/);

      const current = {
        ...primaryForm,
        phoneExtension: '12',
        backupNumber: '02 223 45 67',
      };
      const same = await post(agent, '/account/phone', form.text, current).expect(303);
      expect(same.headers.location).toBe('/account');

      const swapped = await post(agent, '/account/phone', form.text, {
        phoneCountry: 'BE',
        phoneNumber: '+32 2 223 45 67',
        phoneExtension: '',
        backupCountry: 'NL',
        backupNumber: '020 123 4567',
        backupExtension: '12',
      }).expect(303);
      expect(swapped.headers.location).toBe('/account?done=phone');
      expect(await userRow()).toMatchObject({
        phone: '+3222234567',
        backupPhone: '+31201234567',
        backupExtension: '12',
      });

      const cleared = await post(agent, '/account/phone', form.text, {
        ...primaryForm,
        phoneCountry: 'BE',
        phoneNumber: '02 223 45 67',
      }).expect(303);
      expect(cleared.headers.location).toBe('/account?done=phone');
      expect(await userRow()).toMatchObject({ phone: '+3222234567', backupPhone: null });
      expect(await simulatorMessages()).toEqual([]);
      expect((await changeEvents()).map((e) => e.type)).toEqual(['change.phone', 'change.phone']);

      // A new extension is a new line to prove: it is called before it is saved.
      await post(agent, '/account/phone', form.text, {
        ...primaryForm,
        phoneCountry: 'BE',
        phoneNumber: '02 223 45 67',
        phoneExtension: '9',
      }).expect(303);
      expect((await userRow()).phoneExtension).toBeNull();
      expect(await simulatorMessages()).toHaveLength(1);
    });

    it('refuses malformed, repeated, oversized and unknown fields, and changes nothing', async () => {
      const { agent } = await enrolledUser(portal);
      const form = await agent.get('/account/phone').expect(200);
      const malformed = await post(agent, '/account/phone', form.text, {
        ...primaryForm,
        phoneNumber: '12',
      }).expect(400);
      expect(malformed.text).toContain('Enter a valid phone number for the country you chose');
      expect(malformed.text).toContain('aria-invalid="true"');
      const badExtension = await post(agent, '/account/phone', form.text, {
        ...primaryForm,
        phoneExtension: '12#',
      }).expect(400);
      expect(badExtension.text).toContain('href="#phoneExtension"');
      await post(agent, '/account/phone', form.text, { ...primaryForm, phoneCountry: 'XX' }).expect(
        400,
      );
      await post(agent, '/account/phone', form.text, {
        ...primaryForm,
        phoneNumber: '2'.repeat(10_000),
      }).expect(400);
      await agent
        .post('/account/phone')
        .type('form')
        .send(
          `_csrf=${encodeURIComponent(/name="_csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '')}` +
            '&phoneCountry=NL&phoneNumber=0201234567&phoneNumber=0201234568',
        )
        .expect(400);
      await post(agent, '/account/phone', form.text, { ...primaryForm, pin: '1234' }).expect(400);
      expect(await simulatorMessages()).toEqual([]);
      expect((await userRow()).phone).toBeNull();
      expect(await changeEvents()).toEqual([]);
    });
  });

  describe('Mobile number for texts (SPEC J3, M2)', () => {
    it('texts a code to the new number, counts a wrong code, and saves it with the right one', async () => {
      const { agent } = await enrolledUser(portal, 'lotte', { email: 'lotte@example.test' });
      await afterEnrolmentNotice();
      const form = await agent.get('/account/mobile').expect(200);
      expect(form.text).toContain('Set up text messages');
      expect(form.text).not.toContain('name="mobileExtension"');
      const started = await post(agent, '/account/mobile', form.text, {
        mobileCountry: 'FR',
        mobileNumber: '06 12 34 56 78',
      }).expect(303);
      expect(started.headers.location).toBe('/account/mobile/code');
      const text = await newestMessage();
      expect(text.heading).toContain('+33612345678');
      const code = codeIn(text.body);
      const page = await agent.get('/account/mobile/code').expect(200);
      expect(page.text).toContain('action="/account/mobile/code"');
      expect(page.text).toContain('autocomplete="one-time-code"');

      const wrong = await post(agent, '/account/mobile/code', page.text, {
        code: code === '000000' ? '111111' : '000000',
      }).expect(400);
      expect(wrong.text).toContain('aria-invalid="true"');
      expect((await userRow()).failedAttempts).toBe(1);
      await post(agent, '/account/mobile/code', page.text, { code: '12' }).expect(400);
      await post(agent, '/account/mobile/code', page.text, { code: [code, code] } as never).expect(
        400,
      );
      expect((await userRow()).mobilePhone).toBeNull();

      await post(agent, '/account/mobile/resend', page.text, {}).expect(303);
      expect((await userRow()).failedAttempts).toBe(1);
      const resent = codeIn((await newestMessage()).body);
      const done = await post(agent, '/account/mobile/code', page.text, { code: resent }).expect(
        303,
      );
      expect(done.headers.location).toBe('/account?done=mobile');
      expect(await userRow()).toMatchObject({ mobilePhone: '+33612345678', failedAttempts: 0 });
      const [event] = await changeEvents();
      expect(event).toMatchObject({ type: 'change.mobile', method: 'sms', phone: '+33 ••• 78' });
      const [mail] = await smtp.waitFor(1);
      expect(mail?.language).toBe('en');
      expect(mail?.text).toContain(
        'A method for the second step was added to your account: mobile number',
      );
    });

    it('with two-way texts, waits for the reply before saving; a wrong reply saves nothing', async () => {
      await changeSettings(portal.services, { smsDirection: 'two-way' });
      const { agent } = await enrolledUser(portal);
      await giveNumbers({ mobilePhone: '+33612345678' });
      const form = await agent.get('/account/mobile').expect(200);
      expect(form.text).toContain('value="06 12 34 56 78"');
      const same = await post(agent, '/account/mobile', form.text, {
        mobileCountry: 'FR',
        mobileNumber: '+33 6 12 34 56 78',
      }).expect(303);
      expect(same.headers.location).toBe('/account');
      expect(await simulatorMessages()).toEqual([]);

      const reply = async (body: (code: string) => string) => {
        const text = await newestMessage();
        await phone.reply(body(codeIn(text.body)));
      };
      const newNumber = { mobileCountry: 'BE', mobileNumber: '0470 12 34 56' };
      const started = await post(agent, '/account/mobile', form.text, newNumber).expect(303);
      expect(started.headers.location).toBe('/account/mobile/wait');
      await agent.get('/account/mobile/wait').expect(200);
      await reply((code) => (code === '000000' ? '111111' : '000000'));
      const denied = await agent.get('/account/mobile/wait').expect(400);
      expect(denied.text).toContain('The reply did not contain the right code.');
      expect((await userRow()).mobilePhone).toBe('+33612345678');

      await post(agent, '/account/mobile', form.text, newNumber).expect(303);
      await reply((code) => code);
      const done = await agent.get('/account/mobile/wait').expect(303);
      expect(done.headers.location).toBe('/account?done=mobile');
      expect((await userRow()).mobilePhone).toBe('+32470123456');
      expect((await changeEvents()).map((e) => e.type)).toEqual(['change.mobile']);
    });
  });

  describe('A locked account (SPEC M8, review F3)', () => {
    // A lock set straight away, as failures elsewhere would have: no interface call sets one.
    const lock = () =>
      portal.services.database.db
        .updateTable('users')
        .set({ locked_until: Date.now() + 10 * 60_000 })
        .where('username', '=', 'lotte')
        .execute();
    const sent = async () => (await simulatorMessages()).length;

    it('gets no call or text to a new number, nor a new code, and keeps its numbers', async () => {
      const { agent } = await enrolledUser(portal);
      const mobile = await agent.get('/account/mobile').expect(200);
      await post(agent, '/account/mobile', mobile.text, {
        mobileCountry: 'FR',
        mobileNumber: '06 12 34 56 78',
      }).expect(303);
      const code = await agent.get('/account/mobile/code').expect(200);
      await lock();
      const texts = await sent();
      const resend = await post(agent, '/account/mobile/resend', code.text, {}).expect(403);
      expect(resend.text).toContain('Your account is locked');

      const phone = await agent.get('/account/phone').expect(200);
      const call = await post(agent, '/account/phone', phone.text, primaryForm).expect(403);
      expect(call.text).toContain('Your account is locked');
      const text = await post(agent, '/account/mobile', mobile.text, {
        mobileCountry: 'BE',
        mobileNumber: '0470 12 34 56',
      }).expect(403);
      expect(text.text).toContain('Your account is locked');
      expect(await sent()).toBe(texts);
      expect(await userRow()).toMatchObject({ phone: null, mobilePhone: null });
      // The refused change is over: there is nothing to wait for.
      expect((await agent.get('/account/phone/wait').expect(302)).headers.location).toBe(
        '/account/phone',
      );
    });
  });

  describe('Settings and proof (SPEC J3, ASVS 5 7.5.1)', () => {
    it('refuses the pages with 403 when the settings do not offer the method', async () => {
      const { agent } = await enrolledUser(portal);
      const form = await agent.get('/account/phone').expect(200);
      await changeSettings(portal.services, { allowedMethods: ['app', 'token', 'sms'] });
      await agent.get('/account/phone').expect(403);
      await post(agent, '/account/phone', form.text, primaryForm).expect(403);

      // Adding a method needs "allow users to select method"; keeping one does not.
      await changeSettings(portal.services, { allowedMethods: ['app', 'token', 'phone', 'sms'] });
      await changeSettings(portal.services, { allowSelectMethod: false });
      await agent.get('/account/phone').expect(403);
      await post(agent, '/account/mobile', form.text, {
        mobileCountry: 'FR',
        mobileNumber: '06 12 34 56 78',
      }).expect(403);
      await giveNumbers({ phone: '+31201234567' });
      await agent.get('/account/phone').expect(200);
      await agent.get('/account/mobile').expect(403);
      expect(await simulatorMessages()).toEqual([]);
      expect((await userRow()).mobilePhone).toBeNull();
    });

    it('without a recent proof sends the user to confirm and changes nothing', async () => {
      const { secret } = await enrolledUser(portal);
      await giveNumbers({ phone: '+31201234567', mobilePhone: '+33612345678' });
      const agent = await signInWithoutProof(portal);
      for (const path of ['/account/phone', '/account/mobile', '/account/mobile/code']) {
        const asked = await agent.get(path).expect(303);
        expect(asked.headers.location).toBe('/account/confirm');
      }
      for (const [path, fields] of [
        ['/account/phone', { ...primaryForm, phoneNumber: '020 765 4321' }],
        ['/account/mobile', { mobileCountry: 'FR', mobileNumber: '06 12 34 56 79' }],
        ['/account/phone/remove', {}],
        ['/account/mobile/remove', {}],
      ] as const) {
        const token = await agent.get('/account').expect(200);
        const refused = await post(agent, path, token.text, fields);
        expect(refused.status, path).toBe(303);
        expect(refused.headers.location).toBe('/account/confirm');
      }
      expect(await simulatorMessages()).toEqual([]);
      expect(await userRow()).toMatchObject({
        phone: '+31201234567',
        mobilePhone: '+33612345678',
      });

      expect((await confirmWithApp(agent, secret, 1)).status).toBe(303);
      await agent.get('/account/phone').expect(200);
    });
  });

  describe('Stopping a method (SPEC J3)', () => {
    it('removes phone calls while the app remains, and moves the default method to it', async () => {
      const { agent } = await enrolledUser(portal, 'lotte', {
        email: 'lotte@example.test',
        language: 'fr',
      });
      await afterEnrolmentNotice();
      await giveNumbers({ phone: '+31201234567', backupPhone: '+3222234567' });
      // Numbers an administrator gives are announced too (SPEC N2): that notice is not this one.
      await afterEnrolmentNotice();
      await giveNumbers({ defaultMethod: 'phone' });
      const page = await agent.get('/account/phone').expect(200);
      expect(page.text).toContain('action="/account/phone/remove"');
      const removed = await post(agent, '/account/phone/remove', page.text, {}).expect(303);
      expect(removed.headers.location).toBe('/account?done=phone');
      expect(await userRow()).toMatchObject({
        phone: null,
        backupPhone: null,
        defaultMethod: 'app',
      });
      const [event] = await changeEvents();
      expect(event).toMatchObject({ type: 'change.phone', phone: '+31 ••• 67' });
      const [mail] = await smtp.waitFor(1);
      expect(mail?.language).toBe('fr');
      expect(mail?.subject).toBe(
        'Avis de sécurité\u00a0: une méthode a été retirée de votre compte',
      );
      expect(mail?.text).toContain('numéros de téléphone pour les appels');
    });

    it('refuses to remove the last method the user can sign in with', async () => {
      const { agent } = await enrolledUser(portal);
      await giveNumbers({ mobilePhone: '+33612345678' });
      const withApp = await agent.get('/account/mobile').expect(200);
      expect(withApp.text).toContain('action="/account/mobile/remove"');

      // The app is no longer offered: it cannot stand in for text messages.
      await changeSettings(portal.services, { allowedMethods: ['phone', 'sms', 'token'] });
      const page = await agent.get('/account/mobile').expect(200);
      expect(page.text).not.toContain('action="/account/mobile/remove"');
      expect(page.text).toContain('Text messages are your only method for the second step');
      const refused = await post(agent, '/account/mobile/remove', page.text, {}).expect(400);
      expect(refused.text).toContain('href="#remove"');
      expect((await userRow()).mobilePhone).toBe('+33612345678');

      await changeSettings(portal.services, { allowedMethods: ['phone', 'sms', 'token', 'app'] });
      // The app deactivated in another tab: text messages are left as the only way in.
      const { id: userId, devices } = await userRow();
      for (const device of devices) {
        await portal.services.mfa.account.removeDevice(userContext(userId), {
          userId,
          deviceId: device.id,
        });
      }
      await post(agent, '/account/mobile/remove', page.text, {}).expect(400);
      await post(agent, '/account/mobile/remove', page.text, { extra: '1' }).expect(400);
      expect((await userRow()).mobilePhone).toBe('+33612345678');
      expect(await changeEvents()).toEqual([]);
    });
  });
});
