import type { Entry } from 'ldapts';
import { describe, expect, it } from 'vitest';
import {
  accountUnusable,
  allValues,
  escapeFilterValue,
} from '../../src/providers/directory/ldap.ts';
import { groupNameOfDn } from '../../src/config/directory.ts';
import { loadConfig, projectRoot } from '../../src/config/index.ts';
import { directoryNameOf } from '../../src/core/directory-names.ts';

/**
 * What slapd cannot show: Active Directory hands out a large attribute in ranges of 1,500
 * values (`member;range=0-1499`, then `member;range=1500-*`). The reads here answer as AD does,
 * from a list; test/integration/ldap-directory.test.ts reads a group of 1,600 from slapd whole.
 */
function rangedDirectory(members: string[], pageSize = 1500) {
  const requests: string[] = [];
  const read = (attribute: string): Promise<Entry | undefined> => {
    requests.push(attribute);
    const start = Number(/;range=(\d+)-\*$/.exec(attribute)?.[1] ?? 0);
    const end = Math.min(start + pageSize, members.length);
    const last = end >= members.length;
    if (start === 0 && last) return Promise.resolve({ dn: 'cn=g', member: members });
    const name = `member;range=${String(start)}-${last ? '*' : String(end - 1)}`;
    return Promise.resolve({ dn: 'cn=g', [name]: members.slice(start, end) });
  };
  return { read, requests };
}

describe('range retrieval (AD MaxValRange)', () => {
  it('asks for the next range until the one ending in *', async () => {
    const members = Array.from({ length: 4000 }, (_, i) => `uid=u${String(i)}`);
    const { read, requests } = rangedDirectory(members);
    expect(await allValues(read, 'member')).toEqual(members);
    expect(requests).toEqual(['member', 'member;range=1500-*', 'member;range=3000-*']);
  });

  it('takes an attribute returned whole, and an empty one', async () => {
    const { read, requests } = rangedDirectory(['uid=a', 'uid=b']);
    expect(await allValues(read, 'member')).toEqual(['uid=a', 'uid=b']);
    expect(requests).toEqual(['member']);
    expect(await allValues(() => Promise.resolve({ dn: 'cn=g' }), 'member')).toEqual([]);
  });
});

describe('what a user types', () => {
  it('escapes every character that would change a filter (RFC 4515)', () => {
    expect(escapeFilterValue('a*b(c)d\\e\0f')).toBe('a\\2ab\\28c\\29d\\5ce\\00f');
  });

  it('reads DOMAIN\\user and user@domain only for the accepted domains', () => {
    const domains = ['CONTOSO', 'contoso.com'];
    expect(directoryNameOf('CONTOSO\\jan', 'name', domains)).toBe('jan');
    expect(directoryNameOf('jan@contoso.com', 'name', domains)).toBe('jan');
    expect(directoryNameOf('EVIL\\jan', 'name', domains)).toBeUndefined();
    expect(directoryNameOf('jan@evil.example', 'name', domains)).toBeUndefined();
    expect(directoryNameOf('jan', 'upn', domains)).toBe('jan@contoso.com');
    expect(directoryNameOf('CONTOSO\\', 'name', domains)).toBeUndefined();
  });

  it('names a user group by the first value of its DN, escapes read', () => {
    expect(groupNameOfDn('cn=Sales,ou=Groups,dc=contoso,dc=com')).toBe('Sales');
    expect(groupNameOfDn('CN = Sales\\, Europe ,OU=Groups')).toBe('Sales, Europe');
    expect(groupNameOfDn('Sales')).toBeUndefined();
    expect(groupNameOfDn(`cn=${'x'.repeat(65)},dc=com`)).toBeUndefined();
    expect(() =>
      loadConfig({ rootDir: projectRoot, env: { LDAP_USER_GROUPS: 'Sales;Support' } }),
    ).toThrow(/LDAP_USER_GROUPS/);
    expect(
      loadConfig({ rootDir: projectRoot, env: { LDAP_USER_GROUPS: 'cn=a,dc=x; cn=b,dc=x;' } })
        .LDAP_USER_GROUPS,
    ).toEqual(['cn=a,dc=x', 'cn=b,dc=x']);
  });

  it('reads AD account state: disabled, locked, password expired, account expired', () => {
    const entry = (fields: Record<string, string>): Entry => ({ dn: 'cn=x', ...fields });
    expect(accountUnusable(entry({ userAccountControl: '512' }))).toBe(false);
    expect(accountUnusable(entry({ userAccountControl: '514' }))).toBe(true);
    expect(accountUnusable(entry({ 'msDS-User-Account-Control-Computed': '16' }))).toBe(true);
    expect(accountUnusable(entry({ 'msDS-User-Account-Control-Computed': '8388608' }))).toBe(true);
    expect(accountUnusable(entry({ accountExpires: '9223372036854775807' }))).toBe(false);
    // 2020-01-01 as a Windows FILETIME, and the same a day after now.
    expect(accountUnusable(entry({ accountExpires: '132223104000000000' }))).toBe(true);
    const tomorrow = (
      BigInt(Date.now() + 86_400_000) * 10_000n +
      116_444_736_000_000_000n
    ).toString();
    expect(accountUnusable(entry({ accountExpires: tomorrow }))).toBe(false);
  });
});
