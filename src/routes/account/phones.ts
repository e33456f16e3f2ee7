import { Router } from 'express';
import type { Services } from '../../services.ts';
import { requireChangeAllowed } from './permissions.ts';

/** Scaffold: the phones change pages, refused when the settings do not allow them. */
export function phoneChangeRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/phone', requireChangeAllowed(services, 'phone'));
  return router;
}
