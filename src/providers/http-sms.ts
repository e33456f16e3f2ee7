import { randomUUID } from 'node:crypto';
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { TelephonyError, type Telephony } from './telephony.ts';
import { providerFetch, responseText, type ProviderHealth } from './provider-http.ts';

/**
 * A generic HTTP SMS gateway (SPEC N1): the operator's URL, method, headers and body, each a
 * template with placeholders, and what a successful answer looks like. It covers Kannel's
 * `sendsms` (see the README) and most operators' HTTP APIs. Delivery reports come back to the
 * `{dlr_url}` of each text, and replies (two-way) to the inbound webhook with its token.
 */
export interface HttpSmsOptions {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  contentType: string;
  body: string;
  /** A regular expression a successful answer's body matches (empty: any 2xx answer). */
  success: string;
  from: string;
  /** The portal's public address as the gateway reaches it: no trailing /. */
  callbackBase: string;
  timeoutMs: number;
}

export const httpSmsPaths = {
  status: (verificationId: string, messageId: string) =>
    `/telephony/http/texts/${verificationId}/${messageId}/status`,
  inbound: '/telephony/http/texts/inbound',
};

/** The number in the forms gateways ask for: +31612345678, 31612345678, 0612345678. */
function numberForms(e164: string) {
  let national = e164.replace(/^\+/, '');
  try {
    national = parsePhoneNumberWithError(e164).formatNational().replace(/\D/g, '');
  } catch {
    // The core only texts valid numbers; a number libphonenumber cannot read keeps its digits.
  }
  return { to: e164, to_digits: e164.replace(/^\+/, ''), to_national: national };
}

/** Fills `{name}` placeholders with values encoded for where they go; unknown ones stay. */
export function fillTemplate(
  template: string,
  values: Record<string, string>,
  encode: (value: string) => string,
): string {
  return template.replace(/\{([a-z_]+)\}/g, (placeholder, name: string) => {
    const value = values[name];
    return value === undefined ? placeholder : encode(value);
  });
}

/** How a value is written into the body: as the content type reads it. */
function bodyEncoder(contentType: string): (value: string) => string {
  if (/json/i.test(contentType)) return (value) => JSON.stringify(value).slice(1, -1);
  if (/x-www-form-urlencoded/i.test(contentType)) return encodeURIComponent;
  return (value) => value;
}

export function createHttpSms(options: HttpSmsOptions) {
  const health: ProviderHealth = { state: 'unknown', checkedAt: 0 };
  const success = options.success === '' ? undefined : new RegExp(options.success);

  const sendText: Telephony['sendText'] = async (text) => {
    // The text's own id: its delivery report names it, so a report about an earlier text of
    // the attempt (before a resend) changes nothing. It is unguessable: the report's URL is
    // the only proof a gateway such as Kannel can give that the report is about this text.
    const id = randomUUID();
    const values: Record<string, string> = {
      ...numberForms(text.to),
      text: text.body,
      id,
      from: options.from,
      dlr_url: text.verificationId
        ? `${options.callbackBase}${httpSmsPaths.status(text.verificationId, id)}`
        : '',
    };
    const url = fillTemplate(options.url, values, encodeURIComponent);
    const post = options.method === 'POST';
    const response = await providerFetch(
      'The SMS gateway',
      url,
      {
        method: options.method,
        headers: {
          ...(post ? { 'content-type': options.contentType } : {}),
          ...options.headers,
        },
        ...(post
          ? { body: fillTemplate(options.body, values, bodyEncoder(options.contentType)) }
          : {}),
      },
      options.timeoutMs,
      health,
    );
    const answer = await responseText(response);
    if (!response.ok || (success && !success.test(answer))) {
      health.state = response.status >= 500 ? 'failed' : health.state;
      // Its answer may quote the number: the audit gets the status alone.
      throw new TelephonyError(
        `The SMS gateway refused the text (${String(response.status)}${response.ok ? ', no success in its answer' : ''})`,
      );
    }
    health.state = 'ok';
    return { ref: id };
  };

  return {
    telephony: { sendText },
    /** The gateway's state for /readyz: what the last text found (nothing is sent to check). */
    state: (): ProviderHealth => ({ ...health }),
  };
}

export type HttpSms = ReturnType<typeof createHttpSms>;

/**
 * A sender's number as a gateway reports it, in E.164: +31612345678, 0031612345678 or
 * 31612345678 (Kannel's `%p` is the number as the network gave it). Undefined for anything else.
 */
export function senderE164(raw: string): string | undefined {
  const compact = raw.replace(/[\s()-]/g, '');
  const international = compact.startsWith('00') ? `+${compact.slice(2)}` : compact;
  const e164 = international.startsWith('+') ? international : `+${international}`;
  return /^\+[1-9]\d{6,14}$/.test(e164) ? e164 : undefined;
}
