import { Router, type Response } from 'express';
import type { Services } from '../../services.ts';
import { adminContextOf } from '../context.ts';
import { readForm } from '../form.ts';
import { detailsFor } from './user-pages.ts';

/**
 * SPEC A2 "delete", after a confirmation page. The journey lets only a signed-in administrator
 * into /admin; the core checks "delete users" for the user's group.
 */
export function adminDeleteRoutes(services: Services): Router {
  const { administration } = services.mfa;
  const router = Router();

  async function render(res: Response, status: number, lastManager: boolean) {
    const { account } = await detailsFor(administration, res, 'delete-users');
    res.status(status).render('pages/admin/users/delete', { account, lastManager });
  }

  // Signed-in administrator with "delete users" for the user's group: the confirmation.
  router.get('/admin/users/:id/delete', async (_req, res) => {
    await render(res, 200, false);
  });

  // Signed-in administrator with "delete users" for the user's group.
  router.post('/admin/users/:id/delete', async (req, res) => {
    readForm(req.body, []);
    const deleted = await administration.deleteUser(adminContextOf(res), {
      userId: req.params.id,
    });
    if (deleted.outcome === 'last-manager') {
      await render(res, 409, true);
      return;
    }
    res.redirect(303, res.locals.url('/admin/users?done=deleted'));
  });

  return router;
}
