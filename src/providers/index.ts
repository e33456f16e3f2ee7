import { callbackBaseUrl, type Config } from '../config/index.ts';
import { createHttpSms, type HttpSms } from './http-sms.ts';
import type { ProviderHealth } from './provider-http.ts';
import type { Simulator } from './simulator.ts';
import { TelephonyError, type Channels, type Telephony } from './telephony.ts';
import { createTwilio, type Twilio } from './twilio.ts';

/** The voice and SMS providers as configured (SPEC N1): one per channel. */
export interface Providers {
  /** Calls and texts, each through its channel's provider; absent with neither. */
  telephony: Telephony | undefined;
  channels: Channels;
  twilio: Twilio | undefined;
  httpSms: HttpSms | undefined;
  /** For /readyz: each channel's provider and its state. */
  state(): Promise<Record<string, { provider: string } & ProviderHealth>>;
}

/**
 * Builds the providers of VOICE_PROVIDER and SMS_PROVIDER. The development simulator, when
 * enabled, carries a channel that has no provider of its own.
 */
export function createProviders(config: Config, simulator: Simulator | undefined): Providers {
  const callbackBase = callbackBaseUrl(config);
  const timeoutMs = config.TELEPHONY_TIMEOUT_SECONDS * 1000;
  const twilio =
    config.VOICE_PROVIDER === 'twilio' || config.SMS_PROVIDER === 'twilio'
      ? createTwilio({
          accountSid: config.TWILIO_ACCOUNT_SID,
          authToken: config.TWILIO_AUTH_TOKEN,
          from: config.TWILIO_FROM,
          apiUrl: config.TWILIO_API_URL || 'https://api.twilio.com',
          callbackBase,
          timeoutMs,
        })
      : undefined;
  const httpSms =
    config.SMS_PROVIDER === 'http'
      ? createHttpSms({
          url: config.SMS_HTTP_URL,
          method: config.SMS_HTTP_METHOD,
          headers: config.SMS_HTTP_HEADERS,
          contentType: config.SMS_HTTP_CONTENT_TYPE,
          body: config.SMS_HTTP_BODY,
          success: config.SMS_HTTP_SUCCESS,
          from: config.SMS_HTTP_FROM,
          callbackBase,
          timeoutMs,
        })
      : undefined;
  const voice = config.VOICE_PROVIDER === 'twilio' ? twilio : simulator;
  const sms =
    config.SMS_PROVIDER === 'twilio'
      ? twilio
      : config.SMS_PROVIDER === 'http'
        ? httpSms
        : simulator;
  const channels = { phone: voice !== undefined, sms: sms !== undefined };
  const missing = (channel: string) => () =>
    Promise.reject(new TelephonyError(`No provider for ${channel}`));
  const telephony: Telephony | undefined =
    voice || sms
      ? {
          placeCall: voice ? (call) => voice.telephony.placeCall(call) : missing('calls'),
          sendText: sms ? (text) => sms.telephony.sendText(text) : missing('texts'),
        }
      : undefined;

  const nameOf = (provider: unknown) =>
    provider === twilio ? 'twilio' : provider === httpSms ? 'http' : 'simulator';
  return {
    telephony,
    channels,
    twilio,
    httpSms,
    async state() {
      const states: Record<string, { provider: string } & ProviderHealth> = {};
      const twilioState = twilio ? await twilio.state() : undefined;
      for (const [channel, provider] of [
        ['voice', voice],
        ['sms', sms],
      ] as const) {
        if (!provider) continue;
        const health =
          provider === twilio
            ? twilioState
            : provider === httpSms
              ? httpSms.state()
              : { state: 'ok' as const, checkedAt: Date.now() };
        if (health) states[channel] = { provider: nameOf(provider), ...health };
      }
      return states;
    },
  };
}
