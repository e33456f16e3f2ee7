import type { RequestHandler, Response } from 'express';
import createError from 'http-errors';
import type { Enrolment } from '../../core/second-factor.ts';
import type { Method, PortalSettings } from '../../core/settings.ts';
import type { DeviceRow } from '../../data/devices-repository.ts';
import type { UserRow } from '../../data/users-repository.ts';
import type { Services } from '../../services.ts';

/** What a signed-in user may change on their account, from the settings (SPEC §5, J3). */
export interface AccountPermissions {
  /** Primary phone, extension and backup phone (phone calls). */
  phone: boolean;
  /** Mobile number (text messages). */
  mobile: boolean;
  /** Mobile app devices: activate, rename, deactivate. */
  app: boolean;
  /** Third-party OATH token: associate, remove. */
  token: boolean;
  pin: boolean;
  method: boolean;
  language: boolean;
  questions: boolean;
  bypass: boolean;
}

export type Change = keyof AccountPermissions;

/** A method the portal offers at all: allowed by the settings, and a provider to carry it. */
export function methodOffered(method: Method, settings: PortalSettings, telephony: boolean) {
  if (!settings.allowedMethods.includes(method)) return false;
  if (method === 'app') return settings.allowMobileApp;
  if (method === 'token') return settings.allowOathToken;
  return telephony;
}

/** The methods that would ask for the PIN, as the settings stand (SPEC M5). */
export function pinMethods(settings: PortalSettings): Method[] {
  return [
    ...(settings.phoneMode === 'pin' ? (['phone'] as const) : []),
    ...(settings.smsMode === 'otp-pin' ? (['sms'] as const) : []),
    ...(settings.appMode === 'pin' ? (['app'] as const) : []),
  ];
}

/** The methods the user may pick as their default: enrolled and still offered. */
export function defaultMethodChoices(
  enrolment: Enrolment,
  settings: PortalSettings,
  telephony: boolean,
): Method[] {
  return enrolment.methods.filter((m) => methodOffered(m, settings, telephony));
}

/**
 * The methods the user could still sign in with once `gone` (a method, or one device) is
 * removed: enrolled and still offered. A device's kind stays while another device of that kind
 * remains. None left means it is their last way to sign in, and its removal is refused.
 */
export function methodsLeft(
  enrolment: Enrolment,
  settings: PortalSettings,
  telephony: boolean,
  gone: Method | DeviceRow,
): Method[] {
  const stays = (m: Method) =>
    typeof gone === 'string'
      ? m !== gone
      : m !== gone.kind || enrolment.devices.some((d) => d.kind === gone.kind && d.id !== gone.id);
  return defaultMethodChoices(enrolment, settings, telephony).filter(stays);
}

/** The default method after the old one went: the portal's default when kept, else the first. */
export function nextDefaultMethod(left: readonly Method[], settings: PortalSettings) {
  return left.includes(settings.defaultMethod) ? settings.defaultMethod : left[0];
}

export function accountPermissions(
  settings: PortalSettings,
  enrolment: Enrolment,
  telephony: boolean,
): AccountPermissions {
  // A method the user has may be maintained; adding another one needs "allow users to select
  // method" too, as in User Setup.
  const may = (m: Method) =>
    methodOffered(m, settings, telephony) &&
    (enrolment.methods.includes(m) || settings.allowSelectMethod);
  return {
    phone: may('phone'),
    mobile: may('sms'),
    app: may('app'),
    token: may('token'),
    pin: pinMethods(settings).some((m) => enrolment.methods.includes(m)),
    method:
      settings.allowSelectMethod && defaultMethodChoices(enrolment, settings, telephony).length > 1,
    language: settings.allowSelectLanguage,
    questions: settings.useSecurityQuestions,
    bypass: settings.allowBypass,
  };
}

/** The signed-in user (the journey lets only signed-in users reach My account). */
export function accountUser(res: Response): UserRow {
  const user = res.locals.user;
  if (!user) throw createError(401);
  return user;
}

/**
 * Loads the user's enrolment and permissions into `res.locals`, and refuses (403, nothing
 * changed) a change the settings do not allow, whatever the request.
 */
export function requireChangeAllowed(services: Services, change: Change): RequestHandler {
  return async (_req, res, next) => {
    const user = accountUser(res);
    const settings = await services.settings.read();
    const enrolment = await services.secondFactor.enrolmentOf(user);
    const permissions = accountPermissions(
      settings,
      enrolment,
      services.phoneVerification !== undefined,
    );
    if (!permissions[change]) {
      next(createError(403, `Change not allowed: ${change}`, { page: 'changeNotAllowed' }));
      return;
    }
    res.locals.enrolment = enrolment;
    res.locals.portalSettings = settings;
    next();
  };
}

/**
 * ASVS 5 7.5.1 (SPEC J3): a change to a factor needs a second-factor proof within the last
 * `proofMinutes`. Without one, nothing changes: the user is sent to prove a factor and comes back
 * to the page they were on. A user with no factor yet has nothing to prove with.
 */
export function requireRecentProof(services: Services): RequestHandler {
  return async (req, res, next) => {
    const user = accountUser(res);
    const settings = await services.settings.read();
    const provenAt = req.session.provenAt ?? 0;
    if (Date.now() - provenAt <= settings.proofMinutes * 60_000) {
      next();
      return;
    }
    const enrolment = await services.secondFactor.enrolmentOf(user);
    if (enrolment.methods.length === 0) {
      next();
      return;
    }
    // Back to the page, never to a POST: a form is shown again rather than replayed.
    const path = (req.baseUrl + req.path).slice(res.locals.basePath.length);
    const back = req.method === 'GET' ? path : '/account';
    req.session.proofReturnTo = back.startsWith('/account/') ? back : '/account';
    res.redirect(303, res.locals.url('/account/confirm'));
  };
}
