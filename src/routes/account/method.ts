import { Router } from 'express';
import type { Services } from '../../services.ts';
import { requireChangeAllowed } from './permissions.ts';

/** Scaffold: the method change pages, refused when the settings do not allow them. */
export function methodRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/method', requireChangeAllowed(services, 'method'));
  return router;
}
