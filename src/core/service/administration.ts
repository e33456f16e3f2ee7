import { createAuditRepository } from '../../data/audit-repository.ts';
import { DuplicateUsernameError } from '../../data/users-repository.ts';
import { changeEvent, type Change } from '../changes.ts';
import { actedBy, adminOf, type Context } from '../context.ts';
import { MfaError, type Account } from '../mfa-service.ts';
import { passwordProblem } from '../password-policy.ts';
import { hashSecret } from '../passwords.ts';
import { formatSetting, isSettingKey, parseSetting, SettingError } from '../settings.ts';
import type { MfaServiceDependencies } from './index.ts';
import { toAccount } from './views.ts';

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
}

export function createAdministrationService(deps: MfaServiceDependencies): AdministrationService {
  const { db, users, settings, audit, bypasses, changes, secondFactor, argon2 } = deps;
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
  };
}
