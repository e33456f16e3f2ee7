import type { Logger } from 'pino';
import type { DirectoryFields, DirectoryUsers } from '../data/directory-users.ts';
import type { UserRow, UsersRepository } from '../data/users-repository.ts';
import { DirectoryUnavailableError } from '../providers/directory/errors.ts';
import type { DirectoryPerson, LdapDirectory } from '../providers/directory/ldap.ts';
import type { RadiusClient } from '../providers/directory/radius.ts';
import { directoryNameOf, type NameForm } from './directory-names.ts';
import { MfaError } from './mfa-service.ts';
import { hashSecret, verifySecret, type Argon2Parameters } from './passwords.ts';
import { parsePhone } from './phone-numbers.ts';

/** A password check's answer; `reason` is for the audit alone (SPEC S4). */
export interface CheckResult {
  ok: boolean;
  reason?: string;
}

/** How one account's password is checked, found from what the user typed. */
export interface PasswordCheck {
  /**
   * The portal's account, whose failures the lockout counts before the check (SPEC M8).
   * Undefined for a RADIUS user the portal has not seen yet: RADIUS says nothing of a user
   * without a password, so their account is made once the server accepts them.
   */
  user: UserRow | undefined;
  verify(password: string): Promise<CheckResult>;
  /** After a right password: the account, refreshed from the directory or made for them. */
  accepted(): Promise<UserRow | undefined>;
}

/**
 * SPEC J1, D1–D3: the directory that says whether a password is right. The portal's own local
 * directory is one; LDAP, RADIUS and Windows are others. The lockout, the counters and the audit
 * wrap every one of them alike (src/core/accounts.ts), so a directory answers this alone.
 */
export interface PrimaryAuthentication {
  /** The account a typed username names, or undefined: nobody the portal may let in. */
  find(username: string): Promise<PasswordCheck | undefined>;
  /**
   * Takes as long as a check, and answers nothing: for unknown users and locked accounts, so
   * that the time of the answer tells nothing (SPEC S4).
   */
  spend(password: string): Promise<void>;
  /**
   * SPEC D3: the account of a user IIS authenticated (`DOMAIN\user`), for Windows primary
   * authentication only; undefined elsewhere and for nobody the portal may let in.
   */
  findWindowsUser?(identity: string): Promise<UserRow | undefined>;
  /** Readiness (SPEC O1): throws a DirectoryUnavailableError when the directory cannot answer. */
  check?(): Promise<void>;
  close?(): Promise<void>;
}

/** The portal's own directory: Argon2id hashes of passwords set with the command line. */
export function createLocalDirectory(
  users: Pick<UsersRepository, 'findByUsername'>,
  argon2: Argon2Parameters,
): PrimaryAuthentication {
  const dummyHash = hashSecret('not a password', argon2);
  return {
    async find(username) {
      const user = await users.findByUsername(username);
      if (!user) return undefined;
      return {
        user,
        async verify(password) {
          return {
            ok: user.password_hash !== null && (await verifySecret(password, user.password_hash)),
          };
        },
        accepted: () => Promise.resolve(user),
      };
    },
    async spend(password) {
      await verifySecret(password, await dummyHash);
    },
  };
}

/** A directory that cannot answer is an outage page, never a refusal (SPEC O5). */
async function orUnavailable<T>(work: () => Promise<T>, logger: Logger): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof DirectoryUnavailableError)) throw error;
    logger.error({ err: error }, 'directory unavailable');
    throw new MfaError('unavailable', error.message);
  }
}

/** Directory numbers in international form (+…, 00…) to E.164; anything else is left out. */
function phoneOf(value: string | null): string | null {
  if (value === null || !/^\s*(\+|00)/.test(value)) return null;
  const parsed = parsePhone(value.replace(/^\s*00/, '+'), 'NL');
  return 'phone' in parsed ? parsed.phone : null;
}

export function fieldsOf(person: DirectoryPerson): DirectoryFields {
  return {
    key: person.dn,
    username: person.username,
    displayName: person.displayName,
    email: person.email,
    phone: phoneOf(person.phone),
    mobilePhone: phoneOf(person.mobile),
    groups: person.groups,
    mayEnrol: person.mayEnrol,
    group: person.group,
  };
}

/**
 * A local account whose name was typed: with a directory in use these stay as they were made
 * (the first administrator, a way in while the directory is down), and a directory user never
 * takes one over. Timing tells a local account apart from a directory user (an Argon2 hash
 * against a bind): name local accounts so that nobody guesses them.
 */
async function localAccount(
  local: PrimaryAuthentication,
  username: string,
): Promise<PasswordCheck | undefined> {
  const check = await local.find(username);
  return check?.user?.directory === null && check.user.password_hash !== null ? check : undefined;
}

export interface DirectoryDependencies {
  local: PrimaryAuthentication;
  users: Pick<UsersRepository, 'findByUsername'>;
  directoryUsers: DirectoryUsers;
  logger: Logger;
}

/** SPEC D1: a search as the service account, then a bind as the user, on other connections. */
export function createLdapAuthentication(
  ldap: LdapDirectory,
  { local, directoryUsers, logger }: DirectoryDependencies,
): PrimaryAuthentication {
  /** The directory's person, and the portal's account for them, made when new. */
  async function accountOf(typed: string) {
    const person = await orUnavailable(() => ldap.find(typed), logger);
    // Unknown, disabled, expired, locked or outside the portal's group: all alike (SPEC S4).
    if (!person || person.refused) return undefined;
    const fields = fieldsOf(person);
    const user = await directoryUsers.provision('ldap', fields);
    if (!user) {
      logger.warn(
        { username: person.username },
        'a directory user has the name of a local account: refused until one of them is renamed',
      );
      return undefined;
    }
    return { person, fields, user };
  }

  return {
    async find(typed) {
      const localCheck = await localAccount(local, typed);
      if (localCheck) return localCheck;
      const found = await accountOf(typed);
      if (!found) return undefined;
      const { person, fields, user } = found;
      return {
        user,
        verify: async (password) => ({
          ok: await orUnavailable(() => ldap.authenticate(person.dn, password), logger),
        }),
        async accepted() {
          await directoryUsers.refresh(user, 'ldap', fields);
          return user;
        },
      };
    },
    spend: (password) => orUnavailable(() => ldap.spend(password), logger),
    async findWindowsUser(identity) {
      return (await accountOf(identity))?.user;
    },
    check: () => ldap.check(),
    close: () => ldap.close(),
  };
}

/** A user of whom the directory tells only the name (RADIUS, Windows without LDAP). */
function nameOnly(username: string): DirectoryFields {
  return {
    key: null,
    username,
    displayName: username,
    email: null,
    phone: null,
    mobilePhone: null,
    groups: [],
    mayEnrol: true,
  };
}

// RFC 2865 §5.1, §5.2: at most 253 bytes of user name and 128 of password.
const maxRadiusUsername = 253;
const maxRadiusPassword = 128;

/**
 * SPEC D2: PAP to the RADIUS servers. What the user types is read as one name (`names`: the
 * form and the domains accepted in `DOMAIN\user` and `user@domain`); that name is both what the
 * server is asked about and the portal account, so each person has one account however they
 * type their name, and a name in another domain is refused like an unknown one.
 */
export function createRadiusAuthentication(
  radius: RadiusClient,
  names: { form: NameForm; domains: string[] },
  { local, users, directoryUsers, logger }: DirectoryDependencies,
): PrimaryAuthentication {
  async function ask(username: string, password: string): Promise<CheckResult> {
    if (
      password === '' ||
      Buffer.byteLength(password) > maxRadiusPassword ||
      Buffer.byteLength(username) > maxRadiusUsername
    ) {
      return { ok: false };
    }
    const answer = await orUnavailable(() => radius.authenticate(username, password), logger);
    if (answer === 'challenge') {
      // A further question (a RADIUS-side code) the portal cannot ask: refused, and said so
      // to the operator, who should exempt the portal's NAS-Identifier from it.
      logger.warn(
        { username },
        'RADIUS answered Access-Challenge, which the portal does not support: refused',
      );
      return { ok: false, reason: 'radius challenge' };
    }
    return { ok: answer === 'accept' };
  }

  return {
    async find(typed) {
      const localCheck = await localAccount(local, typed);
      if (localCheck) return localCheck;
      const username = directoryNameOf(typed, names.form, names.domains);
      if (username === undefined) return undefined;
      const user = await users.findByUsername(username);
      if (user?.directory === null) return undefined;
      return {
        user,
        verify: (password) => ask(username, password),
        accepted: async () => user ?? directoryUsers.provision('radius', nameOnly(username)),
      };
    },
    async spend(password) {
      // As long as the password typed, so that the exchange takes as long, but never that
      // password: for a disabled or locked account it may be the right one, and a server may
      // log the passwords it rejects (FreeRADIUS's auth_badpass).
      await ask('mfa-portal-nobody', 'x'.repeat(Math.max(1, Buffer.byteLength(password))));
    },
  };
}

/**
 * SPEC D3: the name IIS authenticated, `DOMAIN\user`. With LDAP configured the user is looked
 * up there (groups, account state, names); otherwise the account is the one of that name, made
 * the first time. A local account with a password is never a Windows user's, whatever its
 * name; passwords sign in local accounts only.
 */
export function createWindowsAuthentication(
  ldap: PrimaryAuthentication | undefined,
  domains: string[],
  { local, directoryUsers }: DirectoryDependencies,
): PrimaryAuthentication {
  const accepted = new Set(domains.map((domain) => domain.toLowerCase()));
  return {
    find: (typed) => localAccount(local, typed),
    spend: (password) => local.spend(password),
    async findWindowsUser(identity) {
      const [domain, name, ...rest] = identity.trim().split('\\');
      if (!domain || !name || rest.length > 0) return undefined;
      if (!accepted.has(domain.toLowerCase())) return undefined;
      if (ldap?.findWindowsUser) return ldap.findWindowsUser(identity);
      return directoryUsers.provision('windows', nameOnly(name));
    },
    ...(ldap ? { check: () => ldap.check?.() ?? Promise.resolve() } : {}),
    ...(ldap ? { close: () => ldap.close?.() ?? Promise.resolve() } : {}),
  };
}
