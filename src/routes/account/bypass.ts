import { Router } from 'express';
import type { Services } from '../../services.ts';
import { requireChangeAllowed } from './permissions.ts';

/** Scaffold: the bypass change pages, refused when the settings do not allow them. */
export function bypassRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/bypass', requireChangeAllowed(services, 'bypass'));
  return router;
}
