import { randomBytes } from 'node:crypto';
import { ResultCodeError, SizeLimitExceededError, type Client, type Entry } from 'ldapts';
import { groupNameOfDn, type UsernameAttribute } from '../../config/directory.ts';
import { directoryNameOf } from '../../core/directory-names.ts';
import { DirectoryUnavailableError } from './errors.ts';
import { LdapPool, type LdapServerOptions } from './ldap-pool.ts';

export interface LdapOptions extends LdapServerOptions {
  bindDn: string;
  bindPassword: string;
  baseDn: string;
  usernameAttribute: UsernameAttribute;
  userFilter: string;
  /** NetBIOS names and DNS domains accepted in `DOMAIN\user` and `user@domain`. */
  domains: string[];
  /** Members (nested too) may use the portal; empty: everyone the search finds. */
  portalGroup: string;
  /** Members (nested too) may set up a way to sign in; empty: everyone who may use the portal. */
  enrolGroup: string;
  /** Group DNs, in order: a user's portal group is the name of the first they belong to. */
  userGroups: string[];
  attributes: { displayName: string; email: string; phone: string; mobile: string };
  poolSize: number;
  followReferrals: boolean;
}

/** A user as the directory describes them. */
export interface DirectoryPerson {
  dn: string;
  /** The value of the username attribute: the portal's username for them. */
  username: string;
  displayName: string;
  email: string | null;
  phone: string | null;
  mobile: string | null;
  /** The groups they belong to, directly or through other groups, as far as they were looked up. */
  groups: string[];
  /** Disabled, expired, locked in the directory, or outside the portal's group: never which. */
  refused: boolean;
  mayEnrol: boolean;
  /**
   * The portal group: the name of the first of the user groups they belong to, null for none;
   * undefined when no user groups are configured (the group is then the console's to set).
   */
  group: string | null | undefined;
}

/** RFC 4515 §3: a value in a filter, with the characters that would change the filter escaped. */
export function escapeFilterValue(value: string): string {
  return value.replace(
    /[\\*()\0]/g,
    (character) => `\\${character.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((name) => name.toLowerCase() === attribute.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => (Buffer.isBuffer(item) ? item.toString('utf8') : item));
}

function first(entry: Entry, attribute: string): string | null {
  if (attribute === '') return null;
  return values(entry, attribute)[0]?.trim() || null;
}

/** Distinguished names compare without case and without spaces around the separators. */
function normalDn(dn: string): string {
  return dn.replace(/\s*([,=+])\s*/g, '$1').toLowerCase();
}

export function sameDn(a: string, b: string): boolean {
  return normalDn(a) === normalDn(b);
}

// Active Directory's account flags (MS-ADTS 2.2.16) and "never" for accountExpires.
const accountDisabled = 0x2;
const lockedOut = 0x10;
const passwordExpired = 0x80_0000;
const neverExpires = new Set(['0', '9223372036854775807']);
/** Windows FILETIME: 100 ns steps since 1601-01-01. */
const filetimeOfUnixEpoch = 116_444_736_000_000_000n;

/** Whether Active Directory says the account cannot sign in now (other directories say nothing). */
export function accountUnusable(entry: Entry, now = Date.now()): boolean {
  const flags = [
    ...values(entry, 'userAccountControl'),
    ...values(entry, 'msDS-User-Account-Control-Computed'),
  ].reduce((all, value) => all | (Number.parseInt(value, 10) || 0), 0);
  if (flags & (accountDisabled | lockedOut | passwordExpired)) return true;
  const expires = values(entry, 'accountExpires')[0];
  if (expires !== undefined && !neverExpires.has(expires) && /^\d+$/.test(expires)) {
    const expiresMs = Number((BigInt(expires) - filetimeOfUnixEpoch) / 10_000n);
    if (expiresMs <= now) return true;
  }
  return false;
}

/**
 * AD returns at most 1,500 values of a multi-valued attribute at once (MaxValRange), as
 * `member;range=0-1499`, and the rest only when asked for `member;range=1500-*`, and so on;
 * ldapts does not ask. Other directories return the attribute whole, under its own name.
 */
export async function allValues(
  read: (attribute: string) => Promise<Entry | undefined>,
  attribute: string,
): Promise<string[]> {
  const collected: string[] = [];
  let request = attribute;
  for (;;) {
    const entry = await read(request);
    if (!entry) return collected;
    const prefix = `${attribute.toLowerCase()};range=`;
    const ranged = Object.keys(entry).find((key) => key.toLowerCase().startsWith(prefix));
    if (ranged === undefined) {
      collected.push(...values(entry, attribute));
      return collected;
    }
    collected.push(...values(entry, ranged));
    const range = /^(\d+)-(\d+|\*)$/.exec(ranged.slice(prefix.length));
    if (!range?.[2] || range[2] === '*') return collected;
    const next = Number(range[2]) + 1;
    if (next <= Number(range[1])) return collected;
    request = `${attribute};range=${next}-*`;
  }
}

const groupClasses =
  '(|(objectClass=group)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))';
const maxGroupDepth = 8;

export function createLdapDirectory(options: LdapOptions) {
  const bindService = async (client: Client) => {
    if (options.bindDn !== '') await client.bind(options.bindDn, options.bindPassword);
  };
  // Searches run as the service account; users' binds on connections of their own, so that a
  // user's bind never changes who a search runs as.
  const searches = new LdapPool(options, options.poolSize, bindService);
  const binds = new LdapPool(options, options.poolSize);
  // A DN under the base that names nobody: a bind to it fails as a wrong password does, in
  // about the same time, for names the directory does not know (SPEC S4).
  const nobody = `cn=mfa-portal-nobody-${randomBytes(8).toString('hex')},${options.baseDn}`;
  const attributes = [
    options.usernameAttribute,
    'cn',
    'givenName',
    'sn',
    'userAccountControl',
    'msDS-User-Account-Control-Computed',
    'accountExpires',
    ...Object.values(options.attributes).filter((name) => name !== ''),
  ];

  async function searchUsers(client: Client, filter: string): Promise<Entry[]> {
    let result;
    try {
      result = await client.search(options.baseDn, {
        scope: 'sub',
        filter,
        attributes,
        sizeLimit: 2,
        timeLimit: Math.ceil(options.timeoutMs / 1000),
      });
    } catch (error) {
      // More than one entry has the name: it names nobody in particular.
      if (error instanceof SizeLimitExceededError) return [];
      throw error;
    }
    if (result.searchEntries.length > 0 || !options.followReferrals) return result.searchEntries;
    return followReferrals(result.searchReferences, filter);
  }

  /**
   * AD answers a search that reaches into another domain with a referral. Followed one hop, to
   * servers on the same terms (TLS as configured, the same CA, the service account).
   */
  async function followReferrals(references: string[], filter: string): Promise<Entry[]> {
    for (const reference of references.slice(0, 3)) {
      let url: URL;
      try {
        url = new URL(reference);
      } catch {
        continue;
      }
      const secure = url.protocol === 'ldaps:';
      if (!secure && url.protocol !== 'ldap:') continue;
      if (options.urls.every((configured) => configured.startsWith('ldaps:')) && !secure) continue;
      const base = decodeURIComponent(url.pathname.slice(1)) || options.baseDn;
      const pool = new LdapPool(
        { ...options, urls: [`${url.protocol}//${url.host}`] },
        1,
        bindService,
      );
      try {
        const entries = await pool.use(async (client) => {
          const result = await client.search(base, {
            scope: 'sub',
            filter,
            attributes,
            sizeLimit: 2,
          });
          return result.searchEntries;
        });
        if (entries.length > 0) return entries;
      } finally {
        await pool.close();
      }
    }
    return [];
  }

  /** The groups that hold `dn`, directly or through groups in groups, up to `maxGroupDepth`. */
  async function groupsOf(client: Client, dn: string, wanted: string[]): Promise<string[]> {
    const found: string[] = [];
    let level = [dn];
    for (let depth = 0; depth < maxGroupDepth && level.length > 0; depth += 1) {
      const members = level
        .map((member) => escapeFilterValue(member))
        .map((member) => `(member=${member})(uniqueMember=${member})`)
        .join('');
      const result = await client.search(options.baseDn, {
        scope: 'sub',
        filter: `(&${groupClasses}(|${members}))`,
        attributes: ['1.1'],
      });
      level = result.searchEntries
        .map((entry) => entry.dn)
        .filter((group) => !found.some((known) => sameDn(known, group)));
      found.push(...level);
      if (wanted.every((group) => found.some((known) => sameDn(known, group)))) break;
    }
    return found;
  }

  function isIn(groups: string[], group: string): boolean {
    return group === '' || groups.some((known) => sameDn(known, group));
  }

  /** An entry as a person; `inGroup` says whether they belong to a group (nested too). */
  function personOf(
    entry: Entry,
    username: string,
    groups: string[],
    inGroup: (group: string) => boolean,
  ): DirectoryPerson {
    const named = [first(entry, 'givenName'), first(entry, 'sn')].filter(Boolean).join(' ');
    const mayUse = options.portalGroup === '' || inGroup(options.portalGroup);
    return {
      dn: entry.dn,
      username,
      displayName:
        first(entry, options.attributes.displayName) ?? (named || first(entry, 'cn') || username),
      email: first(entry, options.attributes.email),
      phone: first(entry, options.attributes.phone),
      mobile: first(entry, options.attributes.mobile),
      groups,
      refused: !mayUse || accountUnusable(entry),
      mayEnrol: mayUse && (options.enrolGroup === '' || inGroup(options.enrolGroup)),
      group:
        options.userGroups.length === 0
          ? undefined
          : (groupNameOfDn(options.userGroups.find(inGroup) ?? '') ?? null),
    };
  }

  /** Every member of a group, through the groups in it, as lower-case normalised DNs. */
  async function expandGroup(client: Client, group: string, groupDns: Set<string>) {
    const members = new Set<string>();
    const seen = new Set<string>();
    const pending = [normalDn(group)];
    for (let dn = pending.pop(); dn !== undefined; dn = pending.pop()) {
      if (seen.has(dn)) continue;
      seen.add(dn);
      const values = await allValues(async (attribute) => {
        const result = await client.search(dn, { scope: 'base', attributes: [attribute] });
        return result.searchEntries[0];
      }, 'member');
      for (const member of values.map(normalDn)) {
        if (groupDns.has(member)) pending.push(member);
        else members.add(member);
      }
    }
    return members;
  }

  return {
    /**
     * Every user under the base DN, in pages of 500 (SPEC D4), as people, with the portal and
     * enrolment groups read whole (range retrieval, nested groups).
     */
    async listPeople(): Promise<DirectoryPerson[]> {
      return searches.use(async (client) => {
        const groupDns = new Set<string>();
        const wanted = [options.portalGroup, options.enrolGroup, ...options.userGroups].filter(
          (group) => group !== '',
        );
        if (wanted.length > 0) {
          const found = await client.search(options.baseDn, {
            scope: 'sub',
            filter: groupClasses,
            attributes: ['1.1'],
            paged: { pageSize: 500 },
          });
          for (const entry of found.searchEntries) groupDns.add(normalDn(entry.dn));
        }
        const memberships = new Map<string, Set<string>>();
        for (const group of wanted) {
          memberships.set(group, await expandGroup(client, group, groupDns));
        }
        const { searchEntries } = await client.search(options.baseDn, {
          scope: 'sub',
          filter: options.userFilter,
          attributes,
          paged: { pageSize: 500 },
        });
        return searchEntries.flatMap((entry) => {
          const username = first(entry, options.usernameAttribute);
          if (!username) return [];
          const dn = normalDn(entry.dn);
          const inGroup = (group: string) => memberships.get(group)?.has(dn) ?? false;
          return [personOf(entry, username, wanted.filter(inGroup), inGroup)];
        });
      });
    },

    /** The person a typed username names, or undefined: no one, or more than one. */
    async find(typed: string): Promise<DirectoryPerson | undefined> {
      const form = options.usernameAttribute === 'userPrincipalName' ? 'upn' : 'name';
      const name = directoryNameOf(typed, form, options.domains);
      if (name === undefined) return undefined;
      const filter = `(&${options.userFilter}(${options.usernameAttribute}=${escapeFilterValue(name)}))`;
      return searches.use(async (client) => {
        const entries = await searchUsers(client, filter);
        const entry = entries.length === 1 ? entries[0] : undefined;
        const username = entry ? first(entry, options.usernameAttribute) : null;
        if (!entry || !username) return undefined;
        const wanted = [options.portalGroup, options.enrolGroup, ...options.userGroups].filter(
          (group) => group !== '',
        );
        const groups = wanted.length > 0 ? await groupsOf(client, entry.dn, wanted) : [];
        return personOf(entry, username, groups, (group) => isIn(groups, group));
      });
    },

    /**
     * Whether `password` is the password of `dn`: a bind as the user. An empty password is
     * never sent, since a bind with a DN and no password is an anonymous bind that servers
     * accept (RFC 4513 §5.1.2).
     */
    async authenticate(dn: string, password: string): Promise<boolean> {
      if (password === '') return false;
      return binds.use(async (client) => {
        try {
          await client.bind(dn, password);
          return true;
        } catch (error) {
          if (error instanceof ResultCodeError) return false;
          throw error;
        }
      });
    },

    /** A bind that fails, taking about as long as a real one, for names nobody has. */
    async spend(password: string): Promise<void> {
      await this.authenticate(nobody, password === '' ? 'x' : password);
    },

    /** The members of a group, every value however many (for import, sync and check-config). */
    async groupMembers(groupDn: string): Promise<string[]> {
      return searches.use((client) =>
        allValues(async (attribute) => {
          const result = await client.search(groupDn, {
            scope: 'base',
            filter: '(objectClass=*)',
            attributes: [attribute],
          });
          return result.searchEntries[0];
        }, 'member'),
      );
    },

    /** The service account's bind and a read of the base DN: for readiness and check-config. */
    async check(): Promise<void> {
      await searches.use(async (client) => {
        try {
          const result = await client.search(options.baseDn, {
            scope: 'base',
            attributes: ['1.1'],
          });
          if (result.searchEntries.length === 0) throw new Error('no entry');
        } catch (error) {
          if (error instanceof DirectoryUnavailableError) throw error;
          throw new DirectoryUnavailableError(
            `LDAP_BASE_DN ${options.baseDn} cannot be read by the service account (${error instanceof Error ? error.message : String(error)})`,
          );
        }
      });
    },

    async close(): Promise<void> {
      await Promise.all([searches.close(), binds.close()]);
    },
  };
}

export type LdapDirectory = ReturnType<typeof createLdapDirectory>;
