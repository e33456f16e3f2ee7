import { Router } from 'express';
import { requireUser } from '../../middleware/auth.ts';

/** "My account": filled in by the enrolment and self-service work (SPEC J3). */
export function accountRoutes(): Router {
  const router = Router();
  router.get('/account', requireUser, (_req, res) => {
    res.render('pages/account/index');
  });
  return router;
}
