/**
 * What a user's own fields may hold, wherever they are typed: the console's add and edit forms,
 * `create-user` and imports. One rule each, so that a user the CLI or an import creates is one
 * the console could have created.
 */

/** The most characters of a username (DOMAIN\\name and name@domain included). */
export const usernameMaxLength = 256;

/**
 * A username as users type it: trimmed, at most 256 characters, no spaces or control characters,
 * nothing that compatibility normalisation would change (full-width `ｓａｍ` beside `sam`), and
 * no word mixing Latin, Greek and Cyrillic letters (`аdmin` with a Cyrillic а beside `admin`):
 * an administrator must be able to tell two users apart by reading their names.
 */
export function isUsername(username: string): boolean {
  return (
    username.length <= usernameMaxLength &&
    /^[^\s\p{C}]+$/u.test(username) &&
    username.normalize('NFKC') === username.normalize('NFC') &&
    !username.split(/[^\p{L}\p{M}]+/u).some(mixesScripts)
  );
}

function mixesScripts(word: string): boolean {
  const scripts = [/\p{Script=Latin}/u, /\p{Script=Greek}/u, /\p{Script=Cyrillic}/u];
  return scripts.filter((script) => script.test(word)).length > 1;
}

/** A display name: at most 200 characters, no control characters (empty is allowed). */
export function isDisplayName(name: string): boolean {
  return name.length <= 200 && !/\p{C}/u.test(name);
}

/**
 * One plain email address: one @, a dot in the domain, at most 254 characters, and none of the
 * characters that make a list or a display name of it for the mail library (`a,b<c@evil.org`).
 */
export function isEmail(email: string): boolean {
  return (
    email.length <= 254 &&
    /^[^\s@,;:<>()[\]\\"]+@[^\s@,;:<>()[\]\\"]+\.[^\s@,;:<>()[\]\\".]+$/u.test(email)
  );
}
