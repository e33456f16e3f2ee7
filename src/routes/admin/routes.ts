import { Router } from 'express';
import { requireAdmin } from '../../middleware/auth.ts';

/** The admin console's home (SPEC §6); its areas arrive with later work. */
export function adminRoutes(): Router {
  const router = Router();
  router.get('/admin', requireAdmin, (_req, res) => {
    res.render('pages/admin/index');
  });
  return router;
}
