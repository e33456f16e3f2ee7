/** The local directory's password policy (SPEC D1), for a new user and a password reset alike. */
export const minPasswordLength = 8;
/** Long enough for any passphrase; Argon2 hashes any length, but a form need not take a book. */
export const maxPasswordLength = 1024;

/** Why a password is refused, in words an operator reads, or null when it is acceptable. */
export function passwordProblem(password: string): string | null {
  if (password.length < minPasswordLength) {
    return `The password must have at least ${minPasswordLength} characters.`;
  }
  if (password.length > maxPasswordLength) {
    return `The password must have at most ${maxPasswordLength} characters.`;
  }
  return null;
}
