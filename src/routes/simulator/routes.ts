import { Router, type RequestHandler } from 'express';
import createError from 'http-errors';
import { isTrustedIp, parseTrustedIps } from '../../core/trusted-ips.ts';
import type { Services } from '../../services.ts';
import { contextOf } from '../context.ts';
import { readForm } from '../form.ts';

const loopback = parseTrustedIps(['127.0.0.0/8', '::1']);

/**
 * The simulator answers only a browser on this machine: the socket's own address says where a
 * request came from, never req.ip, which a trusted proxy setting takes from X-Forwarded-For. A
 * request through a proxy, even one on this machine, names another client in X-Forwarded-For or
 * Forwarded, and is refused as well. Anyone else finds nothing there.
 */
const onlyFromThisMachine: RequestHandler = (req, _res, next) => {
  const viaProxy =
    req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined;
  if (viaProxy || !isTrustedIp(loopback, req.socket.remoteAddress)) next(createError(404));
  else next();
};

/**
 * The development simulator's page (SPEC N1): the phone that rings and receives texts. A person
 * or a test answers a call and presses keys, lets it ring out, or replies to a text; the core
 * hears about it exactly as it would from a real provider's webhook. Mounted only when
 * SIMULATOR_ENABLED is true, which configuration refuses in production, and only for this machine.
 */
export function simulatorRoutes({ simulator: maybeSimulator, mfa }: Services): Router {
  const router = Router();
  if (!maybeSimulator) return router;
  const simulator = maybeSimulator;
  router.use('/simulator', onlyFromThisMachine);

  router.get('/simulator', async (_req, res) => {
    res.render('pages/simulator/index', {
      messages: await simulator.recent(),
      fraudCode: (await mfa.signIn.settings(contextOf(res))).fraudCode,
    });
  });

  async function message(id: string, kind: 'call' | 'text') {
    const found = await simulator.find(id);
    if (found?.kind !== kind) throw createError(404);
    return found;
  }

  router.post('/simulator/calls/:id/answer', async (req, res) => {
    const { keys } = readForm(req.body, ['keys'] as const);
    const call = await message(req.params.id, 'call');
    if (!/^[0-9*#]{1,20}$/.test(keys)) throw createError(400, 'Keys must be 0-9, * or #');
    await simulator.mark(call.id, 'answered');
    if (call.verification_id) {
      await mfa.phone.keypadInput(contextOf(res), {
        verificationId: call.verification_id,
        digits: keys,
      });
    }
    res.redirect(303, res.locals.url('/simulator'));
  });

  router.post('/simulator/calls/:id/miss', async (req, res) => {
    readForm(req.body, []);
    const call = await message(req.params.id, 'call');
    await simulator.mark(call.id, 'missed');
    if (call.verification_id) {
      await mfa.phone.callUnanswered(contextOf(res), { verificationId: call.verification_id });
    }
    res.redirect(303, res.locals.url('/simulator'));
  });

  router.post('/simulator/texts/:id/reply', async (req, res) => {
    const { body } = readForm(req.body, ['body'] as const);
    const text = await message(req.params.id, 'text');
    if (body.length > 160) throw createError(400, 'A text has at most 160 characters');
    await simulator.mark(text.id, 'replied');
    await mfa.phone.textReply(contextOf(res), { from: text.to_number, body });
    res.redirect(303, res.locals.url('/simulator'));
  });

  return router;
}
