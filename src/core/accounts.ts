import { hashSecret, verifySecret, type Argon2Parameters } from './passwords.ts';
import type { UserRow, UsersRepository } from '../data/users-repository.ts';

export interface LockoutPolicy {
  /** Consecutive failures that lock the account (SPEC M8, default 5). */
  threshold: number;
  /** How long a lockout lasts (default 15 minutes). */
  lockMinutes: number;
}

/** SPEC M8: never more than this many failures per account per hour, whatever the settings. */
export const hourlyFailureCap = 100;

export type PasswordCheck =
  | { outcome: 'success'; user: UserRow }
  | { outcome: 'invalid' }
  /** Only reported to someone who gave the right password: they proved the account is theirs. */
  | { outcome: 'locked'; until: number };

export interface AccountsDependencies {
  users: UsersRepository;
  argon2: Argon2Parameters;
  lockout: LockoutPolicy;
  now?: () => number;
}

export function createAccounts({ users, argon2, lockout, now = Date.now }: AccountsDependencies) {
  // Unknown users are checked against this hash so that they cost the same time as known ones.
  const dummyHash = hashSecret('not a password', argon2);

  return {
    hashPassword: (password: string) => hashSecret(password, argon2),

    /** First step of sign-in against the local directory (SPEC J1, S4, M8). */
    async checkPassword(username: string, password: string): Promise<PasswordCheck> {
      const user = await users.findByUsername(username);
      const hash = user?.password_hash ?? (await dummyHash);
      const matches = await verifySecret(password, hash);
      if (!user?.password_hash || user.disabled) return { outcome: 'invalid' };

      const time = now();
      if (user.locked_until !== null && user.locked_until > time) {
        return matches ? { outcome: 'locked', until: user.locked_until } : { outcome: 'invalid' };
      }
      if (!matches) {
        await users.recordFailure(
          user.id,
          {
            threshold: lockout.threshold,
            lockMs: lockout.lockMinutes * 60_000,
            hourlyCap: hourlyFailureCap,
          },
          time,
        );
        return { outcome: 'invalid' };
      }
      if (user.failed_count > 0 || user.locked_until !== null)
        await users.clearFailures(user.id, time);
      return { outcome: 'success', user };
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
