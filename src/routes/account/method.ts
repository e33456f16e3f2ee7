import { Router, type Response } from 'express';
import type { Method } from '../../core/settings.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { accountUser, requireChangeAllowed } from './permissions.ts';
import { defaultMethodChoices } from '../../core/method-policy.ts';
import { contextOf } from '../context.ts';

/**
 * SPEC J3: the method the second step starts with. A preference, not a factor: every choice is a
 * method the user has already proven, so no new proof is asked for.
 */
export function methodRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/method', requireChangeAllowed(services, 'method'));

  async function choicesFor(res: Response): Promise<Method[]> {
    const settings = res.locals.portalSettings ?? (await services.settings.read());
    const enrolment =
      res.locals.enrolment ?? (await services.secondFactor.enrolmentOf(accountUser(res)));
    return defaultMethodChoices(enrolment, settings, services.phoneVerification !== undefined);
  }

  function renderMethod(res: Response, status: number, choices: Method[], errors: FieldError[]) {
    const current = accountUser(res).default_method;
    res.status(status).render('pages/account/method', {
      choices,
      chosen: choices.find((m) => m === current) ?? '',
      errors,
    });
  }

  router.get('/account/method', async (_req, res) => {
    renderMethod(res, 200, await choicesFor(res), []);
  });

  router.post('/account/method', async (req, res) => {
    const form = readForm(req.body, ['method'] as const);
    const user = accountUser(res);
    const choices = await choicesFor(res);
    const method = choices.find((m) => m === form.method);
    if (!method) {
      renderMethod(res, 400, choices, [
        { field: 'method-0', message: 'preferences.method.errors.choose' },
      ]);
      return;
    }
    await services.users.updateAccount(user.id, { default_method: method });
    await services.changes.record(user, { type: 'change.method', method }, contextOf(res));
    res.redirect(303, res.locals.url('/account?done=method'));
  });

  return router;
}
