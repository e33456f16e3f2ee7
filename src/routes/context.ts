import type { Response } from 'express';
import createError from 'http-errors';
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

/**
 * The context of an admin console request: the signed-in administrator acts (the journey lets no
 * one else into /admin), and the core checks each permission for the target's group (SPEC A1).
 */
export function adminContextOf(res: Response): Context {
  const adminId = res.req.session.userId;
  if (!adminId) throw createError(401);
  return { actor: { kind: 'admin', adminId }, clientIp: res.req.ip, language: res.locals.lng };
}
