import type { Response } from 'express';
import createError from 'http-errors';
import type { Paused } from '../../core/phone-limits.ts';

/** Why a call or text did not prove the number, as the user is told (SPEC M1, M2). */
const denialMessages: Record<string, string> = {
  'no answer': 'wait.denied.noAnswer',
  'unexpected keys': 'wait.denied.unexpectedKeys',
  'wrong pin': 'wait.denied.wrongPin',
  locked: 'wait.denied.locked',
  fraud: 'wait.denied.fraud',
  'wrong reply': 'wait.denied.wrongReply',
  expired: 'wait.denied.expired',
  'backup paused': 'callsPaused.backupNotCalled',
  'no input': 'wait.denied.noInput',
  undelivered: 'wait.denied.undelivered',
  'provider unavailable': 'wait.denied.unavailable',
};

export function denialMessage(reason: string | null | undefined): string {
  return denialMessages[reason ?? ''] ?? 'wait.denied.expired';
}

/** Calls and texts exist only with a provider: without one their pages are not found. */
export function requireTelephony(res: Response): void {
  const { telephony } = res.locals;
  if (!telephony?.phone && !telephony?.sms) throw createError(404);
}

/** A locked account: no call, text or code is tried until the lock ends (SPEC M8). */
export function renderLocked(res: Response, until: number): void {
  res.status(403).render('pages/verify/locked', {
    minutes: Math.max(1, Math.ceil((until - Date.now()) / 60_000)),
  });
}

/**
 * The provider did not take the call or text (SPEC N1): nothing was sent, the user is told to
 * use another method, and the audit already says why.
 */
export function renderUnreachable(
  res: Response,
  method: 'phone' | 'sms',
  back: { href: string; text: string },
): void {
  res.locals.currentPath = res.locals.url(back.href);
  res.set('Retry-After', '60');
  res.status(503).render('pages/phone/unreachable', {
    method,
    back: { href: res.locals.url(back.href), text: back.text },
  });
}

/**
 * A call or text kept back by a limit (SPEC S5): what is paused, for how long, and a way on (a
 * link with its text key). The page never says more than the user may know: a number's limit,
 * which others' sends may have filled, reads only that the number cannot be reached for now.
 */
export function renderPaused(
  res: Response,
  paused: Paused,
  back: { href: string; text: string },
): void {
  const waitMs = Math.max(0, paused.until - Date.now());
  // The page answers a form; the language switch leads on to the way out rather than to a GET
  // of the form's address, which may be no page at all.
  res.locals.currentPath = res.locals.url(back.href);
  res.set('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))));
  res.status(429).render('pages/phone/paused', {
    limit: paused.limit,
    minutes: Math.max(1, Math.ceil(waitMs / 60_000)),
    back: { href: res.locals.url(back.href), text: back.text },
  });
}
