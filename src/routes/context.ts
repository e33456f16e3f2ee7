import type { Response } from 'express';
import type { Context } from '../core/context.ts';

/**
 * The context of a call into the core from a portal request: the user whose session it is (a
 * visitor before the password), the client address and the page's language.
 */
export function contextOf(res: Response): Context {
  const { userId, pendingUserId } = res.req.session;
  return {
    actor: { kind: 'user', userId: userId ?? pendingUserId ?? null },
    clientIp: res.req.ip,
    language: res.locals.lng,
  };
}
