import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import type { Argon2Parameters } from './core/passwords.ts';
import {
  createLdapAuthentication,
  createLocalDirectory,
  createRadiusAuthentication,
  createWindowsAuthentication,
  type DirectoryDependencies,
  type PrimaryAuthentication,
} from './core/primary-authentication.ts';
import { createDirectoryUsers } from './data/directory-users.ts';
import type { Db } from './data/schema.ts';
import type { UsersRepository } from './data/users-repository.ts';
import { createLdapDirectory, type LdapOptions } from './providers/directory/ldap.ts';
import { createRadiusClient } from './providers/directory/radius.ts';

/** The LDAP client's options from configuration (LDAP_* keys, README: Directory). */
export function ldapOptionsOf(config: Config): LdapOptions {
  return {
    urls: config.LDAP_URL,
    startTls: config.LDAP_STARTTLS,
    ca: config.LDAP_CA_FILE
      ? readFileSync(resolve(config.rootDir, config.LDAP_CA_FILE))
      : undefined,
    timeoutMs: config.LDAP_TIMEOUT_SECONDS * 1000,
    bindDn: config.LDAP_BIND_DN,
    bindPassword: config.LDAP_BIND_PASSWORD,
    baseDn: config.LDAP_BASE_DN,
    usernameAttribute: config.LDAP_USERNAME_ATTRIBUTE,
    userFilter: config.LDAP_USER_FILTER,
    domains: config.LDAP_DOMAINS,
    portalGroup: config.LDAP_PORTAL_GROUP,
    enrolGroup: config.LDAP_ENROL_GROUP,
    userGroups: config.LDAP_USER_GROUPS,
    attributes: {
      displayName: config.LDAP_ATTRIBUTE_DISPLAY_NAME,
      email: config.LDAP_ATTRIBUTE_EMAIL,
      phone: config.LDAP_ATTRIBUTE_PHONE,
      mobile: config.LDAP_ATTRIBUTE_MOBILE,
    },
    poolSize: config.LDAP_POOL_SIZE,
    followReferrals: config.LDAP_FOLLOW_REFERRALS,
  };
}

/** SPEC J1, D1–D3: the primary authentication PRIMARY_AUTHENTICATION names. */
export function createPrimaryAuthentication(
  config: Config,
  parts: { db: Db; users: UsersRepository; logger: Logger; argon2: Argon2Parameters },
): PrimaryAuthentication {
  const local = createLocalDirectory(parts.users, parts.argon2);
  const dependencies: DirectoryDependencies = {
    local,
    users: parts.users,
    directoryUsers: createDirectoryUsers(parts.db),
    logger: parts.logger,
  };
  const ldap = () =>
    createLdapAuthentication(createLdapDirectory(ldapOptionsOf(config)), dependencies);
  switch (config.PRIMARY_AUTHENTICATION) {
    case 'local':
      return local;
    case 'ldap':
      return ldap();
    case 'radius':
      return createRadiusAuthentication(
        createRadiusClient({
          servers: config.RADIUS_SERVERS,
          secret: config.RADIUS_SECRET,
          timeoutMs: config.RADIUS_TIMEOUT_SECONDS * 1000,
          retries: config.RADIUS_RETRIES,
          nasIdentifier: config.RADIUS_NAS_IDENTIFIER,
        }),
        { form: config.RADIUS_USERNAME_FORM, domains: config.RADIUS_DOMAINS },
        dependencies,
      );
    case 'windows':
      return createWindowsAuthentication(
        config.LDAP_URL.length > 0 ? ldap() : undefined,
        config.LDAP_DOMAINS,
        dependencies,
      );
  }
}
