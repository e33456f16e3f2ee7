import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestPortal, type TestPortal, changeSettings } from '../helpers/app.ts';
import { accountOf, confirmWithApp, enrolledUser, signInWithoutProof } from '../helpers/account.ts';
import { cliContext } from '../helpers/context.ts';
import { appCode, post } from '../helpers/two-step.ts';

let portal: TestPortal;

const sessionCookie = (response: { headers: Record<string, unknown> }) =>
  ((response.headers['set-cookie'] ?? []) as string[]).find((c) => c.startsWith('mfa.sid='));

beforeEach(async () => {
  portal = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '1000' });
});
afterEach(async () => {
  await portal.close();
});

describe('My account summary (SPEC J3)', () => {
  it('shows the methods, devices, language and a link to each change the settings allow', async () => {
    const { agent } = await enrolledUser(portal);
    const page = await agent.get('/account').expect(200);
    expect(page.text).toContain('Mobile app</dt><dd>Mobile app 1</dd>');
    for (const href of [
      '/account/devices',
      '/account/token',
      '/account/language',
      '/account/questions',
    ]) {
      expect(page.text, href).toContain(`href="${href}"`);
    }
    expect(page.text).not.toContain('href="/account/bypass"');

    await changeSettings(portal.services, { allowSelectLanguage: false });
    await changeSettings(portal.services, { allowOathToken: false });
    await changeSettings(portal.services, { allowBypass: true });
    const after = await agent.get('/account').expect(200);
    expect(after.text).not.toContain('href="/account/language"');
    expect(after.text).not.toContain('href="/account/token"');
    expect(after.text).toContain('href="/account/bypass"');
  });

  it('names each change link in the word order of the page language, "Add" when there is none', async () => {
    const { agent } = await enrolledUser(portal);
    const expected = {
      en: [
        '>Change<span class="visually-hidden"> language</span></a>',
        '>Manage<span class="visually-hidden"> mobile app</span></a>',
        '>Add<span class="visually-hidden"> OATH token</span></a>',
      ],
      nl: [
        '><span class="visually-hidden">taal </span>Wijzigen</a>',
        '><span class="visually-hidden">mobiele app </span>Beheren</a>',
        '><span class="visually-hidden">OATH-token </span>Toevoegen</a>',
      ],
      fr: [
        '>Modifier<span class="visually-hidden">\u00a0: langue</span></a>',
        '>Gérer<span class="visually-hidden">\u00a0: application mobile</span></a>',
        '>Ajouter<span class="visually-hidden">\u00a0: jeton OATH</span></a>',
      ],
    };
    for (const [lng, links] of Object.entries(expected)) {
      const page = await agent.get(`/account?lng=${lng}`).expect(200);
      for (const link of links) expect(page.text, lng).toContain(link);
    }
  });

  it('shows a confirmation only for the known change names', async () => {
    const { agent } = await enrolledUser(portal);
    const done = await agent.get('/account?done=pin').expect(200);
    expect(done.text).toContain('Your PIN has been changed.');
    const unknown = await agent.get('/account?done=constructor').expect(200);
    expect(unknown.text).not.toContain('class="notice"');
  });
});

describe('Proof before a change (SPEC J3, ASVS 5 7.5.1)', () => {
  it('sends a user without a recent proof to confirm, then back to the page they asked for', async () => {
    const { secret } = await enrolledUser(portal);
    const agent = await signInWithoutProof(portal);
    await changeSettings(portal.services, { allowBypass: true });
    const asked = await agent.get('/account/bypass').expect(303);
    expect(asked.headers.location).toBe('/account/confirm');
    const confirm = await agent.get('/account/confirm').expect(200);
    expect(confirm.text).toContain('You will not be asked again for 5 minutes.');
    expect(confirm.text).toContain('action="/account/confirm"');

    const wrong = await post(agent, '/account/confirm', confirm.text, {
      method: 'app',
      code: '000000',
    });
    expect(wrong.status).toBe(400);

    const before = sessionCookie(wrong);
    const right = await post(agent, '/account/confirm', confirm.text, {
      method: 'app',
      code: appCode(secret, 1),
    });
    expect(right.status).toBe(303);
    expect(right.headers.location).toBe('/account/bypass');
    await agent.get('/account/bypass').expect(200);
    const after = sessionCookie(right);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);

    const events = await portal.services.mfa.administration.auditEvents(cliContext, {
      userId: (await accountOf(portal.services, 'lotte')).id,
      type: 'proof',
    });
    expect(events.map((e) => e.result)).toEqual(['success', 'failure']);
  });

  it('says how long a proof lasts, as the settings have it, in the page language (SPEC L4)', async () => {
    await enrolledUser(portal);
    const agent = await signInWithoutProof(portal);
    await changeSettings(portal.services, { proofMinutes: 10 });
    const dutch = await agent.get('/account/confirm?lng=nl').expect(200);
    expect(dutch.text).toContain('De komende 10 minuten vragen we dit niet opnieuw.');
    await changeSettings(portal.services, { proofMinutes: 1 });
    const french = await agent.get('/account/confirm?lng=fr').expect(200);
    expect(french.text).toContain('Cela ne vous sera plus demandé pendant 1 minute.');
  });

  it('refuses a replayed code as proof and counts it as a failure', async () => {
    const { secret } = await enrolledUser(portal);
    const agent = await signInWithoutProof(portal);
    expect((await confirmWithApp(agent, secret, 1)).status).toBe(303);
    const again = await signInWithoutProof(portal);
    const replay = await confirmWithApp(again, secret, 1);
    expect(replay.status).toBe(400);
  });

  it('is not asked of the second-step pages of sign-in, which stay under /verify', async () => {
    const { agent } = await enrolledUser(portal);
    await agent.get('/verify').expect(302);
  });
});
