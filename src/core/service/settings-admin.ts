import { isIP } from 'node:net';
import { createAuditRepository, noUser } from '../../data/audit-repository.ts';
import type { SettingChange } from '../../data/settings-repository.ts';
import { createAdministrators } from '../administrators.ts';
import { createAdminGrantsRepository } from '../../data/admin-grants-repository.ts';
import { adminOf, type Context } from '../context.ts';
import { MfaError, type FieldError } from '../mfa-service.ts';
import {
  formatSetting,
  isSettingKey,
  parseSetting,
  SettingError,
  type PortalSettings,
} from '../settings.ts';
import { isTrustedIp, parseTrustedIps, plainAddress } from '../trusted-ips.ts';
import type { MfaServiceDependencies } from './index.ts';
import { fewestActiveQuestions, questionCountBounds } from './questions-admin.ts';

export type SettingKey = keyof PortalSettings;

/**
 * The portal settings as an administrator thinks of them (SPEC §5, A3), in the order of the
 * console. Trusted IPs have a page of their own. `promptOathToken` and `useOathFallback` are
 * absent: the core does not read them (a token is a method of the second step whenever the user
 * has one), and a switch that changes nothing has no place on the page.
 */
export const settingGroups = [
  {
    id: 'sign-in',
    keys: [
      'allowUserLogin',
      'allowEnrollment',
      'promptBackupPhone',
      'allowSelectLanguage',
      'proofMinutes',
    ],
  },
  {
    id: 'methods',
    keys: [
      'allowSelectMethod',
      'allowedMethods',
      'defaultMethod',
      'useSecurityQuestions',
      'questionsToEnrol',
      'questionsToAnswer',
    ],
  },
  { id: 'phone', keys: ['phoneMode', 'smsMode', 'smsDirection', 'smsCodeLifetimeSeconds'] },
  { id: 'app', keys: ['allowMobileApp', 'deviceLimit', 'appMode'] },
  { id: 'tokens', keys: ['allowOathToken'] },
  { id: 'pins', keys: ['pinMinLength'] },
  { id: 'lockout', keys: ['lockoutThreshold', 'lockoutMinutes', 'fraudCode', 'fraudAutoBlock'] },
  { id: 'bypass', keys: ['allowBypass', 'promptBypassSeconds', 'bypassMaxSeconds'] },
  {
    id: 'limits',
    keys: [
      'callsAndTextsPerUserPerHour',
      'callsAndTextsPerNumberPerHour',
      'callsAndTextsPerAddressPerHour',
    ],
  },
] as const satisfies readonly { id: string; keys: readonly SettingKey[] }[];

export type SettingGroup = (typeof settingGroups)[number]['id'];

/** What the trusted-IP test box answers for an address. */
export type TrustedIpCheck =
  { outcome: 'trusted' | 'not-trusted'; address: string } | { outcome: 'invalid' };

/**
 * SPEC A3, §5: the portal settings in the admin console, for an administrator holding "manage
 * settings" for every group (the settings reach every user). The command line changes them
 * through `administration.changeSetting`, which writes and audits them the same way.
 */
export interface SettingsAdminService {
  /** The settings as they stand, read afresh. */
  current(context: Context): Promise<PortalSettings>;
  /**
   * Several settings from their text form, each checked by its rule (src/core/settings.ts);
   * none is saved unless all are right. Those that change are written together, each audited
   * (`settings.changed`) with its old and new value and the acting administrator.
   */
  save(
    context: Context,
    input: { values: Partial<Record<SettingKey, string>> },
  ): Promise<
    { outcome: 'saved'; changed: SettingKey[] } | { outcome: 'invalid'; errors: FieldError[] }
  >;
  /** Whether a sign-in from this address would skip the second step now (SPEC J1); writes nothing. */
  checkTrustedIp(context: Context, input: { address: string }): Promise<TrustedIpCheck>;
}

type SettingsAdminDependencies = Pick<MfaServiceDependencies, 'db' | 'users' | 'settings'>;

/** An audit record's reason for one changed setting: `key: old → new`. */
const changeReason = ({ key, before, after }: SettingChange) =>
  `${key}: ${formatSetting(before)} → ${formatSetting(after)}`.slice(0, 1000);

/** Writes parsed settings that differ from the stored ones, each audited in the same transaction. */
export async function writeSettings(
  deps: Pick<MfaServiceDependencies, 'settings'>,
  context: Context,
  values: Partial<PortalSettings>,
): Promise<SettingChange[]> {
  return deps.settings.update(values, async (trx, changes, now) => {
    const audit = createAuditRepository(trx);
    for (const change of changes) {
      await audit.record(
        {
          type: 'settings.changed',
          result: 'success',
          reason: changeReason(change),
          ...noUser,
          device: null,
          method: null,
          client_ip: context.clientIp ?? null,
          admin_id: adminOf(context),
        },
        now,
      );
    }
  });
}

/** A refused value as the console says it: the rule's message, with its bounds. */
function fieldErrorOf(error: SettingError): FieldError {
  const { rule } = error;
  const values: Record<string, string | number> = {};
  if (rule.kind === 'whole' || rule.kind === 'digits') Object.assign(values, rule);
  if (error.entry !== undefined) values.entry = error.entry;
  delete values.kind;
  return { field: error.key, message: `adminSettings.errors.${rule.kind}`, values };
}

export function createSettingsAdminService(deps: SettingsAdminDependencies): SettingsAdminService {
  const administrators = createAdministrators({
    users: deps.users,
    grants: createAdminGrantsRepository(deps.db),
  });
  const authorise = (context: Context) =>
    administrators.authorise(context, 'manage-settings', 'everyone');

  return {
    async current(context) {
      await authorise(context);
      return deps.settings.read();
    },

    async save(context, { values }) {
      await authorise(context);
      const parsed: Partial<Record<SettingKey, unknown>> = {};
      const errors: FieldError[] = [];
      for (const [key, raw] of Object.entries(values)) {
        if (!isSettingKey(key)) throw new MfaError('not-found', `No setting ${key}`);
        try {
          parsed[key] = parseSetting(key, raw);
        } catch (error) {
          if (!(error instanceof SettingError)) throw error;
          errors.push(fieldErrorOf(error));
        }
      }
      // No one can enrol more questions than a language offers (SPEC M6), as on the questions page.
      const toEnrol = parsed.questionsToEnrol;
      if (typeof toEnrol === 'number') {
        const max = Math.min(questionCountBounds.max, await fewestActiveQuestions(deps.db));
        if (toEnrol > max) {
          errors.push({
            field: 'questionsToEnrol',
            message: 'adminQuestions.errors.toEnrol',
            values: { min: questionCountBounds.min, max },
          });
        }
      }
      // The second step never asks more questions than a user enrolled, as on the questions page
      // (else the questions are never offered: SPEC M6).
      const toAnswer = parsed.questionsToAnswer;
      if (typeof toAnswer === 'number' || typeof toEnrol === 'number') {
        const current = await deps.settings.read();
        const enrol = typeof toEnrol === 'number' ? toEnrol : current.questionsToEnrol;
        const answer = typeof toAnswer === 'number' ? toAnswer : current.questionsToAnswer;
        if (answer > enrol) {
          errors.push({
            field: typeof toAnswer === 'number' ? 'questionsToAnswer' : 'questionsToEnrol',
            message: 'adminQuestions.errors.toAnswer',
            values: { min: questionCountBounds.min, max: enrol },
          });
        }
      }
      if (errors.length > 0) return { outcome: 'invalid', errors };
      const changes = await writeSettings(deps, context, parsed as Partial<PortalSettings>);
      return { outcome: 'saved', changed: changes.map((change) => change.key) };
    },

    async checkTrustedIp(context, { address }) {
      await authorise(context);
      const typed = plainAddress(address.trim());
      if (isIP(typed) === 0) return { outcome: 'invalid' };
      const { trustedIps } = await deps.settings.read();
      const trusted = isTrustedIp(parseTrustedIps(trustedIps), typed);
      return { outcome: trusted ? 'trusted' : 'not-trusted', address: typed };
    },
  };
}
