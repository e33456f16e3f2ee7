import { listen, type Listening } from './raw-http.ts';
import {
  browserAgent,
  changeSettings,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  type TestPortal,
} from './app.ts';
import { startFakeTwilio, type FakeTwilio } from './fake-twilio.ts';

/*
 * The phone a test answers, whichever provider carries the calls and texts (SPEC N1): the
 * development simulator's page, or Twilio (a local server speaking its API, see fake-twilio.ts)
 * calling the portal's webhooks back. The journeys that work with one are run with both.
 */

/** A call or text as the phone received it. */
export interface PhoneMessage {
  kind: 'call' | 'text';
  to: string;
  /** The extension dialled after the answer, commas for pauses. */
  extension: string | null;
  /** What the call says or the text reads. */
  body: string;
}

export interface TestPhone {
  readonly provider: 'simulator' | 'twilio';
  /** The configuration keys of a portal that calls and texts this phone. */
  readonly env: Record<string, string>;
  /** Connects the phone to the portal, once it exists. */
  attach(portal: TestPortal): Promise<void>;
  /** Every call and text so far, the newest first. */
  messages(): Promise<PhoneMessage[]>;
  /** Answers the newest call with the keys; returns what it said. */
  answer(keys: string): Promise<string>;
  /** The newest call is not answered. */
  miss(): Promise<void>;
  /** Replies to the newest text, from the number it was sent to. */
  reply(body: string): Promise<void>;
  close(): Promise<void>;
}

export const phoneProviders = ['simulator', 'twilio'] as const;

function simulatorPhone(): TestPhone {
  let portal: TestPortal | undefined;
  const agent = () => {
    if (!portal) throw new Error('The phone is not attached');
    return browserAgent(portal);
  };
  async function page() {
    const browser = agent();
    const html = (await browser.get('/simulator').expect(200)).text;
    const articles = html.split('<article class="simulated">').slice(1);
    const messages = articles.map((article) => ({
      id: /action="\/simulator\/(?:calls|texts)\/([0-9a-f-]+)\//.exec(article)?.[1] ?? '',
      kind: article.includes('/simulator/calls/') ? ('call' as const) : ('text' as const),
      heading: /<h2>([^<]*)<\/h2>/.exec(article)?.[1] ?? '',
      body: /<p class="simulated-body">([^<]*)<\/p>/.exec(article)?.[1] ?? '',
    }));
    return { browser, html, messages };
  }
  const post = async (path: string, fields: Record<string, string>) => {
    const { browser, html } = await page();
    await browser
      .post(path)
      .type('form')
      .send({ _csrf: csrfTokenFrom(html), ...fields })
      .expect(303);
  };
  return {
    provider: 'simulator',
    env: { SIMULATOR_ENABLED: 'true' },
    attach(attached) {
      portal = attached;
      return Promise.resolve();
    },
    async messages() {
      return (await page()).messages.map(({ kind, heading, body }) => ({
        kind,
        to: /\+\d+/.exec(heading)?.[0] ?? '',
        extension: /extension ([0-9,*#]+)/.exec(heading)?.[1] ?? null,
        body,
      }));
    },
    async answer(keys) {
      const call = (await page()).messages.find((m) => m.kind === 'call');
      await post(`/simulator/calls/${call?.id ?? ''}/answer`, { keys });
      return call?.body ?? '';
    },
    async miss() {
      const call = (await page()).messages.find((m) => m.kind === 'call');
      await post(`/simulator/calls/${call?.id ?? ''}/miss`, {});
    },
    async reply(body) {
      const text = (await page()).messages.find((m) => m.kind === 'text');
      await post(`/simulator/texts/${text?.id ?? ''}/reply`, { body });
    },
    close: () => Promise.resolve(),
  };
}

async function twilioPhone(): Promise<TestPhone & { twilio: FakeTwilio; portalUrl: () => string }> {
  const twilio = await startFakeTwilio();
  let listening: Listening | undefined;
  const newest = <T extends { order: number }>(list: T[]) =>
    [...list].sort((a, b) => b.order - a.order)[0];
  return {
    provider: 'twilio',
    twilio,
    env: twilio.env(),
    /** Where the portal really listens, behind the public address Twilio calls. */
    portalUrl: () => `http://127.0.0.1:${String(listening?.port ?? 0)}`,
    async attach(portal) {
      listening = await listen(portal.app);
      twilio.forwardTo(`http://127.0.0.1:${String(listening.port)}`);
    },
    messages() {
      const all = [
        ...twilio.calls.map((call) => ({
          order: call.order,
          kind: 'call' as const,
          to: call.to,
          // Twilio's `w` is half a second: the portal dials a second first, and one per comma.
          extension: call.sendDigits?.replace(/^ww/, '').replace(/ww/g, ',') ?? null,
          body: call.prompt,
        })),
        ...twilio.texts.map((text) => ({
          order: text.order,
          kind: 'text' as const,
          to: text.to,
          extension: null,
          body: text.body,
        })),
      ].sort((a, b) => b.order - a.order);
      return Promise.resolve(
        all.map(({ kind, to, extension, body }) => ({ kind, to, extension, body })),
      );
    },
    async answer(keys) {
      const call = newest(twilio.calls);
      if (!call) throw new Error('No call to answer');
      await twilio.answer(call, keys);
      return call.prompt;
    },
    async miss() {
      const call = newest(twilio.calls);
      if (!call) throw new Error('No call to miss');
      await twilio.end(call, 'no-answer');
    },
    async reply(body) {
      const text = newest(twilio.texts);
      if (!text) throw new Error('No text to reply to');
      await twilio.report(text, 'delivered');
      await twilio.reply(text.to, body);
    },
    async close() {
      await listening?.close();
      await twilio.close();
    },
  };
}

/** A phone of that provider, to attach to the portal made with its `env`. */
export async function createPhone(provider: (typeof phoneProviders)[number]): Promise<TestPhone> {
  return provider === 'simulator' ? simulatorPhone() : twilioPhone();
}
export { twilioPhone };

/** The phone form of User Setup: a Dutch number, no extension, no backup phone. */
export const phoneFields = {
  phoneCountry: 'NL',
  phoneNumber: '020 123 4567',
  phoneExtension: '',
  backupCountry: 'BE',
  backupNumber: '',
  backupExtension: '',
};

/**
 * A test portal that calls and texts the phone, with the user `sem` (that password) and no
 * security questions: the phone journeys' start. `close` stops both.
 */
export async function portalWithPhone(phone: TestPhone, password: string) {
  const portal = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '1000', ...phone.env });
  await phone.attach(portal);
  await createUser(portal, 'sem', password);
  await changeSettings(portal.services, { useSecurityQuestions: false });
  return {
    portal,
    close: async () => {
      await phone.close();
      await portal.close();
    },
  };
}
