import type { SettingsRepository } from '../data/settings-repository.ts';
import type { UserRow, UsersRepository } from '../data/users-repository.ts';
import type { Context } from './context.ts';

/** SPEC M8: never more than this many failures per account per hour, whatever the settings. */
export const hourlyFailureCap = 100;

/**
 * What a success forgives: a step that proves the whole sign-in or proof clears every failure;
 * the password, only its own attempt, so that it never wipes out wrong codes of the second step.
 */
export type Forgiveness = 'all failures' | 'this attempt';

export type CountedAttempt<R> =
  | { outcome: 'success'; result: R }
  /** Checked and wrong; `lockedUntil` when this very failure locked the account. */
  | { outcome: 'failure'; lockedUntil: number | null }
  /** Not checked at all: the account was locked already. */
  | { outcome: 'locked'; until: number };

export interface LockoutDependencies {
  users: UsersRepository;
  settings: SettingsRepository;
  /** Told when a failure locks an account (SPEC N2: the user hears of it by email). */
  onLockout?: (user: UserRow, until: number, context: Context) => void;
  now?: () => number;
}

/** The failure counters of SPEC M8 around every check of a secret (S5). */
export function createLockout({ users, settings, onLockout, now = Date.now }: LockoutDependencies) {
  return {
    /**
     * Runs a check counted before it runs: the attempt is recorded as a failure first, atomically
     * in the database, so parallel requests on any number of instances get at most the threshold
     * of checks (each of them an Argon2 hash, for passwords, PINs and answers) past the lockout.
     * A locked account's check is not run. A success then forgives as `forgive` says.
     */
    async attempt<R extends { ok: boolean }>(
      user: UserRow,
      context: Context,
      forgive: Forgiveness,
      check: () => Promise<R>,
    ): Promise<CountedAttempt<R>> {
      // The lockout policy is a portal setting, read at the moment it applies.
      const policy = await settings.read();
      const reservation = await users.reserveAttempt(
        user.id,
        {
          threshold: policy.lockoutThreshold,
          lockMs: policy.lockoutMinutes * 60_000,
          hourlyCap: hourlyFailureCap,
        },
        now(),
      );
      if (!reservation) {
        const current = await users.findById(user.id);
        return { outcome: 'locked', until: current?.locked_until ?? now() };
      }
      const result = await check();
      if (result.ok) {
        if (forgive === 'all failures') await users.clearFailures(user.id, reservation);
        else await users.releaseAttempt(user.id, reservation);
        return { outcome: 'success', result };
      }
      if (reservation.lockedUntil !== null) onLockout?.(user, reservation.lockedUntil, context);
      return { outcome: 'failure', lockedUntil: reservation.lockedUntil };
    },
  };
}

export type Lockout = ReturnType<typeof createLockout>;
