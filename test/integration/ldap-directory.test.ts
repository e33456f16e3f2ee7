import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryUnavailableError } from '../../src/providers/directory/errors.ts';
import { createLdapDirectory, type LdapOptions } from '../../src/providers/directory/ldap.ts';
import { freePort } from '../helpers/outages.ts';
import { needs } from '../helpers/services.ts';
import {
  baseDn,
  bigGroupDn,
  bigGroupSize,
  dnOf,
  enrolGroupDn,
  portalGroupDn,
  serviceDn,
  servicePassword,
  slapdMissing,
  startSlapd,
  type Slapd,
} from '../helpers/slapd.ts';

/**
 * SPEC D1 against a real OpenLDAP slapd (test/helpers/slapd.ts): the service account's search,
 * the user's bind, the account state and groups as AD keeps them, TLS both ways, failover,
 * referrals, and what an attacker types into the username.
 */
const skip = await needs('slapd', slapdMissing);

let slapd: Slapd;
let ca: Buffer;
beforeAll(async () => {
  if (skip) return;
  slapd = await startSlapd();
  ca = readFileSync(slapd.caFile);
});
afterAll(async () => {
  if (!skip) await slapd.close();
});

function options(overrides: Partial<LdapOptions> = {}): LdapOptions {
  return {
    urls: [slapd.plainUrl],
    startTls: false,
    ca: undefined,
    timeoutMs: 2000,
    bindDn: serviceDn,
    bindPassword: servicePassword,
    baseDn,
    usernameAttribute: 'sAMAccountName',
    userFilter: '(objectClass=inetOrgPerson)',
    domains: ['EXAMPLE', 'example.org'],
    portalGroup: portalGroupDn,
    enrolGroup: enrolGroupDn,
    userGroups: [],
    attributes: {
      displayName: 'displayName',
      email: 'mail',
      phone: 'telephoneNumber',
      mobile: 'mobile',
    },
    poolSize: 2,
    followReferrals: false,
    ...overrides,
  };
}

async function withDirectory<T>(
  overrides: Partial<LdapOptions>,
  work: (directory: ReturnType<typeof createLdapDirectory>) => Promise<T>,
): Promise<T> {
  const directory = createLdapDirectory(options(overrides));
  try {
    return await work(directory);
  } finally {
    await directory.close();
  }
}

describe.skipIf(skip)('LDAP directory on slapd (SPEC D1)', () => {
  it('finds a user by sAMAccountName, as DOMAIN\\user and as user@domain, with their names, email, phones and groups', async () => {
    await withDirectory({}, async (directory) => {
      for (const typed of [
        'jdoe',
        'JDoe',
        'EXAMPLE\\jdoe',
        'example\\jdoe',
        'jdoe@example.org',
        '  jdoe ',
      ]) {
        const person = await directory.find(typed);
        expect(person, typed).toMatchObject({
          dn: dnOf('jdoe'),
          username: 'jdoe',
          displayName: 'Jane Doe',
          email: 'jane.doe@example.org',
          phone: '+31 20 123 4567',
          mobile: '+31 6 12345678',
          refused: false,
          mayEnrol: true,
        });
      }
      // Another domain's user of the same name is not this one.
      expect(await directory.find('OTHER\\jdoe')).toBeUndefined();
      expect(await directory.find('jdoe@other.example')).toBeUndefined();
      expect(await directory.find('nobody')).toBeUndefined();
    });
  });

  it('gives each user the portal group of the first user group they belong to, nested too, at sign-in and in the list', async () => {
    const userGroups = [bigGroupDn, enrolGroupDn, portalGroupDn];
    const expected = { jdoe: 'enrolment', nested: 'enrolment', noenrol: 'portal-users' };
    await withDirectory({ userGroups }, async (directory) => {
      for (const [uid, group] of Object.entries(expected)) {
        expect((await directory.find(uid))?.group, uid).toBe(group);
      }
      expect((await directory.find('outsider'))?.group).toBeNull();
      const listed = new Map((await directory.listPeople()).map((p) => [p.username, p.group]));
      for (const [uid, group] of Object.entries(expected)) expect(listed.get(uid), uid).toBe(group);
    });
    // Without user groups the directory gives none: the console's group stays.
    await withDirectory({}, async (directory) => {
      expect((await directory.find('jdoe'))?.group).toBeUndefined();
    });
  });

  it('finds by userPrincipalName (a bare name gets the DNS domain) and by uid', async () => {
    await withDirectory({ usernameAttribute: 'userPrincipalName' }, async (directory) => {
      expect((await directory.find('jdoe@example.org'))?.username).toBe('jdoe@example.org');
      expect((await directory.find('jdoe'))?.username).toBe('jdoe@example.org');
      expect((await directory.find('EXAMPLE\\jdoe'))?.username).toBe('jdoe@example.org');
    });
    await withDirectory({ usernameAttribute: 'uid' }, async (directory) => {
      expect((await directory.find('jdoe'))?.dn).toBe(dnOf('jdoe'));
    });
  });

  it('treats LDAP filter syntax in the username as plain characters (no injection)', async () => {
    await withDirectory({}, async (directory) => {
      for (const typed of [
        '*',
        'j*',
        'jdoe)(sAMAccountName=*',
        '*)(|(objectClass=*',
        'jdoe\\2a',
        'jdoe\0',
      ]) {
        expect(await directory.find(typed), typed).toBeUndefined();
      }
    });
  });

  it('binds as the user: the right password only, and never an empty one (which slapd, like AD, would take as an anonymous bind)', async () => {
    await withDirectory({}, async (directory) => {
      expect(await directory.authenticate(dnOf('jdoe'), 'Correct horse 1')).toBe(true);
      expect(await directory.authenticate(dnOf('jdoe'), 'correct horse 1')).toBe(false);
      expect(await directory.authenticate(dnOf('jdoe'), '')).toBe(false);
      // A wrong password does not spoil the connection for the next bind, nor the searches.
      expect(await directory.authenticate(dnOf('jdoe'), 'Correct horse 1')).toBe(true);
      expect((await directory.find('jdoe'))?.username).toBe('jdoe');
      await directory.spend('Correct horse 1');
    });
  });

  it('refuses disabled, expired and locked accounts and users outside the portal group, alike; nested groups count', async () => {
    await withDirectory({}, async (directory) => {
      for (const uid of ['disabled', 'expired', 'locked', 'outsider']) {
        expect((await directory.find(uid))?.refused, uid).toBe(true);
      }
      expect(await directory.find('nested')).toMatchObject({ refused: false, mayEnrol: true });
      expect(await directory.find('noenrol')).toMatchObject({ refused: false, mayEnrol: false });
    });
    // Without groups configured, everyone the search finds may use the portal and enrol.
    await withDirectory({ portalGroup: '', enrolGroup: '' }, async (directory) => {
      expect(await directory.find('outsider')).toMatchObject({ refused: false, mayEnrol: true });
    });
  });

  it('follows a referral into another naming context only when told to', async () => {
    await withDirectory({}, async (directory) => {
      expect(await directory.find('partner')).toBeUndefined();
    });
    await withDirectory({ followReferrals: true }, async (directory) => {
      expect((await directory.find('partner'))?.dn).toBe(dnOf('partner'));
    });
  });

  it('reads every member of a group of more than 1,500', async () => {
    await withDirectory({}, async (directory) => {
      const members = await directory.groupMembers(bigGroupDn);
      expect(members).toHaveLength(bigGroupSize);
      expect(new Set(members).size).toBe(bigGroupSize);
    });
  });

  it('speaks StartTLS and LDAPS with the configured CA', async () => {
    const plainHost = slapd.plainUrl.replace('127.0.0.1', 'localhost');
    await withDirectory({ urls: [plainHost], startTls: true, ca }, async (directory) => {
      expect((await directory.find('jdoe'))?.username).toBe('jdoe');
      expect(await directory.authenticate(dnOf('jdoe'), 'Correct horse 1')).toBe(true);
    });
    await withDirectory({ urls: [slapd.ldapsUrl], ca }, async (directory) => {
      expect((await directory.find('jdoe'))?.username).toBe('jdoe');
    });
  });

  it('says clearly that a certificate does not verify: unknown CA, or a name it is not for', async () => {
    await withDirectory({ urls: [slapd.ldapsUrl] }, async (directory) => {
      const error = await directory.find('jdoe').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DirectoryUnavailableError);
      expect(String(error)).toMatch(/certificate does not verify .*LDAP_CA_FILE/);
    });
    await withDirectory({ urls: [slapd.ldapsByAddressUrl], ca }, async (directory) => {
      const error = await directory.find('jdoe').catch((e: unknown) => e);
      expect(String(error)).toMatch(/certificate does not verify \(ERR_TLS_CERT_ALTNAME_INVALID/);
    });
    // StartTLS on a name the certificate does not have: refused before the password is sent.
    await withDirectory({ startTls: true, ca }, async (directory) => {
      const error = await directory
        .authenticate(dnOf('jdoe'), 'Correct horse 1')
        .catch((e: unknown) => e);
      expect(String(error)).toMatch(/certificate does not verify/);
    });
  });

  it('fails over to the next server, and says which servers failed when none answers', async () => {
    const deadPort = await freePort();
    await withDirectory(
      { urls: [`ldap://127.0.0.1:${String(deadPort)}`, slapd.plainUrl] },
      async (directory) => {
        expect((await directory.find('jdoe'))?.username).toBe('jdoe');
        expect(await directory.authenticate(dnOf('jdoe'), 'Correct horse 1')).toBe(true);
      },
    );
    await withDirectory({ urls: [`ldap://127.0.0.1:${String(deadPort)}`] }, async (directory) => {
      const started = Date.now();
      const error = await directory.find('jdoe').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DirectoryUnavailableError);
      expect(String(error)).toContain(`ldap://127.0.0.1:${String(deadPort)}: ECONNREFUSED`);
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });

  it('says so when the service account is refused', async () => {
    await withDirectory({ bindPassword: 'wrong' }, async (directory) => {
      const error = await directory.find('jdoe').catch((e: unknown) => e);
      expect(String(error)).toMatch(/service account's bind was refused.*LDAP_BIND_DN/);
    });
  });
});
