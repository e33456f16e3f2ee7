import { dateFormat } from '../../core/dates.ts';
import { Router } from 'express';
import { maskPhone } from '../../core/phone-numbers.ts';
import type { Services } from '../../services.ts';
import { eventName } from '../activity.ts';
import { confirmRoutes } from '../verify/routes.ts';
import { bypassRoutes } from './bypass.ts';
import { deviceRoutes } from './devices.ts';
import { languageRoutes } from './language.ts';
import { methodRoutes } from './method.ts';
import { signedInAccount } from './permissions.ts';
import { contextOf } from '../context.ts';
import { phoneChangeRoutes } from './phones.ts';
import { pinRoutes } from './pin.ts';
import { questionRoutes } from './questions.ts';
import { tokenRoutes } from './token.ts';

/** The confirmations a change page may ask My account to show: `/account?done=phone`. */
export const doneNotices = new Set([
  'phone',
  'mobile',
  'deviceAdded',
  'deviceRenamed',
  'deviceRemoved',
  'tokenAdded',
  'tokenRemoved',
  'tokenResynced',
  'pin',
  'method',
  'language',
  'questions',
  'bypassIssued',
  'bypassCancelled',
]);

/** "My account" (SPEC J3): a summary with a link to each change the settings allow. */
export function accountRoutes(services: Services): Router {
  const router = Router();

  router.get('/account', async (req, res) => {
    const user = signedInAccount(res);
    const { bypass, activity } = await services.mfa.account.overview(contextOf(res), {
      userId: user.id,
    });
    const notice = typeof req.query.done === 'string' ? req.query.done : '';
    res.render('pages/account/index', {
      apps: user.devices.filter((d) => d.kind === 'app'),
      tokens: user.devices.filter((d) => d.kind === 'token'),
      resyncable: user.devices.some((d) => d.kind === 'token' && d.otpType === 'hotp'),
      phone: user.phone ? maskPhone(user.phone) : '',
      backupPhone: user.backupPhone ? maskPhone(user.backupPhone) : '',
      mobile: user.mobilePhone ? maskPhone(user.mobilePhone) : '',
      bypass,
      notice:
        'enrolled' in req.query
          ? 'account.enrolled'
          : doneNotices.has(notice)
            ? `account.done.${notice}`
            : '',
      activity,
      eventName,
      formatTime: dateFormat(res.locals.lng, 'dateTime', services.config.TIME_ZONE),
    });
  });
  router.use(confirmRoutes(services));
  router.use(phoneChangeRoutes(services));
  router.use(deviceRoutes(services));
  router.use(tokenRoutes(services));
  router.use(pinRoutes(services));
  router.use(methodRoutes(services));
  router.use(languageRoutes(services));
  router.use(questionRoutes(services));
  router.use(bypassRoutes(services));
  return router;
}
