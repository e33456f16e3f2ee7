import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { languages, type Language } from '../../src/i18n.ts';
import { createAppUser } from '../helpers/account.ts';
import { startE2eServer, type E2eServer } from '../helpers/journey.ts';
import { find, lynxMissing, openTextBrowser, press, type } from '../helpers/text-browser.ts';
import { appCode } from '../helpers/two-step.ts';

/*
 * SPEC L2 for J1 and J3 in the text browser lynx, driven by its own keystroke scripts: a user
 * signs in with their password and a code from the mobile app, follows My account's link to the
 * language page, chooses another language and saves it, and My account confirms it in that
 * language; in English, Dutch and French. Lynx fills and sends every form itself, CSRF token
 * included; the test reads the pages as lynx showed them, and the language the account kept.
 */

const password = 'correct horse battery staple';
const noLynx = await lynxMissing();

/** From the Save button of the language page, Up Arrow to the radio of that language. */
function upTo(language: Language): string[] {
  return Array<string>(languages.length - languages.indexOf(language)).fill('Up Arrow');
}

describe.skipIf(noLynx)('Signing in and changing the language in lynx', { timeout: 60_000 }, () => {
  let server: E2eServer | undefined;

  beforeAll(async () => {
    server = await startE2eServer({ RATE_LIMIT_SIGNIN_MAX: '1000' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  for (const [index, lng] of languages.entries()) {
    const chosen = languages[(index + 1) % languages.length] ?? lng;

    it(`in ${lng}, a user signs in and switches to ${chosen}`, async () => {
      if (!server) throw new Error('The portal is not running');
      const { services } = server.running;
      const t = services.i18n.getFixedT(lng);
      const tChosen = services.i18n.getFixedT(chosen);
      const username = `lynx-${lng}`;
      const secret = await createAppUser(services, username, password);
      const lynx = openTextBrowser();
      onTestFinished(() => {
        lynx.close();
      });

      await lynx.browse(`${server.baseUrl}/sign-in?lng=${lng}`, [
        ...find(t('signIn.username')),
        ...type(username),
        ...press('Down Arrow'),
        ...type(password),
        ...press('Down Arrow', '^J'),
        ...lynx.savePage('verify'),
        ...find(t('codes.appLabel')),
        ...type(appCode(secret)),
        ...press('Down Arrow', '^J'),
        ...lynx.savePage('account'),
        // The link reads "Change Language" where no style sheet hides its second word.
        ...find(`${t('account.summary.change')} ${t('account.summary.language')}`),
        ...press('^J'),
        ...lynx.savePage('language'),
        // The radios, one per language in the portal's order, come just before Save.
        ...find(t('preferences.save')),
        ...press(...upTo(chosen), '^J'),
        ...find(t('preferences.save')),
        ...press('^J'),
        ...lynx.savePage('done'),
      ]);

      expect(lynx.pageLines('verify')).toContain(t('verify.app.title'));
      expect(lynx.pageLines('account')).toContain(t('account.title'));
      expect(lynx.pageLines('language')).toContain(t('preferences.language.title'));
      const done = lynx.pageLines('done');
      expect(done).toContain(tChosen('account.title'));
      expect(done).toContain(tChosen('account.done.language'));
      expect((await services.users.findByUsername(username))?.language).toBe(chosen);
    });
  }
});
