import { Router } from 'express';
import type { Services } from '../../services.ts';
import { requireChangeAllowed } from './permissions.ts';

/** Scaffold: the devices change pages, refused when the settings do not allow them. */
export function deviceRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/devices', requireChangeAllowed(services, 'app'));
  return router;
}
