import { Router } from 'express';
import type { Services } from '../../services.ts';
import { requireChangeAllowed } from './permissions.ts';

/** Scaffold: the token change pages, refused when the settings do not allow them. */
export function tokenRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/token', requireChangeAllowed(services, 'token'));
  return router;
}
