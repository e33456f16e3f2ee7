import { hourlyFailureCap } from './lockout.ts';
import { hashSecret, verifySecret, type Argon2Parameters } from './passwords.ts';
import type { AuditRepository } from '../data/audit-repository.ts';
import type { SettingsRepository } from '../data/settings-repository.ts';
import type { UserRow, UsersRepository } from '../data/users-repository.ts';

export type PasswordCheck =
  | { outcome: 'success'; user: UserRow }
  | { outcome: 'invalid' }
  /** Only reported to someone who gave the right password: they proved the account is theirs. */
  | { outcome: 'locked'; until: number };

export interface AccountsDependencies {
  users: UsersRepository;
  audit: AuditRepository;
  settings: SettingsRepository;
  argon2: Argon2Parameters;
  /** Told when a failure locks an account (SPEC N2: the user hears of it by email). */
  onLockout?: (user: UserRow, until: number, context: RequestContext) => void;
  now?: () => number;
}

/** Who is asking: recorded with every audit event. */
export interface RequestContext {
  clientIp: string | undefined;
  /** The language of the page, for a message the request causes when the account has none. */
  language?: string;
}

export function createAccounts({
  users,
  audit,
  settings,
  argon2,
  onLockout,
  now = Date.now,
}: AccountsDependencies) {
  // Unknown users are checked against this hash so that they cost the same time as known ones.
  const dummyHash = hashSecret('not a password', argon2);

  return {
    hashPassword: (password: string) => hashSecret(password, argon2),

    /** First step of sign-in against the local directory (SPEC J1, S4, M8), audited. */
    async checkPassword(
      username: string,
      password: string,
      context: RequestContext = { clientIp: undefined },
    ): Promise<PasswordCheck> {
      const check = await this.verifyPassword(username, password, context);
      const user = check.outcome === 'success' ? check.user : await users.findByUsername(username);
      await audit.record({
        type: 'sign-in.password',
        result: check.outcome === 'success' ? 'success' : 'failure',
        reason: check.outcome === 'success' ? null : user ? check.outcome : 'unknown user',
        user_id: user?.id ?? null,
        username: user?.username ?? username.trim().slice(0, 256),
        display_name: user?.display_name ?? null,
        email: user?.email ?? null,
        phone: null,
        device: null,
        method: 'password',
        client_ip: context.clientIp ?? null,
        admin_id: null,
      });
      return check;
    },

    async verifyPassword(
      username: string,
      password: string,
      context: RequestContext = { clientIp: undefined },
    ): Promise<PasswordCheck> {
      const user = await users.findByUsername(username);
      const hash = user?.password_hash ?? (await dummyHash);
      const matches = await verifySecret(password, hash);
      if (!user?.password_hash || user.disabled) return { outcome: 'invalid' };

      const time = now();
      if (user.locked_until !== null && user.locked_until > time) {
        return matches ? { outcome: 'locked', until: user.locked_until } : { outcome: 'invalid' };
      }
      if (!matches) {
        // SPEC M8: the lockout policy is a portal setting, read at the moment it applies.
        const policy = await settings.read();
        const after = await users.recordFailure(
          user.id,
          {
            threshold: policy.lockoutThreshold,
            lockMs: policy.lockoutMinutes * 60_000,
            hourlyCap: hourlyFailureCap,
          },
          time,
        );
        if (after.lockedNow && after.locked_until !== null) {
          onLockout?.(user, after.locked_until, context);
        }
        // Still "invalid": only the right password may learn that the account is locked (S4).
        return { outcome: 'invalid' };
      }
      // The counter is cleared when the whole sign-in succeeds, not here: otherwise a right
      // password would wipe out the wrong codes of the second step (SPEC M8).
      return { outcome: 'success', user };
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
