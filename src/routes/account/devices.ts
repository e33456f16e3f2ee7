import { dateFormat } from '../../core/dates.ts';
import { Router, type Request, type Response } from 'express';
import createError from 'http-errors';
import { methodsLeft, noChannels } from '../../core/method-policy.ts';
import type { DeviceView } from '../../core/mfa-service.ts';
import { deviceNameMaxLength, type DeviceActivation } from '../../core/service/account.ts';
import type { Services } from '../../services.ts';
import { activationFor } from '../app-activation.ts';
import { readForm, type FieldError } from '../form.ts';
import { signedInAccount, requireChangeAllowed, requireRecentProof } from './permissions.ts';
import { contextOf } from '../context.ts';

/** Whether removing this device would leave the user no way to sign in (see methodsLeft). */
export function isLastWayToSignIn(res: Response, device: DeviceView): boolean {
  const { portalSettings, telephony } = res.locals;
  if (!portalSettings) throw createError(500, 'Settings missing');
  const left = methodsLeft(signedInAccount(res), portalSettings, telephony ?? noChannels, device);
  return left.length === 0;
}

/** SPEC J3, M3: activate, rename and deactivate mobile app devices, up to the device limit. */
export function deviceRoutes(services: Services): Router {
  const { mfa } = services;
  const router = Router();
  router.use(
    '/account/devices',
    requireChangeAllowed(services, 'app'),
    requireRecentProof(services),
  );

  const appsOf = (res: Response) => signedInAccount(res).devices.filter((d) => d.kind === 'app');
  const userId = (res: Response) => signedInAccount(res).id;

  /** Only the user's own app device: any other id is not found. */
  function ownDevice(res: Response, id: unknown): DeviceView {
    const device = appsOf(res).find((d) => d.id === id);
    if (!device) throw createError(404);
    return device;
  }

  /** A name no device of the user has yet: "Mobile app 2", "Mobile app 3"… */
  function suggestedName(res: Response, apps: readonly DeviceView[]): string {
    const taken = new Set(apps.map((d) => d.name.toLocaleLowerCase()));
    for (let number = apps.length + 1; ; number++) {
      const name = res.locals.t('devicesPage.defaultName', { number });
      if (!taken.has(name.toLocaleLowerCase())) return name;
    }
  }

  function renderList(
    res: Response,
    status: number,
    options: { errors?: FieldError[]; name?: string; refusal?: string } = {},
  ) {
    const apps = appsOf(res);
    const limit = res.locals.portalSettings?.deviceLimit ?? 0;
    res.status(status).render('pages/account/devices', {
      apps,
      limit,
      canAdd: apps.length < limit,
      name: options.name ?? suggestedName(res, apps),
      nameMaxLength: deviceNameMaxLength,
      errors: options.errors ?? [],
      refusal: options.refusal ?? '',
      formatDate: dateFormat(res.locals.lng, 'date', services.config.TIME_ZONE),
    });
  }

  router.get('/account/devices', (_req, res) => {
    renderList(res, 200);
  });

  router.post('/account/devices/new', async (req, res) => {
    const form = readForm(req.body, ['name'] as const);
    const started = await mfa.account.beginDevice(contextOf(res), {
      userId: userId(res),
      name: form.name,
    });
    if (started.outcome === 'limit-reached') {
      renderList(res, 400, { refusal: 'devicesPage.limitReached' });
      return;
    }
    if (started.outcome === 'invalid') {
      renderList(res, 400, { errors: started.errors, name: form.name });
      return;
    }
    req.session.deviceDraftId = started.draftId;
    res.redirect(303, res.locals.url('/account/devices/new'));
  });

  /** The activation in progress, if the session has one the core still keeps. */
  async function activationOf(req: Request, res: Response): Promise<DeviceActivation | null> {
    const draftId = req.session.deviceDraftId;
    if (draftId === undefined) return null;
    return mfa.account.deviceActivation(contextOf(res), {
      userId: userId(res),
      draftId,
      issuer: res.locals.t('common.productName'),
    });
  }

  async function renderActivation(
    res: Response,
    status: number,
    activation: DeviceActivation,
    errors: FieldError[],
  ) {
    res.status(status).render('pages/account/device-new', {
      activation: await activationFor(activation),
      name: activation.name,
      pinRequired: activation.pinRequired,
      pinMinLength: res.locals.portalSettings?.pinMinLength,
      errors,
    });
  }

  router.get('/account/devices/new', async (req, res) => {
    const activation = await activationOf(req, res);
    if (!activation) {
      delete req.session.deviceDraftId;
      res.redirect(res.locals.url('/account/devices'));
      return;
    }
    await renderActivation(res, 200, activation, []);
  });

  router.post('/account/devices/activate', async (req, res) => {
    const form = readForm(req.body, ['code', 'pin', 'pinConfirmation'] as const);
    const draftId = req.session.deviceDraftId;
    if (draftId === undefined) {
      res.redirect(303, res.locals.url('/account/devices'));
      return;
    }
    const activated = await mfa.account.activateDevice(contextOf(res), {
      userId: userId(res),
      draftId,
      ...form,
    });
    if (activated.outcome === 'invalid') {
      const activation = await activationOf(req, res);
      if (activation) {
        await renderActivation(res, 400, activation, activated.errors);
        return;
      }
    }
    delete req.session.deviceDraftId;
    if (activated.outcome === 'limit-reached') {
      renderList(res, 400, { refusal: 'devicesPage.limitReached' });
      return;
    }
    if (activated.outcome !== 'activated') {
      res.redirect(303, res.locals.url('/account/devices'));
      return;
    }
    res.redirect(303, res.locals.url('/account?done=deviceAdded'));
  });

  function renderRename(
    res: Response,
    status: number,
    device: DeviceView,
    name: string,
    errors: FieldError[],
  ) {
    res.status(status).render('pages/account/device-rename', {
      device,
      name,
      nameMaxLength: deviceNameMaxLength,
      errors,
    });
  }

  router.get('/account/devices/:id/rename', (req, res) => {
    const device = ownDevice(res, req.params.id);
    renderRename(res, 200, device, device.name, []);
  });

  router.post('/account/devices/:id/rename', async (req, res) => {
    const form = readForm(req.body, ['name'] as const);
    const device = ownDevice(res, req.params.id);
    const renamed = await mfa.account.renameDevice(contextOf(res), {
      userId: userId(res),
      deviceId: device.id,
      name: form.name,
    });
    if (renamed.outcome === 'invalid') {
      renderRename(res, 400, device, form.name, renamed.errors);
      return;
    }
    res.redirect(303, res.locals.url('/account?done=deviceRenamed'));
  });

  function renderRemove(res: Response, status: number, device: DeviceView) {
    res.status(status).render('pages/account/device-remove', {
      device,
      lastMethod: status === 400 || isLastWayToSignIn(res, device),
      refused: status === 400,
    });
  }

  router.get('/account/devices/:id/remove', (req, res) => {
    renderRemove(res, 200, ownDevice(res, req.params.id));
  });

  router.post('/account/devices/:id/remove', async (req, res) => {
    readForm(req.body, []);
    const device = ownDevice(res, req.params.id);
    const removed = await mfa.account.removeDevice(contextOf(res), {
      userId: userId(res),
      deviceId: device.id,
    });
    if (removed.outcome === 'last-method') {
      renderRemove(res, 400, device);
      return;
    }
    res.redirect(303, res.locals.url('/account?done=deviceRemoved'));
  });

  return router;
}
