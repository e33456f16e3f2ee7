import { Router } from 'express';
import type { Services } from '../../services.ts';
import { requireChangeAllowed } from './permissions.ts';

/** Scaffold: the questions change pages, refused when the settings do not allow them. */
export function questionRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/questions', requireChangeAllowed(services, 'questions'));
  return router;
}
