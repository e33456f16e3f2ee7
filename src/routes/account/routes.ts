import { Router } from 'express';
import { maskPhone } from '../../core/phone-numbers.ts';
import { requireUser } from '../../middleware/auth.ts';
import type { Services } from '../../services.ts';

/** "My account": the user's methods; self-service changes arrive with SPEC J3. */
export function accountRoutes(services: Services): Router {
  const router = Router();
  router.get('/account', requireUser, async (req, res) => {
    const user = res.locals.user;
    const enrolment = user ? await services.secondFactor.enrolmentOf(user) : undefined;
    res.render('pages/account/index', {
      methods: enrolment?.methods ?? [],
      devices: enrolment?.devices ?? [],
      phone: user?.phone ? maskPhone(user.phone) : '',
      mobile: user?.mobile_phone ? maskPhone(user.mobile_phone) : '',
      notice: 'enrolled' in req.query ? 'account.enrolled' : '',
      activity: user ? await services.audit.recentForUser(user.id) : [],
      formatTime: new Intl.DateTimeFormat(res.locals.lng, {
        dateStyle: 'medium',
        timeStyle: 'short',
      }),
    });
  });
  return router;
}
