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

/**
 * A setting's rule (SPEC §5): what a value may be. The console shows the bounds and choices from
 * here, and the command line and the console refuse by them, so each rule is written once.
 */
export type SettingRule =
  | { kind: 'flag' }
  | { kind: 'whole'; min: number; max: number }
  | { kind: 'choice'; choices: readonly string[] }
  | { kind: 'methods' }
  | { kind: 'digits'; min: number; max: number }
  | { kind: 'addresses' };

type Key = keyof PortalSettings;

const flag = { kind: 'flag' } as const;
const whole = (min: number, max: number) => ({ kind: 'whole', min, max }) as const;
const choice = (choices: readonly string[]) => ({ kind: 'choice', choices }) as const;

export const settingRules: { readonly [K in Key]: SettingRule } = {
  allowUserLogin: flag,
  allowEnrollment: flag,
  promptBackupPhone: flag,
  promptOathToken: flag,
  allowSelectMethod: flag,
  allowedMethods: { kind: 'methods' },
  defaultMethod: choice(methods),
  allowSelectLanguage: flag,
  allowMobileApp: flag,
  deviceLimit: whole(1, 10),
  useSecurityQuestions: flag,
  questionsToEnrol: whole(1, 10),
  questionsToAnswer: whole(1, 10),
  allowOathToken: flag,
  useOathFallback: flag,
  phoneMode: choice(['standard', 'pin']),
  smsMode: choice(['otp', 'otp-pin']),
  smsDirection: choice(['one-way', 'two-way']),
  smsCodeLifetimeSeconds: whole(30, 3600),
  appMode: choice(['standard', 'pin']),
  pinMinLength: whole(4, 10),
  lockoutThreshold: whole(1, 100),
  lockoutMinutes: whole(1, 24 * 60),
  fraudCode: { kind: 'digits', min: 1, max: 4 },
  fraudAutoBlock: flag,
  trustedIps: { kind: 'addresses' },
  allowBypass: flag,
  promptBypassSeconds: flag,
  bypassMaxSeconds: whole(60, 24 * 3600),
  proofMinutes: whole(1, 60),
  callsAndTextsPerUserPerHour: whole(1, 100),
  callsAndTextsPerNumberPerHour: whole(1, 100),
  callsAndTextsPerAddressPerHour: whole(1, 10_000),
};

/** A value its setting's rule refuses; `entry` names the trusted-IP entry that is wrong. */
export class SettingError extends Error {
  override name = 'SettingError';
  readonly key: Key;
  readonly rule: SettingRule;
  readonly entry: string | undefined;
  constructor(key: Key, raw: string, entry?: { text: string; reason: string }) {
    super(`${key} must be ${allowedText(settingRules[key], entry?.reason)} (got "${raw}")`);
    this.key = key;
    this.rule = settingRules[key];
    this.entry = entry?.text;
  }
}

function allowedText(rule: SettingRule, reason: string | undefined): string {
  switch (rule.kind) {
    case 'flag':
      return 'true or false';
    case 'whole':
      return `a whole number from ${String(rule.min)} to ${String(rule.max)}`;
    case 'choice':
      return `one of ${rule.choices.join(', ')}`;
    case 'methods':
      return `a comma-separated list of ${methods.join(', ')}`;
    case 'digits':
      return `${String(rule.min)} to ${String(rule.max)} digits`;
    case 'addresses':
      return `addresses, ranges (a-b) or CIDR blocks separated by commas: ${reason ?? ''}`;
  }
}

/** A list as an administrator types it: comma- or line-separated, blanks ignored. */
const listOf = (raw: string) =>
  raw
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter(Boolean);

function parseByRule(key: Key, raw: string): SettingValue {
  const rule = settingRules[key];
  const refuse = (): never => {
    throw new SettingError(key, raw);
  };
  switch (rule.kind) {
    case 'flag':
      return raw === 'true' ? true : raw === 'false' ? false : refuse();
    case 'whole': {
      const value = Number(raw);
      return /^\d+$/.test(raw) && value >= rule.min && value <= rule.max ? value : refuse();
    }
    case 'choice':
      return rule.choices.includes(raw) ? raw : refuse();
    case 'methods': {
      const list = listOf(raw);
      if (list.length === 0 || list.some((m) => !(methods as readonly string[]).includes(m))) {
        refuse();
      }
      return [...new Set(list)];
    }
    case 'digits':
      return new RegExp(`^\\d{${String(rule.min)},${String(rule.max)}}$`).test(raw)
        ? raw
        : refuse();
    case 'addresses': {
      const entries = listOf(raw);
      for (const entry of entries) {
        try {
          parseTrustedIps([entry]);
        } catch (error) {
          const reason = error instanceof Error ? error.message : 'unreadable';
          throw new SettingError(key, raw, { text: entry, reason });
        }
      }
      return entries;
    }
  }
}

export function isSettingKey(key: string): key is Key {
  return Object.hasOwn(defaultSettings, key);
}

/** Parses an administrator's text value for one setting; throws SettingError naming the key. */
export function parseSetting<K extends Key>(key: K, raw: string): PortalSettings[K] {
  return parseByRule(key, raw.trim()) as PortalSettings[K];
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
