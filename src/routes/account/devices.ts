import { dateFormat } from '../../i18n.ts';
import { Router, type Response } from 'express';
import createError from 'http-errors';
import {
  appActivation,
  appDeviceParameters,
  newDeviceRow,
  proveNewDevice,
} from '../../core/devices.ts';
import { generateOtpSecret } from '../../core/otp.ts';
import type { Enrolment } from '../../core/second-factor.ts';
import type { Method, PortalSettings } from '../../core/settings.ts';
import type { DeviceRow } from '../../data/devices-repository.ts';
import type { UserRow } from '../../data/users-repository.ts';
import type { Services } from '../../services.ts';
import { activationFor } from '../app-activation.ts';
import { readForm, type FieldError } from '../form.ts';
import { pinRequired } from '../../core/method-policy.ts';
import { codeError, newPinErrors, readCode } from '../setup/validation.ts';
import { accountUser, requireChangeAllowed, requireRecentProof } from './permissions.ts';
import { methodsLeft, nextDefaultMethod } from '../../core/method-policy.ts';
import { contextOf } from '../context.ts';

const nameMaxLength = 40;

/** What requireChangeAllowed loaded for this request. */
export function changeContext(res: Response): {
  user: UserRow;
  enrolment: Enrolment;
  settings: PortalSettings;
} {
  const { enrolment, portalSettings } = res.locals;
  if (!enrolment || !portalSettings) throw createError(500, 'Change context missing');
  return { user: accountUser(res), enrolment, settings: portalSettings };
}

/** The methods the user keeps if this device goes (see methodsLeft). */
export function methodsWithout(res: Response, services: Services, device: DeviceRow): Method[] {
  const { enrolment, settings } = changeContext(res);
  return methodsLeft(enrolment, settings, services.phoneVerification !== undefined, device);
}

/**
 * Deactivates an app device or removes a token (SPEC J3): audited and announced. When the user's
 * default method went with it, another remaining one (preferably one still offered) takes over.
 */
export async function removeFactorDevice(
  services: Services,
  res: Response,
  device: DeviceRow,
  remaining: readonly Method[],
): Promise<void> {
  const { user, settings } = changeContext(res);
  if (!(await services.devices.remove(user.id, device.id))) throw createError(404);
  if (user.default_method === device.kind && !remaining.includes(device.kind)) {
    const next = nextDefaultMethod(remaining, settings);
    await services.users.updateAccount(user.id, { default_method: next ?? null });
  }
  await services.changes.record(
    user,
    {
      type: device.kind === 'app' ? 'device.removed' : 'token.removed',
      method: device.kind,
      device: device.kind === 'app' ? device.name : (device.serial ?? device.name),
      notice: 'factorRemoved',
      what: device.kind,
    },
    contextOf(res),
  );
}

/** A device name as typed (already trimmed): 1–40 printable characters, not one already used. */
function deviceNameErrors(name: string, takenNames: readonly string[]): FieldError[] {
  const error = (message: string): FieldError[] => [
    { field: 'name', message: `devicesPage.errors.${message}`, values: { max: nameMaxLength } },
  ];
  if (name === '') return error('nameMissing');
  // Characters as people count them; a bound on code units keeps stacked accents in check.
  const characters = [...new Intl.Segmenter().segment(name)].length;
  if (characters > nameMaxLength || name.length > nameMaxLength * 4) return error('nameTooLong');
  if (/\p{C}/u.test(name)) return error('nameFormat');
  const folded = name.toLocaleLowerCase();
  if (takenNames.some((taken) => taken.toLocaleLowerCase() === folded)) return error('nameTaken');
  return [];
}

/** SPEC J3, M3: activate, rename and deactivate mobile app devices, up to the device limit. */
export function deviceRoutes(services: Services): Router {
  const { secondFactor, devices } = services;
  const router = Router();
  router.use(
    '/account/devices',
    requireChangeAllowed(services, 'app'),
    requireRecentProof(services),
  );

  const appsOf = (enrolment: Enrolment) => enrolment.devices.filter((d) => d.kind === 'app');

  /** Only the user's own app device: any other id is not found. */
  function ownDevice(res: Response, id: unknown): DeviceRow {
    const device = appsOf(changeContext(res).enrolment).find((d) => d.id === id);
    if (!device) throw createError(404);
    return device;
  }

  /** A name no device of the user has yet: "Mobile app 2", "Mobile app 3"… */
  function suggestedName(res: Response, apps: readonly DeviceRow[]): string {
    const taken = new Set(apps.map((d) => d.name.toLocaleLowerCase()));
    for (let number = apps.length + 1; ; number++) {
      const name = res.locals.t('devicesPage.defaultName', { number });
      if (!taken.has(name.toLocaleLowerCase())) return name;
    }
  }

  async function renderList(
    res: Response,
    status: number,
    options: { errors?: FieldError[]; name?: string; refusal?: string } = {},
  ) {
    const { user, settings } = changeContext(res);
    const apps = (await devices.forUser(user.id)).filter((d) => d.kind === 'app');
    res.status(status).render('pages/account/devices', {
      apps,
      limit: settings.deviceLimit,
      canAdd: apps.length < settings.deviceLimit,
      name: options.name ?? suggestedName(res, apps),
      nameMaxLength,
      errors: options.errors ?? [],
      refusal: options.refusal ?? '',
      formatDate: dateFormat(res.locals.lng, 'date'),
    });
  }

  router.get('/account/devices', async (_req, res) => {
    await renderList(res, 200);
  });

  router.post('/account/devices/new', async (req, res) => {
    const form = readForm(req.body, ['name'] as const);
    const { user, enrolment, settings } = changeContext(res);
    const apps = appsOf(enrolment);
    if (apps.length >= settings.deviceLimit) {
      await renderList(res, 400, { refusal: 'devicesPage.limitReached' });
      return;
    }
    const name = form.name.trim();
    const errors = deviceNameErrors(
      name,
      apps.map((d) => d.name),
    );
    if (errors.length > 0) {
      await renderList(res, 400, { errors, name: form.name });
      return;
    }
    req.session.deviceDraft = {
      sealedSecret: secondFactor.sealDraftSecret(user, generateOtpSecret()),
      name,
    };
    res.redirect(303, res.locals.url('/account/devices/new'));
  });

  /** The PIN is asked for only when the app's mode needs one and the user has none yet. */
  const pinNeeded = (user: UserRow, settings: PortalSettings) =>
    pinRequired('app', settings) && user.pin_hash === null;

  async function renderActivation(
    res: Response,
    status: number,
    draft: { sealedSecret: string; name: string },
    errors: FieldError[],
  ) {
    const { user, settings } = changeContext(res);
    const secret = secondFactor.openDraftSecret(user, draft.sealedSecret);
    res.status(status).render('pages/account/device-new', {
      activation: await activationFor(
        appActivation(secret, user.username, res.locals.t('common.productName')),
      ),
      name: draft.name,
      pinRequired: pinNeeded(user, settings),
      pinMinLength: settings.pinMinLength,
      errors,
    });
  }

  router.get('/account/devices/new', async (req, res) => {
    const draft = req.session.deviceDraft;
    if (!draft) {
      res.redirect(res.locals.url('/account/devices'));
      return;
    }
    await renderActivation(res, 200, draft, []);
  });

  router.post('/account/devices/activate', async (req, res) => {
    const form = readForm(req.body, ['code', 'pin', 'pinConfirmation'] as const);
    const { user, settings } = changeContext(res);
    const draft = req.session.deviceDraft;
    if (!draft) {
      res.redirect(303, res.locals.url('/account/devices'));
      return;
    }
    const withPin = pinNeeded(user, settings);
    const phones = [user.phone, user.backup_phone, user.mobile_phone].filter((p) => p !== null);
    const errors = withPin
      ? newPinErrors(form.pin, form.pinConfirmation, settings.pinMinLength, phones)
      : [];
    errors.push(...codeError('code', form.code, [6]));
    const code = readCode(form.code, [6]);
    const secret = secondFactor.openDraftSecret(user, draft.sealedSecret);
    const proof =
      errors.length === 0 && code
        ? proveNewDevice(secret, appDeviceParameters, code, Date.now())
        : undefined;
    if (errors.length === 0 && !proof)
      errors.push({ field: 'code', message: 'codes.errors.wrong' });
    if (!proof || errors.length > 0) {
      await renderActivation(res, 400, draft, errors);
      return;
    }
    const pinHash = withPin ? await secondFactor.hashPin(form.pin) : undefined;
    const now = Date.now();
    const row = newDeviceRow({
      userId: user.id,
      kind: 'app',
      name: draft.name,
      serial: null,
      secret,
      params: appDeviceParameters,
      counter: proof.counter,
      lastStep: proof.lastStep,
      key: services.encryptionKey,
      now,
    });
    delete req.session.deviceDraft;
    // Checked again: another tab or instance may have activated a device meanwhile.
    if (!(await devices.addWithinLimit(row, settings.deviceLimit))) {
      await renderList(res, 400, { refusal: 'devicesPage.limitReached' });
      return;
    }
    if (pinHash) await services.users.setPin(user.id, pinHash, now);
    await services.changes.record(
      user,
      {
        type: 'device.added',
        method: 'app',
        device: draft.name,
        notice: 'factorAdded',
        what: 'app',
      },
      contextOf(res),
    );
    res.redirect(303, res.locals.url('/account?done=deviceAdded'));
  });

  function renderRename(
    res: Response,
    status: number,
    device: DeviceRow,
    name: string,
    errors: FieldError[],
  ) {
    res
      .status(status)
      .render('pages/account/device-rename', { device, name, nameMaxLength, errors });
  }

  router.get('/account/devices/:id/rename', (req, res) => {
    const device = ownDevice(res, req.params.id);
    renderRename(res, 200, device, device.name, []);
  });

  router.post('/account/devices/:id/rename', async (req, res) => {
    const form = readForm(req.body, ['name'] as const);
    const device = ownDevice(res, req.params.id);
    const { user, enrolment } = changeContext(res);
    const name = form.name.trim();
    const others = appsOf(enrolment).filter((d) => d.id !== device.id);
    const errors = deviceNameErrors(
      name,
      others.map((d) => d.name),
    );
    if (errors.length > 0) {
      renderRename(res, 400, device, form.name, errors);
      return;
    }
    if (!(await devices.rename(user.id, device.id, name))) throw createError(404);
    await services.changes.record(
      user,
      { type: 'device.renamed', method: 'app', device: name },
      contextOf(res),
    );
    res.redirect(303, res.locals.url('/account?done=deviceRenamed'));
  });

  function renderRemove(res: Response, status: number, device: DeviceRow) {
    const remaining = methodsWithout(res, services, device);
    res.status(status).render('pages/account/device-remove', {
      device,
      lastMethod: remaining.length === 0,
      refused: status === 400,
    });
  }

  router.get('/account/devices/:id/remove', (req, res) => {
    renderRemove(res, 200, ownDevice(res, req.params.id));
  });

  router.post('/account/devices/:id/remove', async (req, res) => {
    readForm(req.body, []);
    const device = ownDevice(res, req.params.id);
    const remaining = methodsWithout(res, services, device);
    if (remaining.length === 0) {
      renderRemove(res, 400, device);
      return;
    }
    await removeFactorDevice(services, res, device, remaining);
    res.redirect(303, res.locals.url('/account?done=deviceRemoved'));
  });

  return router;
}
