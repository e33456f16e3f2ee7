/**
 * What a user's own fields may hold, wherever they are typed: the console's add and edit forms,
 * `create-user` and imports. One rule each, so that a user the CLI or an import creates is one
 * the console could have created.
 */

/** The most characters of a username (DOMAIN\\name and name@domain included). */
export const usernameMaxLength = 256;

/** A username as users type it: trimmed, at most 256 characters, no spaces or control characters. */
export function isUsername(username: string): boolean {
  return username.length <= usernameMaxLength && /^[^\s\p{C}]+$/u.test(username);
}

/** A display name: at most 200 characters, no control characters (empty is allowed). */
export function isDisplayName(name: string): boolean {
  return name.length <= 200 && !/\p{C}/u.test(name);
}

/** An email address the mail server can take: one @, a dot in the domain, at most 254 characters. */
export function isEmail(email: string): boolean {
  return email.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
}
