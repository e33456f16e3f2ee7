import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/config/index.ts';
import { freePort, killProcess } from './outages.ts';

/**
 * OpenLDAP's slapd for the directory tests (SPEC §14): started by the test on free ports, with a
 * slapd.conf, a database and a CA of its own in a temporary folder, an AD-like schema subset
 * (test/fixtures/ldap/ad-subset.schema) and plain (StartTLS), LDAPS listeners.
 */

const slapdPath = '/usr/sbin/slapd';
export const baseDn = 'dc=example,dc=org';
/** A second naming context on the same server, reached from the first by a referral. */
export const partnerBaseDn = 'dc=example,dc=net';
export const serviceDn = `cn=mfa-service,ou=services,${baseDn}`;
export const servicePassword = 'service password 1';
export const portalGroupDn = `cn=portal-users,ou=groups,${baseDn}`;
export const enrolGroupDn = `cn=enrolment,ou=groups,${baseDn}`;
/** A group of more than 1,500 members, which AD would only hand out in ranges. */
export const bigGroupDn = `cn=everyone,ou=groups,${baseDn}`;
export const bigGroupSize = 1600;

/** A reason to skip when slapd is not installed (apt-get install slapd ldap-utils). */
export function slapdMissing(): Promise<string | undefined> {
  const problems: string[] = [];
  if (!existsSync(slapdPath)) problems.push(`${slapdPath} is not installed`);
  if (spawnSync('openssl', ['version']).error) problems.push('openssl cannot be run');
  return Promise.resolve(problems.length > 0 ? problems.join(', ') : undefined);
}

export interface TestUser {
  uid: string;
  password: string;
  displayName: string;
  mail?: string;
  telephoneNumber?: string;
  mobile?: string;
  userAccountControl?: number;
  accountExpires?: string;
  computedFlags?: number;
  groups?: string[];
  /** Under ou=people of the partner naming context, reached through the referral. */
  partner?: boolean;
}

export const testUsers: TestUser[] = [
  {
    uid: 'jdoe',
    password: 'Correct horse 1',
    displayName: 'Jane Doe',
    mail: 'jane.doe@example.org',
    telephoneNumber: '+31 20 123 4567',
    mobile: '+31 6 12345678',
    groups: [portalGroupDn, enrolGroupDn],
  },
  // In the enrolment group through a group in it (nested).
  {
    uid: 'nested',
    password: 'Nested pass 1',
    displayName: 'Nina Nested',
    groups: ['cn=team,ou=groups,dc=example,dc=org'],
  },
  { uid: 'noenrol', password: 'No enrol 1', displayName: 'Noah Noenrol', groups: [portalGroupDn] },
  { uid: 'outsider', password: 'Outsider pass 1', displayName: 'Otto Outsider', groups: [] },
  {
    uid: 'disabled',
    password: 'Disabled pass 1',
    displayName: 'Dee Disabled',
    userAccountControl: 0x202,
    groups: [portalGroupDn, enrolGroupDn],
  },
  {
    uid: 'expired',
    password: 'Expired pass 1',
    displayName: 'Eve Expired',
    // 2020-01-01 as a Windows FILETIME.
    accountExpires: '132223104000000000',
    groups: [portalGroupDn, enrolGroupDn],
  },
  {
    uid: 'locked',
    password: 'Locked pass 1',
    displayName: 'Lou Locked',
    computedFlags: 0x10,
    groups: [portalGroupDn, enrolGroupDn],
  },
  // One for each language's browser journey.
  ...['en', 'nl', 'fr'].map((lng) => ({
    uid: `browser-${lng}`,
    password: `Browser pass ${lng}`,
    displayName: `Browser ${lng.toUpperCase()}`,
    groups: [portalGroupDn, enrolGroupDn],
  })),
  {
    uid: 'partner',
    password: 'Partner pass 1',
    displayName: 'Pat Partner',
    partner: true,
    groups: [portalGroupDn, enrolGroupDn],
  },
];

function entry(lines: Record<string, string | number | (string | number)[] | undefined>): string {
  return Object.entries(lines)
    .flatMap(([key, value]) =>
      value === undefined
        ? []
        : (Array.isArray(value) ? value : [value]).map((v) => `${key}: ${String(v)}`),
    )
    .join('\n');
}

function userDn(user: TestUser): string {
  return `uid=${user.uid},ou=people,${user.partner ? partnerBaseDn : baseDn}`;
}

export function dnOf(uid: string): string {
  const user = testUsers.find((candidate) => candidate.uid === uid);
  return user ? userDn(user) : `uid=${uid},ou=people,${baseDn}`;
}

function ldif(plainPort: number): { main: string; partner: string } {
  const people = testUsers.map((user) =>
    entry({
      dn: userDn(user),
      objectClass: ['inetOrgPerson', 'adAccount'],
      uid: user.uid,
      cn: user.displayName,
      sn: user.displayName.split(' ').at(-1),
      displayName: user.displayName,
      sAMAccountName: user.uid,
      userPrincipalName: `${user.uid}@example.org`,
      userPassword: user.password,
      mail: user.mail,
      telephoneNumber: user.telephoneNumber,
      mobile: user.mobile,
      userAccountControl: user.userAccountControl ?? 0x200,
      accountExpires: user.accountExpires ?? '0',
      'msDS-User-Account-Control-Computed': user.computedFlags ?? 0,
    }),
  );
  const membersOf = (group: string) =>
    testUsers.filter((user) => user.groups?.includes(group)).map(userDn);
  const crowd = Array.from(
    { length: bigGroupSize },
    (_, i) => `uid=crowd${String(i)},ou=crowd,${baseDn}`,
  );
  const crowdEntries = crowd.map((dn, i) =>
    entry({
      dn,
      objectClass: 'inetOrgPerson',
      uid: `crowd${String(i)}`,
      cn: `Crowd ${String(i)}`,
      sn: 'Crowd',
    }),
  );
  const main = [
    entry({ dn: baseDn, objectClass: ['dcObject', 'organization'], dc: 'example', o: 'Example' }),
    ...['people', 'groups', 'services', 'crowd'].map((ou) =>
      entry({ dn: `ou=${ou},${baseDn}`, objectClass: 'organizationalUnit', ou }),
    ),
    entry({
      dn: serviceDn,
      objectClass: ['organizationalRole', 'simpleSecurityObject'],
      cn: 'mfa-service',
      userPassword: servicePassword,
    }),
    // AD answers a search into another domain with a referral, as this entry does.
    entry({
      dn: `ou=partners,${baseDn}`,
      objectClass: ['referral', 'extensibleObject'],
      ou: 'partners',
      ref: `ldap://127.0.0.1:${String(plainPort)}/ou=people,${partnerBaseDn}`,
    }),
    ...people.filter((_, i) => !testUsers[i]?.partner),
    entry({
      dn: 'cn=team,ou=groups,dc=example,dc=org',
      objectClass: 'groupOfNames',
      cn: 'team',
      member: membersOf('cn=team,ou=groups,dc=example,dc=org'),
    }),
    entry({
      dn: portalGroupDn,
      objectClass: 'groupOfNames',
      cn: 'portal-users',
      member: [...membersOf(portalGroupDn), 'cn=team,ou=groups,dc=example,dc=org'],
    }),
    entry({
      dn: enrolGroupDn,
      objectClass: 'groupOfNames',
      cn: 'enrolment',
      member: [...membersOf(enrolGroupDn), 'cn=team,ou=groups,dc=example,dc=org'],
    }),
    ...crowdEntries,
    entry({ dn: bigGroupDn, objectClass: 'groupOfNames', cn: 'everyone', member: crowd }),
  ];
  const partner = [
    entry({
      dn: partnerBaseDn,
      objectClass: ['dcObject', 'organization'],
      dc: 'example',
      o: 'Partner',
    }),
    entry({ dn: `ou=people,${partnerBaseDn}`, objectClass: 'organizationalUnit', ou: 'people' }),
    ...people.filter((_, i) => testUsers[i]?.partner),
  ];
  return { main: `${main.join('\n\n')}\n`, partner: `${partner.join('\n\n')}\n` };
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed: ${result.stderr || String(result.error)}`,
    );
  }
}

/** A CA and a certificate for `localhost` only (so that 127.0.0.1 does not match it). */
function makeCertificates(dir: string): void {
  run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=Test LDAP CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ],
    dir,
  );
  run(
    'openssl',
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ],
    dir,
  );
}

function slapdConf(dir: string): string {
  const access = `access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by dn.exact="${serviceDn}" read by * none`;
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include ${join(projectRoot, 'test/fixtures/ldap/ad-subset.schema')}
pidfile ${join(dir, 'slapd.pid')}
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile ${join(dir, 'ca.pem')}
TLSCertificateFile ${join(dir, 'server.pem')}
TLSCertificateKeyFile ${join(dir, 'server.key')}
# As Active Directory does: a bind with a DN and no password succeeds, anonymously (RFC 4513
# 5.1.2). The portal must never send one.
allow bind_anon_dn
# Paged searches read every page, as AD's service accounts may (slapd stops at 500 otherwise).
sizelimit size.soft=500 size.hard=unlimited size.prtotal=unlimited

database mdb
suffix "${baseDn}"
rootdn "cn=admin,${baseDn}"
directory ${join(dir, 'main')}
maxsize 268435456
index objectClass eq
index uid,sAMAccountName,userPrincipalName,member eq
${access}

database mdb
suffix "${partnerBaseDn}"
directory ${join(dir, 'partner')}
maxsize 67108864
index objectClass eq
index uid,sAMAccountName,userPrincipalName eq
${access}
`;
}

export interface Slapd {
  /** ldap:// on 127.0.0.1, StartTLS offered. */
  plainUrl: string;
  /** ldaps:// on localhost, the name in the certificate. */
  ldapsUrl: string;
  /** The same LDAPS listener by address, which the certificate does not name. */
  ldapsByAddressUrl: string;
  /** The test CA's certificate file. */
  caFile: string;
  /** Kills the server, as a crash would; `start` brings it back with its data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  close(): Promise<void>;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

export async function startSlapd(): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-slapd-'));
  const [plainPort, ldapsPort] = [await freePort(), await freePort()];
  mkdirSync(join(dir, 'main'));
  mkdirSync(join(dir, 'partner'));
  makeCertificates(dir);
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, slapdConf(dir));
  const data = ldif(plainPort);
  writeFileSync(join(dir, 'main.ldif'), data.main);
  writeFileSync(join(dir, 'partner.ldif'), data.partner);
  run(slapdPath, ['-T', 'add', '-f', conf, '-b', baseDn, '-q', '-l', join(dir, 'main.ldif')], dir);
  run(
    slapdPath,
    ['-T', 'add', '-f', conf, '-b', partnerBaseDn, '-q', '-l', join(dir, 'partner.ldif')],
    dir,
  );

  let child: ChildProcess | undefined;
  const start = async () => {
    if (child && child.exitCode === null) return;
    const urls = `ldap://127.0.0.1:${String(plainPort)}/ ldaps://127.0.0.1:${String(ldapsPort)}/`;
    child = spawn(slapdPath, ['-f', conf, '-h', urls, '-d', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    for (let i = 0; i < 100; i += 1) {
      if (child.exitCode !== null) throw new Error(`slapd exited: ${output}`);
      if ((await listening(plainPort)) && (await listening(ldapsPort))) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`slapd did not listen: ${output}`);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    await killProcess(running);
  };
  await start();
  return {
    plainUrl: `ldap://127.0.0.1:${String(plainPort)}`,
    ldapsUrl: `ldaps://localhost:${String(ldapsPort)}`,
    ldapsByAddressUrl: `ldaps://127.0.0.1:${String(ldapsPort)}`,
    caFile: join(dir, 'ca.pem'),
    start,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The portal's configuration for this slapd: StartTLS with the test CA, groups as in AD. */
export function ldapPortalEnv(slapd: Pick<Slapd, 'plainUrl' | 'caFile'>): Record<string, string> {
  return {
    PRIMARY_AUTHENTICATION: 'ldap',
    LDAP_URL: slapd.plainUrl.replace('127.0.0.1', 'localhost'),
    LDAP_STARTTLS: 'true',
    LDAP_CA_FILE: slapd.caFile,
    LDAP_BIND_DN: serviceDn,
    LDAP_BIND_PASSWORD: servicePassword,
    LDAP_BASE_DN: baseDn,
    LDAP_USER_FILTER: '(objectClass=inetOrgPerson)',
    LDAP_DOMAINS: 'EXAMPLE,example.org',
    LDAP_PORTAL_GROUP: portalGroupDn,
    LDAP_ENROL_GROUP: enrolGroupDn,
  };
}
