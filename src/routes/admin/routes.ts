import { Router, type ErrorRequestHandler } from 'express';
import createError from 'http-errors';
import { dateFormat } from '../../core/dates.ts';
import { MfaError } from '../../core/mfa-service.ts';
import type { Services } from '../../services.ts';
import { adminContextOf } from '../context.ts';
import { adminAdministratorRoutes } from './administrators.ts';
import { adminDeleteRoutes } from './delete.ts';
import { adminDeviceRoutes } from './devices.ts';
import { adminImportRoutes } from './imports.ts';
import { adminEmailRoutes } from './email.ts';
import { adminQuestionRoutes } from './questions.ts';
import { adminSettingsRoutes } from './settings.ts';
import { adminReportRoutes } from './reports.ts';
import { adminUserFormRoutes } from './user-form.ts';
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
  // The phone providers' state only with "view reports" for some group, the settings only with
  // "manage settings" for every group.
  router.get('/admin', async (_req, res) => {
    const context = adminContextOf(res);
    const { administration } = services.mfa;
    const grants = await administration.permissions(context);
    const holds = (permission: string) => grants.some((grant) => grant.permission === permission);
    res.render('pages/admin/index', {
      canViewUsers: holds('view-users'),
      providers: holds('view-reports') ? await administration.providerStates(context) : [],
      formatTime: dateFormat(res.locals.lng, 'dateTime', services.config.TIME_ZONE),
      canManageAdministrators: holds('manage-administrators'),
      canImport: holds('import-users'),
      // Settings reach every user: only a permission for every group manages them.
      canManageSettings: grants.some((g) => g.permission === 'manage-settings' && !g.group),
      canViewReports: holds('view-reports'),
    });
  });
  // Before the user's page, which would take `new` for a user's id.
  router.use(adminUserFormRoutes(services));
  router.use(adminUserRoutes(services));
  router.use(adminDeviceRoutes(services));
  router.use(adminDeleteRoutes(services));
  router.use(adminAdministratorRoutes(services));
  router.use(adminImportRoutes(services));
  router.use(adminQuestionRoutes(services));
  router.use(adminEmailRoutes(services));
  router.use(adminSettingsRoutes(services));
  router.use(adminReportRoutes(services));
  router.use('/admin', notAllowedPage);
  return router;
}
