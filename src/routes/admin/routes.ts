import { Router, type ErrorRequestHandler } from 'express';
import createError from 'http-errors';
import { MfaError } from '../../core/mfa-service.ts';
import type { Services } from '../../services.ts';
import { adminContextOf } from '../context.ts';
import { adminUserRoutes } from './users.ts';

/** A permission the core refused for this administrator: the localised 403, nothing changed. */
const notAllowedPage: ErrorRequestHandler = (error: unknown, _req, _res, next) => {
  next(
    error instanceof MfaError && error.code === 'not-allowed'
      ? createError(403, error.message, { page: 'notAllowed' })
      : error,
  );
};

/** The admin console (SPEC §6): every page for a signed-in administrator only (the journey). */
export function adminRoutes(services: Services): Router {
  const router = Router();
  // Signed-in administrator, with or without any permission: the areas they may open.
  router.get('/admin', async (_req, res) => {
    const grants = await services.mfa.administration.permissions(adminContextOf(res));
    res.render('pages/admin/index', {
      canViewUsers: grants.some((grant) => grant.permission === 'view-users'),
    });
  });
  router.use(adminUserRoutes(services));
  router.use('/admin', notAllowedPage);
  return router;
}
