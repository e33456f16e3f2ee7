import { Router, type RequestHandler } from 'express';
import createError from 'http-errors';
import type { UsersRepository } from '../data/users-repository.ts';

/** Loads the signed-in user for views; a disabled or deleted account ends the session. */
export function setUpCurrentUser(users: UsersRepository): Router {
  const router = Router();
  router.use(async (req, res, next) => {
    const { userId } = req.session;
    if (userId === undefined) {
      next();
      return;
    }
    const user = await users.findById(userId);
    if (!user || user.disabled) {
      delete req.session.userId;
      delete req.session.signedInAt;
      delete req.session.lastSeenAt;
      next();
      return;
    }
    res.locals.signedIn = true;
    res.locals.isAdmin = user.role === 'admin';
    res.locals.user = user;
    next();
  });
  return router;
}

/** For the second step and User Setup: the user whose password was just proven. */
export function requirePendingUser(users: UsersRepository): RequestHandler {
  return async (req, res, next) => {
    const userId = req.session.pendingUserId;
    const user = userId === undefined ? undefined : await users.findById(userId);
    if (!user || user.disabled) {
      res.redirect(res.locals.url('/sign-in'));
      return;
    }
    res.locals.pendingUser = user;
    next();
  };
}

export const requireUser: RequestHandler = (_req, res, next) => {
  if (res.locals.signedIn) next();
  else res.redirect(res.locals.url('/sign-in'));
};

export const requireAdmin: RequestHandler = (_req, res, next) => {
  if (!res.locals.signedIn) res.redirect(res.locals.url('/sign-in'));
  else if (!res.locals.isAdmin)
    next(createError(403, 'Administrators only', { page: 'notAllowed' }));
  else next();
};
