import { Router } from 'express';
import type { Services } from '../../services.ts';
import { requireChangeAllowed } from './permissions.ts';

/** Scaffold: the pin change pages, refused when the settings do not allow them. */
export function pinRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/pin', requireChangeAllowed(services, 'pin'));
  return router;
}
