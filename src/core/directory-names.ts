/**
 * SPEC D1, D2: the one directory name a typed username denotes. Active Directory takes a person
 * as `CONTOSO\jan`, `jan@contoso.com` or `jan`; the portal must make one account of them, or
 * someone with the password alone could sign in under a second spelling, as a user with no
 * methods yet, and enrol a factor of their own.
 */

/** A bare account name (sAMAccountName, uid) or a user principal name (`jan@contoso.com`). */
export type NameForm = 'name' | 'upn';

/**
 * The name in `form` from what the user typed: `DOMAIN\user` and `user@domain` with one of the
 * accepted domains, or the bare name; for `upn` the full `user@domain`, a bare name completed
 * with the first accepted domain that has a dot. Undefined when it names another domain or is
 * no name at all.
 */
export function directoryNameOf(
  typed: string,
  form: NameForm,
  domains: string[],
): string | undefined {
  const accepted = new Set(domains.map((domain) => domain.toLowerCase()));
  let name = typed.trim();
  const backslash = name.indexOf('\\');
  if (backslash !== -1) {
    if (!accepted.has(name.slice(0, backslash).toLowerCase())) return undefined;
    name = name.slice(backslash + 1);
  }
  const at = name.lastIndexOf('@');
  if (form === 'upn') {
    if (at === -1) {
      const suffix = domains.find((domain) => domain.includes('.'));
      if (suffix === undefined) return undefined;
      name = `${name}@${suffix}`;
    }
  } else if (at !== -1) {
    if (!accepted.has(name.slice(at + 1).toLowerCase())) return undefined;
    name = name.slice(0, at);
  }
  if (name === '' || name.startsWith('@') || /[\\\0\r\n]/.test(name)) return undefined;
  return name;
}
