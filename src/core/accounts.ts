import type { AuditRepository } from '../data/audit-repository.ts';
import type { SettingsRepository } from '../data/settings-repository.ts';
import type { UserRow, UsersRepository } from '../data/users-repository.ts';
import type { Bypasses } from './bypass.ts';
import { adminOf, type Context } from './context.ts';
import { isLanguage } from './languages.ts';
import type { Lockout } from './lockout.ts';
import type { SignInStep } from './mfa-service.ts';
import { hashSecret, type Argon2Parameters } from './passwords.ts';
import type { PrimaryAuthentication } from './primary-authentication.ts';
import type { SecondFactor } from './second-factor.ts';
import { isTrustedIp, parseTrustedIps } from './trusted-ips.ts';

export interface AccountsDependencies {
  users: UsersRepository;
  audit: AuditRepository;
  settings: SettingsRepository;
  lockout: Lockout;
  directory: PrimaryAuthentication;
  bypasses: Bypasses;
  secondFactor: Pick<SecondFactor, 'methodsOf'>;
  argon2: Argon2Parameters;
}

export function createAccounts(deps: AccountsDependencies) {
  const { users, audit, settings, lockout, directory, bypasses, secondFactor, argon2 } = deps;

  /** The password check under the lockout; the reason it failed is for the audit alone. */
  async function verifyPassword(
    username: string,
    password: string,
    context: Context,
  ): Promise<{ found: UserRow | undefined; user: UserRow | undefined; reason: string | null }> {
    const check = await directory.find(username);
    const found = check?.user;
    if (!check || found?.disabled) {
      await directory.spend(password);
      return { found, user: undefined, reason: found ? 'invalid' : 'unknown user' };
    }
    if (!found) {
      // A RADIUS user the portal has not seen: nothing to count on until the server accepts them.
      const result = await check.verify(password);
      const user = result.ok ? await check.accepted() : undefined;
      return { found: user, user, reason: user ? null : (result.reason ?? 'invalid') };
    }
    // A right password takes back only its own attempt: clearing the counter here would wipe out
    // the wrong codes of the second step (SPEC M8); the whole sign-in clears it.
    const attempt = await lockout.attempt(found, context, 'this attempt', () =>
      check.verify(password),
    );
    if (attempt.outcome === 'success') {
      const user = await check.accepted();
      return { found, user, reason: user ? null : 'invalid' };
    }
    if (attempt.outcome === 'locked') {
      // Not the real check: while locked, no password can be tried, not even to see it told apart.
      await directory.spend(password);
      return { found, user: undefined, reason: 'locked' };
    }
    return { found, user: undefined, reason: 'invalid' };
  }

  /** After a right password (SPEC J1, J2, §5). No session exists yet: the caller starts one. */
  async function stepAfterPassword(user: UserRow, context: Context): Promise<SignInStep> {
    const policy = await settings.read();
    // A first sign-in keeps the language the pages were read in, so that the user's notices,
    // calls and texts come in it too (SPEC J5, the language review), where users may choose one.
    if (user.language === null && policy.allowSelectLanguage && isLanguage(context.language)) {
      await users.setLanguage(user.id, context.language);
    }
    // "Allow users to log in" off: administrators still sign in, as in the original portal.
    if (!policy.allowUserLogin && user.role !== 'admin') return { next: 'switched-off' };
    if (isTrustedIp(parseTrustedIps(policy.trustedIps), context.clientIp)) {
      if (user.failed_count > 0 || user.locked_until !== null) await users.clearFailures(user.id);
      return { next: 'signed-in', userId: user.id };
    }
    // A pending one-time bypass skips the second step for this one sign-in (SPEC J1, M7).
    if (await bypasses.consume(user, context)) return { next: 'signed-in', userId: user.id };
    const methods = await secondFactor.methodsOf(user);
    if (methods.length > 0) return { next: 'second-step', userId: user.id };
    // The directory's groups may keep a user from enrolling (LDAP_ENROL_GROUP, SPEC D1).
    return policy.allowEnrollment && user.may_enrol
      ? { next: 'enrol', userId: user.id }
      : { next: 'not-enrolled' };
  }

  async function recordPrimaryStep(
    found: UserRow | undefined,
    typed: string,
    reason: string | null,
    method: 'password' | 'windows',
    context: Context,
  ): Promise<void> {
    await audit.record({
      type: 'sign-in.password',
      result: reason === null ? 'success' : 'failure',
      reason,
      user_id: found?.id ?? null,
      username: found?.username ?? typed.trim().slice(0, 256),
      display_name: found?.display_name ?? null,
      email: found?.email ?? null,
      phone: null,
      device: null,
      method,
      client_ip: context.clientIp ?? null,
      admin_id: adminOf(context),
    });
  }

  return {
    hashPassword: (password: string) => hashSecret(password, argon2),

    /**
     * The first step of sign-in (SPEC J1, S4, M8): the password against the primary
     * authentication, counted and audited, then where the sign-in goes next.
     */
    async signIn(username: string, password: string, context: Context): Promise<SignInStep> {
      // An empty password would be an anonymous bind to a directory (RFC 4513 §5.1.2): the
      // same refusal as any wrong one, before any directory hears of it.
      const { found, user, reason } =
        password === ''
          ? { found: undefined, user: undefined, reason: 'empty password' }
          : await verifyPassword(username, password, context);
      await recordPrimaryStep(found, username, user ? null : reason, 'password', context);
      return user ? stepAfterPassword(user, context) : { next: 'refused' };
    },

    /**
     * SPEC D3: a user IIS authenticated with Windows authentication. No secret is checked here,
     * so nothing is counted; the second step follows as after a password.
     */
    async signInWindows(identity: string, context: Context): Promise<SignInStep> {
      const found = await directory.findWindowsUser?.(identity);
      const user = found && !found.disabled ? found : undefined;
      await recordPrimaryStep(found, identity, user ? null : 'refused', 'windows', context);
      return user ? stepAfterPassword(user, context) : { next: 'refused' };
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
