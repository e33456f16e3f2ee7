import type { Channels } from '../providers/telephony.ts';
import type { Method, PortalSettings } from './settings.ts';

export type { Channels };

/** No voice/SMS provider: neither calls nor texts. */
export const noChannels: Channels = { phone: false, sms: false };

/**
 * Which methods the portal offers, which ask for the PIN, and what a user may change on their
 * account (SPEC §5, J2, J3, M5): the rules of the settings, in one place for every journey.
 */

/** What a user has set up: the methods, and the devices behind the app and token methods. */
export interface EnrolledMethods {
  methods: readonly Method[];
  devices: readonly { id: string; kind: 'app' | 'token' }[];
}

/** The methods User Setup offers, in the order shown. */
const setupMethods = ['phone', 'sms', 'app', 'token'] as const satisfies readonly Method[];
export type SetupMethod = (typeof setupMethods)[number];

/** Calls and texts need a provider for their channel; without one the method is not offered. */
export function offeredMethods(settings: PortalSettings, telephony: Channels): SetupMethod[] {
  const allowed = setupMethods.filter((m) => methodOffered(m, settings, telephony));
  if (settings.allowSelectMethod) return allowed;
  return allowed.filter((m) => m === settings.defaultMethod);
}

export function pinRequired(method: SetupMethod, settings: PortalSettings): boolean {
  if (method === 'app') return settings.appMode === 'pin';
  if (method === 'phone') return settings.phoneMode === 'pin';
  if (method === 'sms') return settings.smsMode === 'otp-pin';
  return false;
}

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
export function methodOffered(method: Method, settings: PortalSettings, telephony: Channels) {
  if (!settings.allowedMethods.includes(method)) return false;
  if (method === 'app') return settings.allowMobileApp;
  if (method === 'token') return settings.allowOathToken;
  return telephony[method];
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
  enrolment: EnrolledMethods,
  settings: PortalSettings,
  telephony: Channels,
): Method[] {
  return enrolment.methods.filter((m) => methodOffered(m, settings, telephony));
}

/**
 * The methods the user could still sign in with once `gone` (a method, or one device) is
 * removed: enrolled and still offered. A device's kind stays while another device of that kind
 * remains. None left means it is their last way to sign in, and its removal is refused.
 */
export function methodsLeft(
  enrolment: EnrolledMethods,
  settings: PortalSettings,
  telephony: Channels,
  gone: Method | { id: string; kind: 'app' | 'token' },
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
  enrolment: EnrolledMethods,
  telephony: Channels,
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
