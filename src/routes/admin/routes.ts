import { Router } from 'express';

/** The admin console's home (SPEC §6); its areas arrive with later work. */
export function adminRoutes(): Router {
  const router = Router();
  router.get('/admin', (_req, res) => {
    res.render('pages/admin/index');
  });
  return router;
}
