import { Router, type Response } from 'express';
import createError from 'http-errors';
import { adminPermissions, isAdminPermission, readGroup } from '../../core/administrators.ts';
import type { Services } from '../../services.ts';
import { adminContextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';
import { detailsFor, userPath } from './user-pages.ts';

/**
 * SPEC A1 "manage administrators": the list, a permission given (for one group or every group)
 * and taken back. The journey lets only a signed-in administrator into /admin; the core checks
 * "manage administrators", that no one gives or takes what they do not hold, and keeps the last
 * manager of administrators.
 */
export function adminAdministratorRoutes(services: Services): Router {
  const { administration } = services.mfa;
  const router = Router();

  async function renderList(res: Response, status: number, problem: string) {
    const administrators = await administration.listAdministrators(adminContextOf(res));
    const notice = res.req.query.done === 'revoked' ? 'adminAdministrators.revoked' : '';
    res.status(status).render('pages/admin/administrators/index', {
      administrators,
      notice,
      problem,
    });
  }

  // Signed-in administrator with "manage administrators" (the administrators of its groups).
  router.get('/admin/administrators', async (_req, res) => {
    await renderList(res, 200, '');
  });

  // Signed-in administrator with "manage administrators" for the user's group and every right
  // taken back.
  router.post('/admin/administrators/:id/revoke', async (req, res) => {
    const form = readForm(req.body, ['permission', 'group'] as const);
    const revoked = await administration.revoke(adminContextOf(res), {
      userId: req.params.id,
      permission: form.permission,
      group: form.group === '' ? null : form.group,
    });
    if (revoked.outcome === 'invalid') throw createError(400, revoked.message);
    if (revoked.outcome === 'last-manager') {
      await renderList(res, 409, 'adminUsers.show.lastManager');
      return;
    }
    res.redirect(303, res.locals.url('/admin/administrators?done=revoked'));
  });

  async function renderGrant(res: Response, status: number, errors: FieldError[], typed = {}) {
    const { account } = await detailsFor(administration, res, 'manage-administrators');
    res.status(status).render('pages/admin/administrators/grant', {
      account,
      permissions: adminPermissions,
      typed: { permission: '', group: '', ...typed },
      errors,
    });
  }

  // Signed-in administrator with "manage administrators" for the user's group.
  router.get('/admin/users/:id/grant', async (_req, res) => {
    await renderGrant(res, 200, []);
  });

  // Signed-in administrator with "manage administrators" for the user's group, holding the
  // permission given.
  router.post('/admin/users/:id/grant', async (req, res) => {
    const form = readForm(req.body, ['permission', 'group'] as const);
    const errors: FieldError[] = [];
    if (!isAdminPermission(form.permission)) {
      errors.push({ field: 'permission', message: 'adminAdministrators.errors.permission' });
    }
    const group = readGroup(form.group);
    if (!group) errors.push({ field: 'group', message: 'adminUsers.form.errors.group' });
    if (errors.length > 0 || !group) {
      await renderGrant(res, 400, errors, form);
      return;
    }
    const granted = await administration.grant(adminContextOf(res), {
      userId: req.params.id,
      permission: form.permission,
      group: group.group,
    });
    if (granted.outcome === 'invalid') throw createError(400, granted.message);
    res.redirect(303, userPath(res, req.params.id, 'granted'));
  });

  return router;
}
