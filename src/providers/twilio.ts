import { createHmac, timingSafeEqual } from 'node:crypto';
import { TelephonyError, type Sent, type Telephony } from './telephony.ts';
import { providerFetch, type ProviderHealth } from './provider-http.ts';

/**
 * Twilio voice and SMS over its REST API with plain `fetch` (SPEC N1, M1, M2): no `twilio`
 * package. A call carries its TwiML inline: the prompt in the user's language inside a
 * `<Gather>`, whose keys come back to the portal's webhook; status callbacks report a call not
 * answered and a text not delivered. Every callback is signed (`X-Twilio-Signature`).
 */
export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  /** The caller id and sender: an E.164 number, or a Messaging Service SID (MG…) for texts. */
  from: string;
  /** https://api.twilio.com, or a local server speaking its API (the tests). */
  apiUrl: string;
  /** The portal's public address as Twilio reaches it (TELEPHONY_CALLBACK_URL): no trailing /. */
  callbackBase: string;
  timeoutMs: number;
}

/** The paths of the webhooks, under the portal's root; the routes mount the same. */
export const twilioPaths = {
  keys: (verificationId: string) => `/telephony/twilio/calls/${verificationId}/keys`,
  callStatus: (verificationId: string) => `/telephony/twilio/calls/${verificationId}/status`,
  textStatus: (verificationId: string) => `/telephony/twilio/texts/${verificationId}/status`,
  inbound: '/telephony/twilio/texts/inbound',
};

const englishVoice = { voice: 'Polly.Amy', language: 'en-GB' };

/** The voice that speaks each language (Amazon Polly through Twilio's <Say>). */
export const twilioVoices: Record<string, { voice: string; language: string }> = {
  en: englishVoice,
  nl: { voice: 'Polly.Lotte', language: 'nl-NL' },
  fr: { voice: 'Polly.Lea', language: 'fr-FR' },
};

/** How long a call rings before Twilio reports it as not answered. */
const ringSeconds = 30;
/** How long the <Gather> waits for the first or the next key. */
const keySeconds = 10;

const xmlEscapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
const xml = (text: string) => text.replace(/[&<>"']/g, (c) => xmlEscapes[c] ?? c);

/** `<Say>` in the voice of the language (English for one without a voice of its own). */
export function say(language: string, text: string): string {
  const { voice, language: spoken } = twilioVoices[language] ?? englishVoice;
  return `<Say voice="${voice}" language="${spoken}">${xml(text)}</Say>`;
}

/** A TwiML document of the given verbs. */
export const twiml = (verbs: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Response>${verbs}</Response>`;

/**
 * The keys dialled once the call is answered (SPEC M1): the extension, a comma a one-second
 * pause (Twilio's `w` is half a second), after a first second for the switchboard to pick up.
 */
export function sendDigitsOf(extension: string): string {
  return `ww${extension.replace(/,/g, 'ww')}`;
}

/**
 * Twilio's request signature: base64 HMAC-SHA1, keyed with the auth token, of the full URL
 * Twilio called followed by each POST parameter's name and value, sorted by name.
 */
export function twilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string>,
): string {
  const data = Object.keys(params)
    .sort()
    .reduce((signed, name) => `${signed}${name}${params[name] ?? ''}`, url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** Whether a request carries Twilio's signature for that URL and parameters (constant time). */
export function validTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Record<string, string>,
): boolean {
  if (!signature) return false;
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  const actual = Buffer.from(signature);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function createTwilio(options: TwilioOptions) {
  const { accountSid, authToken, from, apiUrl, callbackBase, timeoutMs } = options;
  const api = `${apiUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${accountSid}`;
  const authorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const health: ProviderHealth = { state: 'unknown', checkedAt: 0 };

  /** POSTs a form to the API and returns the SID of what it created. */
  async function create(resource: string, form: Record<string, string>): Promise<Sent> {
    const response = await providerFetch(
      'Twilio',
      `${api}/${resource}.json`,
      {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams(form).toString(),
      },
      timeoutMs,
      health,
    );
    const answer = (await response.json().catch(() => ({}))) as { sid?: unknown; code?: unknown };
    if (!response.ok || typeof answer.sid !== 'string') {
      health.state = response.status >= 500 || response.status === 401 ? 'failed' : health.state;
      // Twilio's message may quote the number: the audit gets the status and error code only.
      const code = typeof answer.code === 'number' ? ` (error ${String(answer.code)})` : '';
      throw new TelephonyError(`Twilio answered ${String(response.status)}${code}`);
    }
    health.state = 'ok';
    return { ref: answer.sid };
  }

  const telephony: Telephony = {
    async placeCall(call) {
      const gather =
        `<Gather input="dtmf" finishOnKey="#" timeout="${String(keySeconds)}" actionOnEmptyResult="true" method="POST" ` +
        `action="${xml(`${callbackBase}${twilioPaths.keys(call.verificationId)}?lng=${encodeURIComponent(call.language)}`)}">` +
        `${say(call.language, call.prompt)}</Gather>`;
      return create('Calls', {
        To: call.to,
        From: from,
        Twiml: twiml(gather),
        Timeout: String(ringSeconds),
        StatusCallback: `${callbackBase}${twilioPaths.callStatus(call.verificationId)}`,
        StatusCallbackMethod: 'POST',
        ...(call.extension ? { SendDigits: sendDigitsOf(call.extension) } : {}),
      });
    },
    async sendText(text) {
      return create('Messages', {
        To: text.to,
        ...(from.startsWith('MG') ? { MessagingServiceSid: from } : { From: from }),
        Body: text.body,
        ...(text.verificationId
          ? { StatusCallback: `${callbackBase}${twilioPaths.textStatus(text.verificationId)}` }
          : {}),
      });
    },
  };

  return {
    telephony,
    accountSid,
    /** Whether a callback is Twilio's own: signed with this account's token for that URL. */
    verify: (signature: string | undefined, url: string, params: Record<string, string>) =>
      validTwilioSignature(authToken, signature, url, params),
    /**
     * The provider's state for /readyz: Twilio's account resource read at most once a minute
     * (two seconds at most), otherwise what the last request found.
     */
    async state(): Promise<ProviderHealth> {
      if (Date.now() - health.checkedAt < 60_000) return { ...health };
      try {
        const response = await providerFetch(
          'Twilio',
          `${api}.json`,
          { headers: { authorization, accept: 'application/json' } },
          Math.min(timeoutMs, 2000),
          health,
        );
        await response.body?.cancel();
        health.state = response.ok ? 'ok' : 'failed';
      } catch {
        health.state = 'failed';
      }
      return { ...health };
    },
  };
}

export type Twilio = ReturnType<typeof createTwilio>;
