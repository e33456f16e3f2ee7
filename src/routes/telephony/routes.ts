import { createHash, timingSafeEqual } from 'node:crypto';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { callbackBaseUrl } from '../../config/index.ts';
import type { Context } from '../../core/context.ts';
import { isLanguage } from '../../core/languages.ts';
import { httpSmsPaths, senderE164 } from '../../providers/http-sms.ts';
import { say, twiml, twilioPaths } from '../../providers/twilio.ts';
import type { Services } from '../../services.ts';

/*
 * The providers' webhooks (SPEC N1): Twilio's and an HTTP gateway's reports about calls and
 * texts. Journey state: none; a provider is no visitor, and these routes come before sessions,
 * so a report creates no session and needs no CSRF token. They are exempt from CSRF only
 * because each proves where it comes from instead: Twilio's by its X-Twilio-Signature over the
 * configured public URL (never the Host the portal sees), a gateway's by the unguessable id of
 * the text in its URL or by SMS_HTTP_INBOUND_TOKEN. Anything else is refused with 403 and
 * logged. Settings obeyed: none here; the core settles only the call or text now under way,
 * once, and only while it is pending.
 */

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A provider report is no user's act: the core hears of it with no actor and no page language. */
function providerContext(req: Request): Context {
  return { actor: { kind: 'user', userId: null }, clientIp: req.ip, language: 'en' };
}

/** A form of single string values, or undefined (a repeated or nested field). */
function flatForm(body: unknown): Record<string, string> | undefined {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null) return undefined;
  const entries = Object.entries(body as Record<string, unknown>);
  if (!entries.every(([, value]) => typeof value === 'string')) return undefined;
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Compares two secrets in constant time, whatever their lengths. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return expected !== '' && timingSafeEqual(digest(given), digest(expected));
}

export function telephonyWebhooks(services: Services): Router {
  const { config, logger, mfa, providers, translate } = services;
  const router = Router();
  const parse = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 100 });

  const refuse = (req: Request, res: Response, reason: string) => {
    logger.warn({ path: req.path, clientIp: req.ip, reason }, 'provider callback refused');
    res.status(403).type('text/plain').send('Forbidden');
  };

  /** The report's verification: a well-formed id in the path, or the request is not found. */
  const idOf = (req: Request, name: string) => {
    const id: unknown = req.params[name];
    return typeof id === 'string' && uuid.test(id) ? id : undefined;
  };
  const verificationOf = (req: Request) => idOf(req, 'verificationId');

  const { twilio, httpSms } = providers;
  if (twilio) {
    const base = callbackBaseUrl(config);

    /**
     * Twilio's signature over the URL it called, as configured (TELEPHONY_CALLBACK_URL or
     * PORTAL_URL) plus the path and query it called, and its POST parameters; and the account
     * the report names must be this portal's.
     */
    const signed: RequestHandler = (req, res, next) => {
      const form = flatForm(req.body);
      const url = base + req.originalUrl.slice(config.BASE_PATH.length);
      if (!form) {
        refuse(req, res, 'Twilio callback with a repeated or nested field');
      } else if (!twilio.verify(req.get('x-twilio-signature'), url, form)) {
        refuse(req, res, 'Twilio callback without a valid X-Twilio-Signature');
      } else if (form.AccountSid !== twilio.accountSid) {
        refuse(req, res, 'Twilio callback for another account');
      } else {
        res.locals.twilioForm = form;
        next();
      }
    };
    const formOf = (res: Response) => res.locals.twilioForm as Record<string, string>;
    const twilioRoute = (path: string, handle: RequestHandler) => {
      router.post(path, parse, signed, handle);
    };

    /** The keys of the <Gather>: `#` was pressed when Twilio says it finished on it. */
    twilioRoute(twilioPaths.keys(':verificationId'), async (req, res) => {
      const form = formOf(res);
      const verificationId = verificationOf(req);
      const language =
        typeof req.query.lng === 'string' && isLanguage(req.query.lng) ? req.query.lng : 'en';
      const digits = (form.Digits ?? '') + (form.FinishedOnKey === '#' ? '#' : '');
      if (verificationId && /^[0-9*#]{0,40}$/.test(digits)) {
        await mfa.phone.keypadInput(providerContext(req), {
          verificationId,
          digits,
          ref: form.CallSid ?? '',
        });
      }
      const goodbye = digits === '' ? 'telephony.callNoKeys' : 'telephony.callThanks';
      res.type('text/xml').send(twiml(`${say(language, translate(language, goodbye))}<Hangup/>`));
    });

    /** The call's end: not answered (the backup phone rings), or answered without keys. */
    twilioRoute(twilioPaths.callStatus(':verificationId'), async (req, res) => {
      const form = formOf(res);
      const verificationId = verificationOf(req);
      const report = { verificationId: verificationId ?? '', ref: form.CallSid ?? '' };
      const status = form.CallStatus ?? '';
      if (verificationId && ['no-answer', 'busy', 'failed', 'canceled'].includes(status)) {
        await mfa.phone.callUnanswered(providerContext(req), report);
      } else if (verificationId && status === 'completed') {
        await mfa.phone.callEnded(providerContext(req), report);
      }
      res.status(204).end();
    });

    /** A text's delivery: undelivered or failed ends its attempt with a clear message. */
    twilioRoute(twilioPaths.textStatus(':verificationId'), async (req, res) => {
      const form = formOf(res);
      const verificationId = verificationOf(req);
      if (verificationId && ['undelivered', 'failed'].includes(form.MessageStatus ?? '')) {
        await mfa.phone.textUndelivered(providerContext(req), {
          verificationId,
          ref: form.MessageSid ?? '',
        });
      }
      res.status(204).end();
    });

    /** Two-way SMS: a reply to the portal's number (the number's "A message comes in" webhook). */
    twilioRoute(twilioPaths.inbound, async (req, res) => {
      const form = formOf(res);
      const from = form.From ?? '';
      const body = form.Body ?? '';
      const sid = form.MessageSid ?? '';
      if (
        /^\+[1-9]\d{6,14}$/.test(from) &&
        /^[SM]M[0-9a-f]{32}$/.test(sid) &&
        body.length <= 1600
      ) {
        await mfa.phone.textReply(providerContext(req), { from, body, ref: `twilio:${sid}` });
      }
      // No answer is texted back.
      res.type('text/xml').send(twiml(''));
    });
  }

  if (httpSms) {
    const failed = new Set(config.SMS_HTTP_DLR_FAILED);
    /** A field of the query or of a form body (gateways use either). */
    const fieldOf = (req: Request, name: string): string | undefined => {
      const value: unknown = req.query[name] ?? flatForm(req.body)?.[name];
      return typeof value === 'string' ? value : undefined;
    };

    /**
     * A delivery report (Kannel's dlr-url, with its `%d` as `status`). The text's id in the URL
     * is the proof: unguessable, and it must be the id of the text now under way.
     */
    router.all(httpSmsPaths.status(':verificationId', ':messageId'), parse, async (req, res) => {
      const verificationId = verificationOf(req);
      const messageId = idOf(req, 'messageId');
      if (!verificationId || !messageId) {
        refuse(req, res, 'SMS gateway report for no text');
        return;
      }
      if (failed.has(fieldOf(req, 'status') ?? '')) {
        await mfa.phone.textUndelivered(providerContext(req), { verificationId, ref: messageId });
      }
      res.status(204).end();
    });

    /** Two-way SMS through the gateway: `from` and `text`, with the configured token. */
    router.all(httpSmsPaths.inbound, parse, async (req, res) => {
      if (!sameSecret(fieldOf(req, 'token') ?? '', config.SMS_HTTP_INBOUND_TOKEN)) {
        refuse(req, res, 'SMS gateway reply without the right SMS_HTTP_INBOUND_TOKEN');
        return;
      }
      const from = senderE164(fieldOf(req, 'from') ?? '');
      const body = fieldOf(req, 'text') ?? '';
      if (from && body.length <= 1600) {
        await mfa.phone.textReply(providerContext(req), { from, body });
      }
      res.status(204).end();
    });
  }

  return router;
}
