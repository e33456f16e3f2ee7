import { parseTrustedIps } from './trusted-ips.ts';

/**
 * Portal settings (SPEC §5): what administrators change at run time. Stored in the database as
 * key → JSON, read on every request, so a change takes effect on every instance at once.
 * Deployment settings (connections, secrets, paths) are configuration instead: src/config.
 */

export const methods = ['phone', 'sms', 'app', 'token'] as const;
export type Method = (typeof methods)[number];

export interface PortalSettings {
  allowUserLogin: boolean;
  allowEnrollment: boolean;
  promptBackupPhone: boolean;
  promptOathToken: boolean;
  allowSelectMethod: boolean;
  allowedMethods: Method[];
  defaultMethod: Method;
  allowSelectLanguage: boolean;
  allowMobileApp: boolean;
  deviceLimit: number;
  useSecurityQuestions: boolean;
  questionsToEnrol: number;
  questionsToAnswer: number;
  allowOathToken: boolean;
  useOathFallback: boolean;
  phoneMode: 'standard' | 'pin';
  smsMode: 'otp' | 'otp-pin';
  smsDirection: 'one-way' | 'two-way';
  smsCodeLifetimeSeconds: number;
  appMode: 'standard' | 'pin';
  pinMinLength: number;
  lockoutThreshold: number;
  lockoutMinutes: number;
  fraudCode: string;
  fraudAutoBlock: boolean;
  trustedIps: string[];
  allowBypass: boolean;
  promptBypassSeconds: boolean;
  bypassMaxSeconds: number;
  proofMinutes: number;
  callsAndTextsPerUserPerHour: number;
  callsAndTextsPerNumberPerHour: number;
  callsAndTextsPerAddressPerHour: number;
}

export const defaultSettings: PortalSettings = {
  allowUserLogin: true,
  allowEnrollment: true,
  promptBackupPhone: true,
  promptOathToken: false,
  allowSelectMethod: true,
  allowedMethods: ['phone', 'sms', 'app', 'token'],
  defaultMethod: 'app',
  allowSelectLanguage: true,
  allowMobileApp: true,
  deviceLimit: 2,
  useSecurityQuestions: true,
  questionsToEnrol: 4,
  questionsToAnswer: 2,
  allowOathToken: true,
  useOathFallback: false,
  phoneMode: 'standard',
  smsMode: 'otp',
  smsDirection: 'one-way',
  smsCodeLifetimeSeconds: 300,
  appMode: 'standard',
  pinMinLength: 4,
  lockoutThreshold: 5,
  lockoutMinutes: 15,
  fraudCode: '0',
  fraudAutoBlock: true,
  trustedIps: [],
  allowBypass: false,
  promptBypassSeconds: false,
  bypassMaxSeconds: 3600,
  proofMinutes: 5,
  // SPEC S5 (toll fraud, SMS pumping): every call, backup call, text and resend counts, over the
  // last hour. A sign-in takes one, or a few when a call rings out to the backup phone or a code
  // is resent; setting up a number may take a retry or two: 6 leaves room for that, where one
  // half-signed-in session once sent 25. A number is one person's phone, so the same (a
  // switchboard number shared through extensions needs more). An address may be an office or a
  // NAT that many people sign in from, so 30.
  callsAndTextsPerUserPerHour: 6,
  callsAndTextsPerNumberPerHour: 6,
  callsAndTextsPerAddressPerHour: 30,
};

export class SettingError extends Error {
  override name = 'SettingError';
}

type Key = keyof PortalSettings;
type Parser<K extends Key> = (raw: string) => PortalSettings[K];

function bad(key: string, allowed: string, raw: string): never {
  throw new SettingError(`${key} must be ${allowed} (got "${raw}")`);
}

const flag =
  (key: Key): Parser<never> =>
  (raw) => {
    if (raw === 'true') return true as never;
    if (raw === 'false') return false as never;
    return bad(key, 'true or false', raw);
  };

const whole =
  (key: Key, min: number, max: number): Parser<never> =>
  (raw) => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      bad(key, `a whole number from ${min} to ${max}`, raw);
    }
    return value as never;
  };

const oneOf =
  (key: Key, allowed: readonly string[]): Parser<never> =>
  (raw) => {
    if (!allowed.includes(raw)) bad(key, `one of ${allowed.join(', ')}`, raw);
    return raw as never;
  };

const methodList: Parser<'allowedMethods'> = (raw) => {
  const list = raw
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  if (list.length === 0 || list.some((m) => !(methods as readonly string[]).includes(m))) {
    bad('allowedMethods', `a comma-separated list of ${methods.join(', ')}`, raw);
  }
  return [...new Set(list)] as Method[];
};

const parsers: { [K in Key]: Parser<K> } = {
  allowUserLogin: flag('allowUserLogin'),
  allowEnrollment: flag('allowEnrollment'),
  promptBackupPhone: flag('promptBackupPhone'),
  promptOathToken: flag('promptOathToken'),
  allowSelectMethod: flag('allowSelectMethod'),
  allowedMethods: methodList,
  defaultMethod: oneOf('defaultMethod', methods),
  allowSelectLanguage: flag('allowSelectLanguage'),
  allowMobileApp: flag('allowMobileApp'),
  deviceLimit: whole('deviceLimit', 1, 10),
  useSecurityQuestions: flag('useSecurityQuestions'),
  questionsToEnrol: whole('questionsToEnrol', 1, 10),
  questionsToAnswer: whole('questionsToAnswer', 1, 10),
  allowOathToken: flag('allowOathToken'),
  useOathFallback: flag('useOathFallback'),
  phoneMode: oneOf('phoneMode', ['standard', 'pin']),
  smsMode: oneOf('smsMode', ['otp', 'otp-pin']),
  smsDirection: oneOf('smsDirection', ['one-way', 'two-way']),
  smsCodeLifetimeSeconds: whole('smsCodeLifetimeSeconds', 30, 3600),
  appMode: oneOf('appMode', ['standard', 'pin']),
  pinMinLength: whole('pinMinLength', 4, 10),
  lockoutThreshold: whole('lockoutThreshold', 1, 100),
  lockoutMinutes: whole('lockoutMinutes', 1, 24 * 60),
  fraudCode: (raw) => (/^\d{1,4}$/.test(raw) ? raw : bad('fraudCode', '1 to 4 digits', raw)),
  fraudAutoBlock: flag('fraudAutoBlock'),
  trustedIps: (raw) => {
    const entries = raw
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    try {
      parseTrustedIps(entries);
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'unreadable';
      bad(
        'trustedIps',
        `addresses, ranges (a-b) or CIDR blocks separated by commas: ${reason}`,
        raw,
      );
    }
    return entries;
  },
  allowBypass: flag('allowBypass'),
  promptBypassSeconds: flag('promptBypassSeconds'),
  bypassMaxSeconds: whole('bypassMaxSeconds', 60, 24 * 3600),
  proofMinutes: whole('proofMinutes', 1, 60),
  callsAndTextsPerUserPerHour: whole('callsAndTextsPerUserPerHour', 1, 100),
  callsAndTextsPerNumberPerHour: whole('callsAndTextsPerNumberPerHour', 1, 100),
  callsAndTextsPerAddressPerHour: whole('callsAndTextsPerAddressPerHour', 1, 10_000),
};

export function isSettingKey(key: string): key is Key {
  return Object.hasOwn(defaultSettings, key);
}

/** Parses an administrator's text value for one setting; throws SettingError naming the key. */
export function parseSetting<K extends Key>(key: K, raw: string): PortalSettings[K] {
  return parsers[key](raw.trim());
}

/** Stored values over the defaults; a stored value that no longer parses falls back. */
export function mergeSettings(stored: Record<string, unknown>): PortalSettings {
  const settings: Record<string, unknown> = { ...defaultSettings };
  for (const [key, value] of Object.entries(stored)) {
    if (isSettingKey(key) && typeof value === typeof defaultSettings[key]) settings[key] = value;
  }
  return settings as unknown as PortalSettings;
}

export type SettingValue = PortalSettings[Key];

/** For listing: a setting's value as an administrator types it. */
export function formatSetting(value: SettingValue): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}
