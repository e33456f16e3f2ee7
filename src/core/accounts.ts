import { hashSecret, verifySecret, type Argon2Parameters } from './passwords.ts';
import type { Lockout } from './lockout.ts';
import type { AuditRepository } from '../data/audit-repository.ts';
import type { UserRow, UsersRepository } from '../data/users-repository.ts';

/** A locked account answers exactly as a wrong password does (SPEC S4): only the audit knows. */
export type PasswordCheck = { outcome: 'success'; user: UserRow } | { outcome: 'invalid' };

export interface AccountsDependencies {
  users: UsersRepository;
  audit: AuditRepository;
  lockout: Lockout;
  argon2: Argon2Parameters;
}

/** Who is asking: recorded with every audit event. */
export interface RequestContext {
  clientIp: string | undefined;
  /** The language of the page, for a message the request causes when the account has none. */
  language?: string;
}

export function createAccounts({ users, audit, lockout, argon2 }: AccountsDependencies) {
  // Unknown users, and locked accounts, are checked against this hash so that they cost the same
  // time as a wrong password.
  const dummyHash = hashSecret('not a password', argon2);
  const invalid = { outcome: 'invalid' } as const;

  /** The check, and for the audit alone the reason it failed. */
  async function verifyPassword(
    user: UserRow | undefined,
    password: string,
    context: RequestContext,
  ): Promise<{ check: PasswordCheck; reason: string | null }> {
    if (!user?.password_hash || user.disabled) {
      await verifySecret(password, await dummyHash);
      return { check: invalid, reason: user ? 'invalid' : 'unknown user' };
    }
    const hash = user.password_hash;
    // A right password takes back only its own attempt: clearing the counter here would wipe out
    // the wrong codes of the second step (SPEC M8); the whole sign-in clears it.
    const attempt = await lockout.attempt(user, context, 'this attempt', async () => ({
      ok: await verifySecret(password, hash),
    }));
    if (attempt.outcome === 'success') return { check: { outcome: 'success', user }, reason: null };
    if (attempt.outcome === 'locked') {
      // Not the real hash: while locked, no password can be tried, not even to see it told apart.
      await verifySecret(password, await dummyHash);
      return { check: invalid, reason: 'locked' };
    }
    return { check: invalid, reason: 'invalid' };
  }

  return {
    hashPassword: (password: string) => hashSecret(password, argon2),

    /** First step of sign-in against the local directory (SPEC J1, S4, M8), audited. */
    async checkPassword(
      username: string,
      password: string,
      context: RequestContext = { clientIp: undefined },
    ): Promise<PasswordCheck> {
      const user = await users.findByUsername(username);
      const { check, reason } = await verifyPassword(user, password, context);
      await audit.record({
        type: 'sign-in.password',
        result: check.outcome === 'success' ? 'success' : 'failure',
        reason,
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
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
