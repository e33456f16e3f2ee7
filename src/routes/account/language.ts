import { Router } from 'express';
import type { Services } from '../../services.ts';
import { requireChangeAllowed } from './permissions.ts';

/** Scaffold: the language change pages, refused when the settings do not allow them. */
export function languageRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/language', requireChangeAllowed(services, 'language'));
  return router;
}
