import { ConfigError, fail, flag, integer, text, type Parser } from './parse.ts';

/**
 * SPEC D1–D3: which directory checks passwords, and how to reach it. Connections and secrets are
 * configuration (SPEC §10), not portal settings: a bind password never sits in the database.
 */

export const primaryAuthentications = ['local', 'ldap', 'radius', 'windows'] as const;
export type PrimaryAuthenticationKind = (typeof primaryAuthentications)[number];

export const usernameAttributes = ['sAMAccountName', 'userPrincipalName', 'uid'] as const;
export type UsernameAttribute = (typeof usernameAttributes)[number];
/** The one name sent to RADIUS and kept as the portal account: `jan`, or `jan@contoso.com`. */
export const radiusUsernameForms = ['name', 'upn'] as const;

function oneOf<T extends string>(allowed: readonly T[]): Parser<T> {
  return (raw, key) => {
    const value = raw.trim();
    const found = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
    return found ?? fail(key, `one of ${allowed.join(', ')}`, raw);
  };
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `ldap://host[:port]` or `ldaps://host[:port]`, comma-separated: the first that answers serves. */
const ldapUrls: Parser<string[]> = (raw, key) => {
  const urls = list(raw);
  for (const url of urls) {
    if (!/^ldaps?:\/\/[A-Za-z0-9.[\]:-]+(:\d{1,5})?\/?$/.test(url)) {
      fail(key, 'empty or ldap://host[:port] / ldaps://host[:port], comma-separated', raw);
    }
  }
  return urls;
};

/** `host[:port]`, comma-separated, tried in order (SPEC D2 failover). */
const radiusServers: Parser<{ host: string; port: number }[]> = (raw, key) =>
  list(raw).map((server) => {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(server);
    const port = Number(match?.[2] ?? 1812);
    if (!match?.[1] || port < 1 || port > 65535) {
      fail(key, 'empty or host[:port], comma-separated (port 1812 when left out)', raw);
    }
    return { host: match[1].replace(/^\[|\]$/g, ''), port };
  });

/** A filter in parentheses, as RFC 4515 writes one; it is the administrator's, never a user's. */
const ldapFilter: Parser<string> = (raw, key) => {
  const value = raw.trim();
  let depth = 0;
  for (const character of value) {
    depth += character === '(' ? 1 : character === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (!value.startsWith('(') || !value.endsWith(')') || depth !== 0) {
    fail(key, 'an LDAP filter in parentheses, such as (objectClass=person)', raw);
  }
  return value;
};

/** An attribute name (RFC 4512 descr), for the attribute mapping. */
const attributeName: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (value === '' || /^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(value)) return value;
  return fail(key, 'empty or an LDAP attribute name such as telephoneNumber', raw);
};

const domains: Parser<string[]> = (raw, key) => {
  const values = list(raw);
  if (values.some((domain) => !/^[A-Za-z0-9.-]{1,255}$/.test(domain))) {
    fail(key, 'empty or domain names such as CONTOSO,contoso.com, comma-separated', raw);
  }
  return values;
};

/**
 * Group DNs separated by semicolons (DNs have commas); each group's first value (`Sales` of
 * `cn=Sales,ou=Groups,…`) is the portal group name of its members.
 */
const userGroups: Parser<string[]> = (raw, key) => {
  const values = raw
    .split(';')
    .map((value) => value.trim())
    .filter((value) => value !== '');
  if (values.some((dn) => groupNameOfDn(dn) === undefined)) {
    fail(
      key,
      'empty or group DNs such as cn=Sales,ou=Groups,dc=contoso,dc=com, separated by ;',
      raw,
    );
  }
  return values;
};

/** The value of a DN's first part, `Sales` of `cn=Sales,ou=Groups`, if it is a group name. */
export function groupNameOfDn(dn: string): string | undefined {
  const match = /^\s*[A-Za-z][A-Za-z0-9-]*\s*=\s*((?:[^,\\]|\\.)+?)\s*(?:,|$)/.exec(dn);
  const name = match?.[1]?.replace(/\\(.)/g, '$1');
  if (name === undefined || name.length > 64 || /\p{C}/u.test(name)) return undefined;
  return name;
}

/** The directory keys, their own block of the configuration (README: Directory). */
export const directorySchema = {
  PRIMARY_AUTHENTICATION: oneOf(primaryAuthentications),
  LDAP_URL: ldapUrls,
  LDAP_STARTTLS: flag,
  LDAP_CA_FILE: text,
  LDAP_BIND_DN: text,
  LDAP_BIND_PASSWORD: text,
  LDAP_BASE_DN: text,
  LDAP_USERNAME_ATTRIBUTE: oneOf(usernameAttributes),
  LDAP_USER_FILTER: ldapFilter,
  LDAP_DOMAINS: domains,
  LDAP_PORTAL_GROUP: text,
  LDAP_ENROL_GROUP: text,
  LDAP_USER_GROUPS: userGroups,
  LDAP_ATTRIBUTE_DISPLAY_NAME: attributeName,
  LDAP_ATTRIBUTE_EMAIL: attributeName,
  LDAP_ATTRIBUTE_PHONE: attributeName,
  LDAP_ATTRIBUTE_MOBILE: attributeName,
  LDAP_TIMEOUT_SECONDS: integer(1, 60),
  LDAP_POOL_SIZE: integer(1, 64),
  LDAP_FOLLOW_REFERRALS: flag,
  RADIUS_SERVERS: radiusServers,
  RADIUS_SECRET: text,
  RADIUS_TIMEOUT_SECONDS: integer(1, 60),
  RADIUS_RETRIES: integer(0, 10),
  RADIUS_NAS_IDENTIFIER: text,
  RADIUS_DOMAINS: domains,
  RADIUS_USERNAME_FORM: oneOf(radiusUsernameForms),
} satisfies Record<string, Parser<unknown>>;

/** Shown by `check-config` only as set or empty, and never logged. */
export const directorySecretKeys = ['LDAP_BIND_PASSWORD', 'RADIUS_SECRET'];

type DirectoryValues = Partial<{
  [K in keyof typeof directorySchema]: ReturnType<(typeof directorySchema)[K]>;
}>;

/** The rules between the directory keys; each names what is missing. */
export function directoryConfigErrors(values: DirectoryValues, underIisnode: boolean): string[] {
  const errors: string[] = [];
  const need = (condition: boolean, message: string) => {
    if (!condition) errors.push(new ConfigError(`Invalid configuration: ${message}`).message);
  };
  const kind = values.PRIMARY_AUTHENTICATION;
  if (kind === 'ldap') {
    need(
      (values.LDAP_URL ?? []).length > 0,
      'LDAP_URL must name the directory when PRIMARY_AUTHENTICATION is ldap',
    );
    need(
      values.LDAP_BASE_DN !== '',
      'LDAP_BASE_DN must be set when PRIMARY_AUTHENTICATION is ldap',
    );
  }
  if (values.LDAP_BIND_DN) {
    need(values.LDAP_BIND_PASSWORD !== '', 'LDAP_BIND_PASSWORD must be set with LDAP_BIND_DN');
  }
  if (values.LDAP_STARTTLS) {
    need(
      !(values.LDAP_URL ?? []).some((url) => url.startsWith('ldaps:')),
      'LDAP_STARTTLS must be false with ldaps:// addresses (they are TLS from the start)',
    );
  }
  if (kind === 'radius') {
    need(
      (values.RADIUS_SERVERS ?? []).length > 0,
      'RADIUS_SERVERS must name a server when PRIMARY_AUTHENTICATION is radius',
    );
    need(
      values.RADIUS_SECRET !== '',
      'RADIUS_SECRET must be set when PRIMARY_AUTHENTICATION is radius',
    );
    // The principal name completes a bare name with the first domain that has a dot.
    need(
      values.RADIUS_USERNAME_FORM !== 'upn' ||
        (values.RADIUS_DOMAINS ?? []).some((domain) => domain.includes('.')),
      'RADIUS_DOMAINS must name a DNS domain (such as contoso.com) when RADIUS_USERNAME_FORM is upn',
    );
  }
  if (kind === 'windows') {
    need(
      underIisnode,
      'PRIMARY_AUTHENTICATION windows works only under IIS with iisnode (the user name comes from IIS)',
    );
    // Without it CONTOSO\jan and a trusted domain's OTHER\jan would be one portal user.
    need(
      (values.LDAP_DOMAINS ?? []).length > 0,
      'LDAP_DOMAINS must name the Windows domains whose users may sign in when PRIMARY_AUTHENTICATION is windows',
    );
  }
  return errors;
}
