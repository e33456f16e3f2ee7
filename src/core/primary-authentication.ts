import type { UserRow } from '../data/users-repository.ts';
import { hashSecret, verifySecret, type Argon2Parameters } from './passwords.ts';

/**
 * SPEC J1, D1–D3: the directory that says whether a password is right. The portal's own local
 * directory is one; LDAP, RADIUS and Windows are others. The lockout, the counters and the audit
 * wrap every one of them alike (src/core/accounts.ts), so a directory answers this alone.
 */
export interface PrimaryAuthentication {
  /** Whether `password` is the password of this account in the directory. */
  verify(user: UserRow, password: string): Promise<boolean>;
  /**
   * Takes as long as a check, and answers nothing: for unknown users and locked accounts, so
   * that the time of the answer tells nothing (SPEC S4).
   */
  spend(password: string): Promise<void>;
}

/** The portal's own directory: Argon2id hashes of passwords set with the command line. */
export function createLocalDirectory(argon2: Argon2Parameters): PrimaryAuthentication {
  const dummyHash = hashSecret('not a password', argon2);
  return {
    async verify(user, password) {
      return user.password_hash !== null && (await verifySecret(password, user.password_hash));
    },
    async spend(password) {
      await verifySecret(password, await dummyHash);
    },
  };
}
