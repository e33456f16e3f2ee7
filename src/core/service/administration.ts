import { createAuditRepository } from '../../data/audit-repository.ts';
import { DuplicateUsernameError, type UserRow } from '../../data/users-repository.ts';
import { changeEvent, type Change } from '../changes.ts';
import { actedBy, adminOf, type Context } from '../context.ts';
import { isLanguage } from '../languages.ts';
import { MfaError, type Account, type FieldError } from '../mfa-service.ts';
import { passwordProblem } from '../password-policy.ts';
import { hashSecret } from '../passwords.ts';
import { isExtension, parsePhone } from '../phone-numbers.ts';
import { newPinErrors } from '../pin-policy.ts';
import { enrolmentFrom } from '../second-factor.ts';
import {
  formatSetting,
  isSettingKey,
  methods,
  parseSetting,
  SettingError,
  type Method,
} from '../settings.ts';
import type { ActivityEntry } from './account.ts';
import type { MfaServiceDependencies } from './index.ts';
import { toAccount } from './views.ts';

/** What an administrator edits on a user (SPEC A2); a field left out stays as it is. */
export interface UserEdit {
  displayName?: string;
  email?: string | null;
  /** One of the portal's languages, or null for the browser's. */
  language?: string | null;
  /** E.164 (`+` and the country code), or null to remove; extensions digits and commas. */
  phone?: string | null;
  phoneExtension?: string | null;
  backupPhone?: string | null;
  backupExtension?: string | null;
  mobilePhone?: string | null;
  /** A method the user has once the edit is saved, or null. */
  defaultMethod?: string | null;
}

/** One audit record as a report shows it (SPEC A4): the phone masked, no secret. */
export interface AuditEntry extends ActivityEntry {
  userId: string | null;
  username: string | null;
  /** The denial reason, or what changed. */
  reason: string | null;
  /** Masked, as it was recorded. */
  phone: string | null;
  /** The acting administrator, if one acted. */
  adminId: string | null;
}

/** The most records one report read returns. */
export const auditReadLimit = 1000;

/**
 * Managing users and settings on someone else's behalf (SPEC A1–A3): the command line today,
 * the admin console next. The context's actor is recorded as the one who acted.
 */
export interface AdministrationService {
  /**
   * A user of the local directory, with a password under the password policy (SPEC D1: the
   * portal's own directory).
   */
  createUser(
    context: Context,
    input: {
      username: string;
      displayName: string;
      email: string | null;
      password: string;
      role: 'user' | 'admin';
    },
  ): Promise<
    | { outcome: 'created'; account: Account }
    | { outcome: 'taken' }
    | { outcome: 'invalid'; message: string }
  >;
  /** A user by username (case-insensitive), or null. */
  findUser(context: Context, input: { username: string }): Promise<Account | null>;
  /**
   * A one-time bypass issued for the user (SPEC M7): the reason is required and audited, and the
   * user is told by email, in their language; `notified` says whether the notice went out.
   */
  issueBypass(
    context: Context,
    input: { userId: string; seconds: number; reason: string },
  ): Promise<{ expiresAt: number; notified: boolean }>;
  /**
   * Ends a lockout (SPEC M8) and clears the failures counted towards the next one, the hourly
   * ones included; audited. `wasLocked` says whether the account was locked at that moment.
   */
  unlock(context: Context, input: { userId: string }): Promise<{ wasLocked: boolean }>;
  /**
   * A new password for a user of the local directory, under the password policy: how a lost
   * administrator password is recovered. Audited, and the user is told by email; a lockout
   * stays (`unlock` ends it), and so do sessions already signed in.
   */
  resetPassword(
    context: Context,
    input: { userId: string; password: string },
  ): Promise<
    | { outcome: 'reset'; notified: boolean; lockedUntil: number | null }
    | { outcome: 'invalid'; message: string }
  >;
  /**
   * Changes a portal setting from its text form (lists comma-separated), checked against the
   * setting's bounds; audited with the old and the new value (SPEC §5, A4).
   */
  changeSetting(
    context: Context,
    input: { key: string; value: string },
  ): Promise<{ outcome: 'changed'; value: string } | { outcome: 'invalid'; message: string }>;
  /**
   * SPEC A2 "edit": names, email, language, phones and default method, each checked; saved
   * together and audited (`user.updated`, naming the fields) with the acting administrator.
   */
  editUser(
    context: Context,
    input: { userId: string } & UserEdit,
  ): Promise<{ outcome: 'saved'; account: Account } | { outcome: 'invalid'; errors: FieldError[] }>;
  /** SPEC A2 "enable/disable": a disabled user cannot sign in; audited. */
  setDisabled(context: Context, input: { userId: string; disabled: boolean }): Promise<Account>;
  /** SPEC A2 "reset PIN (set)": a new PIN the PIN policy accepts, hashed here; audited. */
  setPin(
    context: Context,
    input: { userId: string; pin: string },
  ): Promise<{ outcome: 'saved' } | { outcome: 'invalid'; errors: FieldError[] }>;
  /**
   * SPEC A4: audit records, newest first, filtered by user and type; at most `limit` (100 by
   * default, at most 1000).
   */
  auditEvents(
    context: Context,
    input: { userId?: string; type?: string; limit?: number },
  ): Promise<AuditEntry[]>;
}

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** An administrator's number: E.164 as typed, or what is wrong with it. */
function readE164(
  value: string | null | undefined,
  field: string,
  errors: FieldError[],
): string | null | undefined {
  if (value === undefined || value === null) return value;
  const parsed = value.trim().startsWith('+')
    ? parsePhone(value, 'NL')
    : ({ refused: 'invalid' } as const);
  if ('phone' in parsed) return parsed.phone;
  const message = parsed.refused === 'invalid' ? 'phone.errors.invalid' : 'phone.errors.notAllowed';
  errors.push({ field, message });
  return null;
}

function readExtension(value: string | null | undefined, field: string, errors: FieldError[]) {
  if (value === undefined) return undefined;
  if (value === null || value.trim() === '') return null;
  if (!isExtension(value.trim())) errors.push({ field, message: 'phone.errors.extension' });
  return value.trim();
}

/** The row's columns an edit changes, or the errors of its fields. */
function editedColumns(user: UserRow, edit: UserEdit) {
  const errors: FieldError[] = [];
  const columns: Partial<UserRow> = {};
  if (edit.displayName !== undefined) {
    const name = edit.displayName.trim();
    if (name.length > 200 || /\p{C}/u.test(name)) {
      errors.push({ field: 'displayName', message: 'admin.users.errors.displayName' });
    }
    columns.display_name = name;
  }
  if (edit.email !== undefined) {
    const email = edit.email?.trim() || null;
    if (email !== null && (email.length > 254 || !emailPattern.test(email))) {
      errors.push({ field: 'email', message: 'admin.users.errors.email' });
    }
    columns.email = email;
  }
  if (edit.language !== undefined) {
    if (edit.language !== null && !isLanguage(edit.language)) {
      errors.push({ field: 'language', message: 'preferences.language.errors.choose' });
    }
    columns.language = edit.language;
  }
  const numbers = {
    phone: readE164(edit.phone, 'phone', errors),
    phone_extension: readExtension(edit.phoneExtension, 'phoneExtension', errors),
    backup_phone: readE164(edit.backupPhone, 'backupPhone', errors),
    backup_extension: readExtension(edit.backupExtension, 'backupExtension', errors),
    mobile_phone: readE164(edit.mobilePhone, 'mobilePhone', errors),
  };
  for (const [column, value] of Object.entries(numbers)) {
    if (value !== undefined) Object.assign(columns, { [column]: value });
  }
  const after = { ...user, ...columns };
  if (after.backup_phone !== null && after.phone === null) {
    errors.push({ field: 'backupPhone', message: 'admin.users.errors.backupWithoutPhone' });
  }
  if (edit.defaultMethod !== undefined) {
    const method = methods.find((m) => m === edit.defaultMethod) ?? null;
    if (edit.defaultMethod !== null && method === null) {
      errors.push({ field: 'defaultMethod', message: 'preferences.method.errors.choose' });
    }
    columns.default_method = method;
  }
  return { errors, columns, after };
}

export function createAdministrationService(deps: MfaServiceDependencies): AdministrationService {
  const { db, users, settings, audit, devices, bypasses, changes, secondFactor, argon2 } = deps;
  const now = deps.now ?? Date.now;

  async function accountOf(userId: string) {
    const user = await users.findById(userId);
    return user && { user, account: toAccount(user, await secondFactor.enrolmentOf(user)) };
  }

  async function userOf(userId: string) {
    const user = await users.findById(userId);
    if (!user) throw new MfaError('not-found', 'No such user');
    return user;
  }

  /** The columns written and the administrator's audit record, together or not at all. */
  async function save(
    context: Context,
    user: UserRow,
    columns: Partial<UserRow>,
    event: { type: string; reason: string | null },
  ) {
    const time = now();
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set({ ...columns, updated_at: time })
        .where('id', '=', user.id)
        .execute();
      await createAuditRepository(trx).record(changeEvent(user, event, context), time);
    });
  }

  return {
    async createUser(context, input) {
      const problem = passwordProblem(input.password);
      if (problem) return { outcome: 'invalid', message: problem };
      const passwordHash = await hashSecret(input.password, argon2);
      try {
        const user = await users.create({ ...input, passwordHash });
        await audit.record({
          type: 'user.created',
          result: 'success',
          reason: input.role === 'admin' ? 'administrator' : null,
          user_id: user.id,
          username: user.username,
          display_name: user.display_name,
          email: user.email,
          phone: null,
          device: null,
          method: null,
          client_ip: context.clientIp ?? null,
          admin_id: adminOf(context),
        });
        return {
          outcome: 'created',
          account: toAccount(user, await secondFactor.enrolmentOf(user)),
        };
      } catch (error) {
        if (error instanceof DuplicateUsernameError) return { outcome: 'taken' };
        throw error;
      }
    },

    async findUser(_context, { username }) {
      const user = await users.findByUsername(username);
      return user ? toAccount(user, await secondFactor.enrolmentOf(user)) : null;
    },

    async issueBypass(context, { userId, seconds, reason }) {
      const found = await accountOf(userId);
      if (!found) throw new MfaError('not-found', 'No such user');
      const { expiresAt } = await bypasses.issue(found.user, { seconds, reason }, context);
      const notified = await changes.notify(
        found.user,
        { type: 'bypass.issued', method: 'bypass', notice: 'bypassIssued', until: expiresAt },
        context,
      );
      return { expiresAt, notified };
    },

    async unlock(context, { userId }) {
      const user = await userOf(userId);
      const time = now();
      const wasLocked = user.locked_until !== null && user.locked_until > time;
      const change: Change = {
        type: 'account.unlocked',
        reason: `${wasLocked ? 'was locked' : 'was not locked'}, by ${actedBy(context)}`,
      };
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({
            failed_count: 0,
            locked_until: null,
            failure_window_start: null,
            failure_window_count: 0,
            updated_at: time,
          })
          .where('id', '=', user.id)
          .execute();
        await createAuditRepository(trx).record(changeEvent(user, change, context), time);
      });
      return { wasLocked };
    },

    async resetPassword(context, { userId, password }) {
      const user = await userOf(userId);
      const problem = passwordProblem(password);
      if (problem) return { outcome: 'invalid', message: problem };
      const passwordHash = await hashSecret(password, argon2);
      const time = now();
      const change: Change = {
        type: 'password.reset',
        method: 'password',
        reason: `by ${actedBy(context)}`,
        notice: 'passwordReset',
      };
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ password_hash: passwordHash, updated_at: time })
          .where('id', '=', user.id)
          .execute();
        await createAuditRepository(trx).record(changeEvent(user, change, context), time);
      });
      // Awaited: the command line tells the operator whether the user heard of it.
      const notified = await changes.notify(user, change, context);
      const lockedUntil =
        user.locked_until !== null && user.locked_until > time ? user.locked_until : null;
      return { outcome: 'reset', notified, lockedUntil };
    },

    async changeSetting(context, { key, value }) {
      if (!isSettingKey(key)) return { outcome: 'invalid', message: `Unknown setting "${key}".` };
      try {
        const parsed = parseSetting(key, value);
        const before = (await settings.read())[key];
        await settings.write(key, parsed);
        await audit.record({
          type: 'settings.changed',
          result: 'success',
          reason: `${key}: ${formatSetting(before)} → ${formatSetting(parsed)}`.slice(0, 1000),
          user_id: null,
          username: null,
          display_name: null,
          email: null,
          phone: null,
          device: null,
          method: null,
          client_ip: context.clientIp ?? null,
          admin_id: adminOf(context),
        });
        return { outcome: 'changed', value: formatSetting(parsed) };
      } catch (error) {
        if (error instanceof SettingError) return { outcome: 'invalid', message: error.message };
        throw error;
      }
    },

    async editUser(context, { userId, ...edit }) {
      const user = await userOf(userId);
      const { errors, columns, after } = editedColumns(user, edit);
      const method = columns.default_method;
      if (method !== undefined && method !== null && errors.length === 0) {
        const enrolment = enrolmentFrom(after, await devices.forUser(userId), 0);
        if (!enrolment.methods.includes(method as Method)) {
          errors.push({ field: 'defaultMethod', message: 'preferences.method.errors.choose' });
        }
      }
      if (errors.length > 0) return { outcome: 'invalid', errors };
      const changed = Object.keys(columns).sort().join(', ');
      await save(context, user, columns, { type: 'user.updated', reason: changed || null });
      const found = await accountOf(userId);
      if (!found) throw new MfaError('not-found', 'No such user');
      return { outcome: 'saved', account: found.account };
    },

    async setDisabled(context, { userId, disabled }) {
      const user = await userOf(userId);
      await save(
        context,
        user,
        { disabled: disabled ? 1 : 0 },
        { type: disabled ? 'user.disabled' : 'user.enabled', reason: null },
      );
      const found = await accountOf(userId);
      if (!found) throw new MfaError('not-found', 'No such user');
      return found.account;
    },

    async setPin(context, { userId, pin }) {
      const user = await userOf(userId);
      const { pinMinLength } = await settings.read();
      const phones = [user.phone, user.backup_phone, user.mobile_phone].filter((p) => p !== null);
      const errors = newPinErrors(pin, pin, pinMinLength, phones);
      if (errors.length > 0) return { outcome: 'invalid', errors };
      const pinHash = await hashSecret(pin, argon2);
      await save(
        context,
        user,
        { pin_hash: pinHash, pin_change_required: 0 },
        { type: 'pin.reset', reason: null },
      );
      return { outcome: 'saved' };
    },

    async auditEvents(_context, { userId, type, limit = 100 }) {
      const events = await audit.find({
        ...(userId === undefined ? {} : { userId }),
        ...(type === undefined ? {} : { type }),
        limit: Math.min(Math.max(1, Math.trunc(limit)), auditReadLimit),
      });
      return events.map((event) => ({
        type: event.type,
        result: event.result,
        reason: event.reason,
        method: event.method,
        device: event.device,
        time: event.occurred_at,
        clientIp: event.client_ip,
        userId: event.user_id,
        username: event.username,
        phone: event.phone,
        adminId: event.admin_id,
      }));
    },
  };
}
