import type { Config } from '../config/index.ts';
import { ldapOptionsOf } from '../directories.ts';
import { createLdapDirectory } from '../providers/directory/ldap.ts';
import { createRadiusClient } from '../providers/directory/radius.ts';

interface Check {
  name: string;
  problem?: string;
  detail: string;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `check-config` for LDAP: the service bind, the base DN, and each group with its members. */
async function checkLdap(config: Config): Promise<Check> {
  const detail = config.LDAP_URL.join(', ');
  let directory;
  try {
    directory = createLdapDirectory(ldapOptionsOf(config));
  } catch (error) {
    return { name: 'LDAP directory', detail, problem: `LDAP_CA_FILE: ${message(error)}` };
  }
  try {
    await directory.check();
    const groups: string[] = [];
    for (const [key, group] of [
      ['LDAP_PORTAL_GROUP', config.LDAP_PORTAL_GROUP],
      ['LDAP_ENROL_GROUP', config.LDAP_ENROL_GROUP],
    ] as const) {
      if (group === '') continue;
      const members = await directory.groupMembers(group).catch(() => undefined);
      if (members === undefined || members.length === 0) {
        return {
          name: 'LDAP directory',
          detail,
          problem: `${key} ${group} has no members the service account can read`,
        };
      }
      groups.push(`${key} ${String(members.length)} direct members`);
    }
    return {
      name: 'LDAP directory',
      detail: [detail, 'service account bound, base DN read', ...groups].join('; '),
    };
  } catch (error) {
    return { name: 'LDAP directory', detail, problem: message(error) };
  } finally {
    await directory.close();
  }
}

/**
 * `check-config` for RADIUS: a request for a user nobody has. A rejection proves the server
 * answers and the shared secret is right (a reply with another secret is never read).
 */
async function checkRadius(config: Config): Promise<Check> {
  const detail = config.RADIUS_SERVERS.map(
    (server) => `${server.host}:${String(server.port)}`,
  ).join(', ');
  const client = createRadiusClient({
    servers: config.RADIUS_SERVERS,
    secret: config.RADIUS_SECRET,
    timeoutMs: config.RADIUS_TIMEOUT_SECONDS * 1000,
    retries: config.RADIUS_RETRIES,
    nasIdentifier: config.RADIUS_NAS_IDENTIFIER,
  });
  try {
    await client.authenticate('mfa-portal-check-config', 'not a password');
    return { name: 'RADIUS', detail: `${detail}; answers, with the shared secret` };
  } catch (error) {
    return {
      name: 'RADIUS',
      detail,
      problem: `${message(error)} (a wrong RADIUS_SECRET looks the same: replies with another secret are dropped)`,
    };
  }
}

/** The directory PRIMARY_AUTHENTICATION names, reached as the portal would reach it. */
export async function checkDirectory(config: Config | undefined): Promise<Check | undefined> {
  if (!config) return undefined;
  if (config.PRIMARY_AUTHENTICATION === 'radius') return checkRadius(config);
  if (config.LDAP_URL.length > 0 && ['ldap', 'windows'].includes(config.PRIMARY_AUTHENTICATION)) {
    return checkLdap(config);
  }
  return undefined;
}
