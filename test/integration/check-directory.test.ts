import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import {
  freeradiusMissing,
  radiusSecret,
  startFreeRadius,
  type FreeRadius,
} from '../helpers/freeradius.ts';
import { needs } from '../helpers/services.ts';
import {
  baseDn,
  bigGroupDn,
  serviceDn,
  servicePassword,
  slapdMissing,
  startSlapd,
  type Slapd,
} from '../helpers/slapd.ts';

/**
 * `check-config` (SPEC O3) with a directory: the bind password and the RADIUS secret are never
 * printed, and the directory is reached as the portal would reach it, with a line that says
 * what is wrong when it cannot be.
 */
const skipLdap = await needs('slapd', slapdMissing);
const skipRadius = await needs('FreeRADIUS', freeradiusMissing);

const database = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'mfa-check-')), 'mfa.sqlite')}`;

describe.skipIf(skipLdap)('check-config with LDAP', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd();
  });
  afterAll(async () => {
    await slapd.close();
  });
  const ldap = (overrides: Record<string, string> = {}) => ({
    PRIMARY_AUTHENTICATION: 'ldap',
    LDAP_URL: slapd.ldapsUrl,
    LDAP_CA_FILE: slapd.caFile,
    LDAP_BIND_DN: serviceDn,
    LDAP_BIND_PASSWORD: servicePassword,
    LDAP_BASE_DN: baseDn,
    LDAP_PORTAL_GROUP: bigGroupDn,
    ...overrides,
  });

  it('binds as the service account, reads the base DN and counts the members of a group of 1,600, without printing the bind password', async () => {
    const result = await cli(['check-config'], database(), '', ldap());
    expect(result.stdout).toContain('LDAP_BIND_PASSWORD');
    expect(result.stdout).not.toContain(servicePassword);
    expect(result.stdout).toMatch(
      /ok {3}LDAP directory: .*service account bound, base DN read; LDAP_PORTAL_GROUP 1600 direct members/,
    );
    expect(result.code).toBe(0);
  });

  it('fails with the reason: a certificate without the CA, a wrong bind password', async () => {
    const noCa = await cli(['check-config'], database(), '', ldap({ LDAP_CA_FILE: '' }));
    expect(noCa.code).toBe(1);
    expect(noCa.stdout).toMatch(
      /FAIL LDAP directory: [^\n]*\n[^]*LDAP directory: .*certificate does not verify/,
    );
    const wrong = await cli(
      ['check-config'],
      database(),
      '',
      ldap({ LDAP_BIND_PASSWORD: 'wrong one' }),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/LDAP directory: .*service account.s bind was refused/);
    expect(wrong.stdout).not.toContain('wrong one');
  });
});

describe.skipIf(skipRadius)('check-config with RADIUS', () => {
  let radius: FreeRadius;
  beforeAll(async () => {
    radius = await startFreeRadius();
  });
  afterAll(async () => {
    await radius.close();
  });

  it('asks the server, and never prints the shared secret; a wrong secret fails', async () => {
    const env = {
      PRIMARY_AUTHENTICATION: 'radius',
      RADIUS_SERVERS: `127.0.0.1:${String(radius.port)}`,
      RADIUS_SECRET: radiusSecret,
      RADIUS_TIMEOUT_SECONDS: '1',
      RADIUS_RETRIES: '0',
    };
    const right = await cli(['check-config'], database(), '', env);
    expect(right.stdout).toMatch(/ok {3}RADIUS: .*answers, with the shared secret/);
    expect(right.stdout).not.toContain(radiusSecret);
    expect(right.code).toBe(0);
    const wrong = await cli(['check-config'], database(), '', {
      ...env,
      RADIUS_SECRET: 'another secret entirely',
    });
    expect(wrong.stdout).toMatch(/FAIL RADIUS: /);
    expect(wrong.code).toBe(1);
  });
});
