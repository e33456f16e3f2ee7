import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';

/*
 * A local stand-in for Twilio, the one cloud the tests cannot reach (SPEC §14). It speaks
 * Twilio's documented REST API (2010-04-01: Calls.json and Messages.json, form-encoded, Basic
 * auth with the account SID and auth token, 201 with the new resource's `sid`, Twilio's error
 * JSON otherwise) and, like Twilio, calls the portal's webhooks back with signed requests: the
 * <Gather> action with the keys pressed, the status callbacks of calls and texts, and the
 * number's inbound-message webhook. It signs them on its own (HMAC-SHA1 of the URL it calls and
 * the sorted parameters, base64), not with the portal's code.
 *
 * It also stands in front of the portal as its public address (`publicUrl`), as IIS or a proxy
 * does: Twilio calls that address and signs it, and the portal behind sees another host and port.
 */

export interface FakeCall {
  /** The order of all calls and texts: 1 for the first. */
  order: number;
  sid: string;
  to: string;
  from: string;
  /** The keys dialled after the answer, as sent (SendDigits). */
  sendDigits: string | undefined;
  /** What the voice says inside the <Gather>, its voice and its language. */
  prompt: string;
  voice: string;
  language: string;
  gatherAction: string;
  statusCallback: string;
  /** The TwiML the portal answered to the keys (what the caller hears last). */
  goodbye?: string;
}

export interface FakeText {
  order: number;
  sid: string;
  to: string;
  from: string;
  body: string;
  statusCallback: string | undefined;
}

const unescapeXml = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/** Twilio's signature, as Twilio documents it. */
export function signTwilio(token: string, url: string, params: Record<string, string>): string {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + (params[name] ?? '');
  return createHmac('sha1', token).update(data).digest('base64');
}

const sid = (prefix: string) => prefix + randomBytes(16).toString('hex');

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listenOn(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as net.AddressInfo).port;
}

export async function startFakeTwilio() {
  const accountSid = sid('AC');
  const authToken = randomBytes(16).toString('hex');
  const from = '+3197010000000';
  const calls: FakeCall[] = [];
  const texts: FakeText[] = [];
  /** An answer the API gives instead of creating anything (a provider that is down). */
  let outage: { status: number } | 'hang' | undefined;
  let portalUrl = '';

  function apiError(res: http.ServerResponse, status: number, code: number, message: string) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code, message, more_info: '', status }));
  }

  const api = http.createServer((req, res) => {
    void (async () => {
      const body = new URLSearchParams(await readBody(req));
      const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
      const base = `/2010-04-01/Accounts/${accountSid}`;
      if (outage === 'hang') return;
      if (outage) {
        apiError(res, outage.status, 20500, 'Internal Server Error');
        return;
      }
      if (req.headers.authorization !== expected) {
        apiError(res, 401, 20003, 'Authenticate');
        return;
      }
      if (req.method === 'GET' && req.url === `${base}.json`) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sid: accountSid, status: 'active' }));
        return;
      }
      const to = body.get('To') ?? '';
      if (req.method === 'POST' && req.url === `${base}/Calls.json`) {
        const twiml = body.get('Twiml') ?? '';
        const gather = /<Gather [^>]*action="([^"]+)"[^>]*>([\s\S]*)<\/Gather>/.exec(twiml);
        const spoken = /<Say voice="([^"]+)" language="([^"]+)">([\s\S]*?)<\/Say>/.exec(
          gather?.[2] ?? '',
        );
        if (!/^\+\d{8,15}$/.test(to) || !gather || !spoken || !body.get('StatusCallback')) {
          apiError(res, 400, 21205, 'Invalid call request');
          return;
        }
        const call: FakeCall = {
          order: calls.length + texts.length + 1,
          sid: sid('CA'),
          to,
          from: body.get('From') ?? '',
          sendDigits: body.get('SendDigits') ?? undefined,
          voice: spoken[1] ?? '',
          language: spoken[2] ?? '',
          prompt: unescapeXml(spoken[3] ?? ''),
          gatherAction: unescapeXml(gather[1] ?? ''),
          statusCallback: body.get('StatusCallback') ?? '',
        };
        calls.push(call);
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sid: call.sid, status: 'queued', to, from: call.from }));
        return;
      }
      if (req.method === 'POST' && req.url === `${base}/Messages.json`) {
        const text: FakeText = {
          order: calls.length + texts.length + 1,
          sid: sid('SM'),
          to,
          from: body.get('From') ?? body.get('MessagingServiceSid') ?? '',
          body: body.get('Body') ?? '',
          statusCallback: body.get('StatusCallback') ?? undefined,
        };
        if (!/^\+\d{8,15}$/.test(to) || text.body === '') {
          apiError(res, 400, 21211, "The 'To' number is not a valid phone number.");
          return;
        }
        texts.push(text);
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sid: text.sid, status: 'queued', to, body: text.body }));
        return;
      }
      apiError(res, 404, 20404, 'The requested resource was not found');
    })();
  });

  /** The portal's public face: forwards every request, path and all, to the portal behind. */
  const front = http.createServer((req, res) => {
    const target = new URL(req.url ?? '/', portalUrl);
    const forwarded = http.request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => {
      res.writeHead(502).end();
    });
    req.pipe(forwarded);
  });

  const apiPort = await listenOn(api);
  const frontPort = await listenOn(front);
  const publicUrl = `http://127.0.0.1:${String(frontPort)}`;

  /** A webhook request as Twilio sends it: form-encoded, signed over the URL it calls. */
  async function callBack(
    url: string,
    params: Record<string, string>,
    token = authToken,
  ): Promise<Response> {
    const form = { AccountSid: accountSid, ApiVersion: '2010-04-01', ...params };
    return fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signTwilio(token, url, form),
        'user-agent': 'TwilioProxy/1.1',
      },
      body: new URLSearchParams(form).toString(),
    });
  }

  function expectOk(response: Response, what: string) {
    if (!response.ok) throw new Error(`${what}: the portal answered ${String(response.status)}`);
  }

  return {
    accountSid,
    authToken,
    from,
    apiUrl: `http://127.0.0.1:${String(apiPort)}`,
    publicUrl,
    calls,
    texts,
    callBack,
    /** The configuration keys of a portal that calls and texts through this Twilio. */
    env(channels: { voice?: boolean; sms?: boolean } = { voice: true, sms: true }) {
      return {
        ...(channels.voice ? { VOICE_PROVIDER: 'twilio' } : {}),
        ...(channels.sms ? { SMS_PROVIDER: 'twilio' } : {}),
        TWILIO_ACCOUNT_SID: accountSid,
        TWILIO_AUTH_TOKEN: authToken,
        TWILIO_FROM: from,
        TWILIO_API_URL: `http://127.0.0.1:${String(apiPort)}`,
        TELEPHONY_CALLBACK_URL: publicUrl,
        TELEPHONY_TIMEOUT_SECONDS: '2',
      };
    },
    /** Where the portal really listens, behind its public address. */
    forwardTo(url: string) {
      portalUrl = url;
    },
    /** The API fails (a status) or never answers ('hang'), or works again (undefined). */
    setOutage(next: { status: number } | 'hang' | undefined) {
      outage = next;
    },
    /**
     * The call is answered and the keys pressed: Twilio posts the <Gather> action with the
     * digits before the `#` that finished it, then the call's end to its status callback.
     */
    async answer(call: FakeCall, keys: string) {
      const finished = keys.endsWith('#');
      const response = await callBack(call.gatherAction, {
        CallSid: call.sid,
        From: call.from,
        To: call.to,
        CallStatus: 'in-progress',
        Direction: 'outbound-api',
        Digits: finished ? keys.slice(0, -1) : keys,
        FinishedOnKey: finished ? '#' : '',
      });
      expectOk(response, 'the <Gather> action');
      call.goodbye = await response.text();
      expectOk(
        await callBack(call.statusCallback, {
          CallSid: call.sid,
          From: call.from,
          To: call.to,
          CallStatus: 'completed',
          CallDuration: '12',
        }),
        'the call status callback',
      );
    },
    /** The call ends unanswered: Twilio posts its final status. */
    async end(call: FakeCall, status: 'no-answer' | 'busy' | 'failed' | 'completed') {
      expectOk(
        await callBack(call.statusCallback, {
          CallSid: call.sid,
          From: call.from,
          To: call.to,
          CallStatus: status,
          CallDuration: '0',
        }),
        'the call status callback',
      );
    },
    /** The text's delivery status, as Twilio reports it to its StatusCallback. */
    async report(text: FakeText, status: 'sent' | 'delivered' | 'undelivered' | 'failed') {
      if (!text.statusCallback) throw new Error('The text has no status callback');
      expectOk(
        await callBack(text.statusCallback, {
          MessageSid: text.sid,
          SmsSid: text.sid,
          MessageStatus: status,
          SmsStatus: status,
          From: text.from,
          To: text.to,
          ...(status === 'undelivered' ? { ErrorCode: '30003' } : {}),
        }),
        'the text status callback',
      );
    },
    /** A text from a phone to the portal's number: its "A message comes in" webhook. */
    async reply(fromPhone: string, body: string) {
      const messageSid = sid('SM');
      expectOk(
        await callBack(`${publicUrl}/telephony/twilio/texts/inbound`, {
          MessageSid: messageSid,
          SmsSid: messageSid,
          SmsStatus: 'received',
          From: fromPhone,
          To: from,
          Body: body,
          NumMedia: '0',
          NumSegments: '1',
        }),
        'the inbound message webhook',
      );
      return messageSid;
    },
    async close() {
      for (const server of [api, front]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        });
      }
    },
  };
}

export type FakeTwilio = Awaited<ReturnType<typeof startFakeTwilio>>;
