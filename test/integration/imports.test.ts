import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Context } from '../../src/core/context.ts';
import { encodeBase32, generateOtpSecret, hotp, totp } from '../../src/core/otp.ts';
import { accountOf, accountPassword, createAppUser, enrolledUser } from '../helpers/account.ts';
import {
  browserAgent,
  changeSettings,
  createTestPortal,
  createUser,
  signIn,
  type TestPortal,
} from '../helpers/app.ts';
import { cliContext } from '../helpers/context.ts';
import { post } from '../helpers/two-step.ts';

/*
 * Issue 13 point 3, SPEC A2, M4: users and OATH tokens imported from files, previewed before
 * anything is saved, saved with an audit record naming who imported them; a user then
 * associates an imported token by its serial and a code it shows.
 */

const fixturePath = (name: string) => join(import.meta.dirname, '../fixtures/import', name);
const fixture = (name: string) => readFileSync(fixturePath(name), 'utf8');
const rfcSecret = Buffer.from('12345678901234567890');

let portal: TestPortal;
beforeEach(async () => {
  portal = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '1000', RATE_LIMIT_CODES_MAX: '1000' });
});
afterEach(async () => {
  await portal.close();
});

const administration = () => portal.services.mfa.administration;

async function adminWith(username: string, grants: [string, string | null][]): Promise<Context> {
  await createAppUser(portal.services, username, accountPassword);
  const user = await portal.services.users.findByUsername(username);
  if (!user) throw new Error('no user');
  for (const [permission, group] of grants) {
    await administration().grant(cliContext, { userId: user.id, permission, group });
  }
  return { actor: { kind: 'admin', adminId: user.id }, clientIp: '192.0.2.7', language: 'en' };
}

/** A seed file with one time-based token whose secret the test knows. */
const seedFile = (serial: string, secret: Buffer) =>
  `Serial Number,Secret Key,Type,Digits,Time Interval\r\n${serial},${encodeBase32(secret)},TOTP,6,30\r\n`;

describe('importing users (SPEC A2)', () => {
  it("previews MFA Server's export without saving, then adds the users with their phones, audited", async () => {
    const text = fixture('mfa-server-users.csv');
    const preview = await administration().importUsers(cliContext, { text, apply: false });
    expect(preview).toMatchObject({
      outcome: 'read',
      report: { format: 'mfa-server', applied: false },
    });
    expect(await portal.services.users.findByUsername('contoso\\jsmith')).toBeUndefined();

    const applied = await administration().importUsers(cliContext, { text, apply: true });
    if (applied.outcome !== 'read') throw new Error('unreadable');
    expect(applied.report.lines.map((l) => [l.line, l.action])).toEqual([
      [2, 'add'],
      [3, 'add'],
      [4, 'add'],
      [5, 'add'],
      [6, 'refuse'],
      [7, 'refuse'],
    ]);
    expect(await accountOf(portal.services, 'contoso\\jsmith')).toMatchObject({
      displayName: 'John Smith',
      email: 'jsmith@contoso.com',
      group: 'Sales',
      language: 'en',
      phone: '+14255550100',
      backupPhone: '+14255550199',
      backupExtension: '123',
      methods: ['phone'],
    });
    expect(await portal.services.users.findByUsername('contoso\\premium')).toBeUndefined();
    const events = await administration().auditEvents(cliContext, { type: 'user.created' });
    expect(events.map((e) => [e.username, e.reason]).sort()).toEqual([
      ['contoso\\adevries', 'imported from line 3'],
      ['contoso\\jsmith', 'imported from line 2'],
      ['contoso\\mdupont', 'imported from line 4'],
      ['contoso\\noname', 'imported from line 5'],
    ]);

    // The same file again changes nothing; a new number is an update of that field alone.
    const again = await administration().importUsers(cliContext, { text, apply: false });
    expect(again.outcome === 'read' && again.report.lines.slice(0, 4).map((l) => l.action)).toEqual(
      ['unchanged', 'unchanged', 'unchanged', 'unchanged'],
    );
    const moved = text.replace('"0612345678"', '"0687654321"');
    const update = await administration().importUsers(cliContext, { text: moved, apply: true });
    expect(update.outcome === 'read' && update.report.lines[1]).toMatchObject({
      action: 'update',
      changes: ['phone'],
    });
    expect((await accountOf(portal.services, 'contoso\\adevries')).phone).toBe('+31687654321');
    const [updated] = await administration().auditEvents(cliContext, { type: 'user.updated' });
    expect(updated).toMatchObject({ reason: 'phone, imported from line 3', phone: '+31 ••• 21' });
  });

  it('lets a scoped administrator import only into their groups, recorded as the actor', async () => {
    const sales = await adminWith('sales.admin', [['import-users', 'Sales']]);
    const text = fixture('mfa-server-users.csv');
    const result = await administration().importUsers(sales, { text, apply: true });
    if (result.outcome !== 'read') throw new Error('unreadable');
    expect(result.report.lines.slice(0, 4).map((l) => [l.name, l.action, l.reason])).toEqual([
      ['contoso\\jsmith', 'add', null],
      ['contoso\\adevries', 'refuse', 'outside the groups you may import users into'],
      ['contoso\\mdupont', 'add', null],
      // No group: only a permission for every group reaches such a user.
      ['contoso\\noname', 'refuse', 'outside the groups you may import users into'],
    ]);
    expect(await portal.services.users.findByUsername('contoso\\adevries')).toBeUndefined();
    const [event] = await administration().auditEvents(cliContext, { type: 'user.created' });
    expect(event?.adminId).toBe(sales.actor.kind === 'admin' ? sales.actor.adminId : '');

    // Moving a Sales user into another group is outside the grant too.
    const moving = 'Username,Group\ncontoso\\jsmith,Helpdesk\n';
    const moved = await administration().importUsers(sales, { text: moving, apply: true });
    expect(moved.outcome === 'read' && moved.report.lines[0]?.action).toBe('refuse');
    expect((await accountOf(portal.services, 'contoso\\jsmith')).group).toBe('Sales');
  });

  it('refuses an administrator without "import users", and a file that cannot be read', async () => {
    const viewer = await adminWith('viewer', [
      ['view-users', null],
      ['add-users', null],
    ]);
    await expect(
      administration().importUsers(viewer, { text: 'username\nx\n', apply: false }),
    ).rejects.toMatchObject({ code: 'not-allowed' });
    await expect(
      administration().importTokens(viewer, {
        text: seedFile('T1', generateOtpSecret()),
        apply: true,
      }),
    ).rejects.toMatchObject({ code: 'not-allowed' });
    const broken = await administration().importUsers(cliContext, {
      text: 'username,name\nann,"Ann\n',
      apply: true,
    });
    expect(broken).toEqual({
      outcome: 'unreadable',
      message: 'Line 2: a quoted field is never closed',
    });
  });
});

describe('importing OATH tokens (SPEC M4)', () => {
  it('stores a PBKDF2-encrypted PSKC file sealed and unassigned, and refuses its serial again', async () => {
    const text = fixture('rfc6030-figure7.pskc.xml');
    const wrong = await administration().importTokens(cliContext, {
      text,
      apply: true,
      password: 'azerty',
    });
    expect(wrong.outcome).toBe('unreadable');
    const imported = await administration().importTokens(cliContext, {
      text,
      apply: true,
      password: 'qwerty',
    });
    expect(imported).toMatchObject({
      outcome: 'read',
      report: { format: 'pskc', applied: true, lines: [{ name: '987654321', action: 'add' }] },
    });
    const row = await portal.services.database.db
      .selectFrom('imported_tokens')
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ serial: '987654321', otp_type: 'hotp', digits: 8, counter: 0 });
    expect(row.secret).toMatch(/^v1\./);
    expect(row.secret).not.toContain(rfcSecret.toString('base64url'));
    const [event] = await administration().auditEvents(cliContext, { type: 'token.imported' });
    expect(event).toMatchObject({ device: '987654321', userId: null });

    const again = await administration().importTokens(cliContext, {
      text,
      apply: true,
      password: 'qwerty',
    });
    expect(again.outcome === 'read' && again.report.lines[0]).toMatchObject({
      action: 'refuse',
      reason: 'serial number imported already, or in use',
    });
  });

  it('opens a file encrypted with a pre-shared key (RFC 6030 Figure 6), previewing first', async () => {
    const key = Buffer.from('12345678901234567890123456789012', 'hex');
    const text = fixture('rfc6030-figure6.pskc.xml');
    const preview = await administration().importTokens(cliContext, { text, apply: false, key });
    expect(preview.outcome === 'read' && preview.report.lines[0]?.action).toBe('add');
    expect(
      await portal.services.database.db.selectFrom('imported_tokens').selectAll().execute(),
    ).toEqual([]);
  });
});

describe('associating an imported token on My account (SPEC M4, M8)', () => {
  it('takes the serial and a current code, counting each wrong try; the token becomes the user’s', async () => {
    const secret = generateOtpSecret();
    await administration().importTokens(cliContext, {
      text: seedFile('HW-1001', secret),
      apply: true,
    });
    const { agent, user } = await enrolledUser(portal);
    const tokenPage = await agent.get('/account/token').expect(200);
    expect(tokenPage.text).toContain('href="/account/token/imported"');
    const page = await agent.get('/account/token/imported').expect(200);
    expect(page.text).toContain('autocomplete="one-time-code"');

    const at = Date.now();
    const code = totp(secret, at, { algorithm: 'SHA1', digits: 6, period: 30 });
    const wrongCode = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const wrong = await post(agent, '/account/token/imported', page.text, {
      serial: 'hw-1001',
      code: wrongCode,
    });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('The serial number or the code is not correct');
    expect(wrong.text).toContain('value="hw-1001"');
    const unknown = await post(agent, '/account/token/imported', page.text, {
      serial: 'HW-9999',
      code,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('The serial number or the code is not correct');
    expect((await portal.services.users.findById(user.id))?.failed_count).toBe(2);
    const failures = await administration().auditEvents(cliContext, {
      userId: user.id,
      type: 'token.associate',
    });
    expect(failures.map((e) => e.result)).toEqual(['failure', 'failure']);
    // Input that cannot be checked is not a try.
    await post(agent, '/account/token/imported', page.text, { serial: '', code: '12' }).expect(400);
    expect((await portal.services.users.findById(user.id))?.failed_count).toBe(2);

    const added = await post(agent, '/account/token/imported', page.text, {
      serial: 'hw-1001',
      code,
    });
    expect(added.status).toBe(303);
    expect(added.headers.location).toBe('/account?done=tokenAdded');
    const account = await accountOf(portal.services, 'lotte');
    expect(account.devices.filter((d) => d.kind === 'token')).toMatchObject([
      { serial: 'HW-1001', otpType: 'totp', digits: 6, period: 30 },
    ]);
    expect(
      await portal.services.database.db.selectFrom('imported_tokens').selectAll().execute(),
    ).toEqual([]);
    const [event] = await administration().auditEvents(cliContext, {
      userId: user.id,
      type: 'token.added',
    });
    expect(event).toMatchObject({ device: 'HW-1001', reason: 'imported token' });

    // The code that proved it is spent (S6).
    const stored = (await portal.services.devices.forUser(user.id)).find((d) => d.kind === 'token');
    expect(stored?.last_step).toBe(Math.floor(at / 30_000));
  });

  it('gives a claimed token to no second user, and an HOTP token starts at its counter', async () => {
    await administration().importTokens(cliContext, {
      text: fixture('rfc6030-figure7.pskc.xml'),
      apply: true,
      password: 'qwerty',
    });
    const { agent, user } = await enrolledUser(portal);
    const page = await agent.get('/account/token/imported').expect(200);
    const code = hotp(rfcSecret, 2, { algorithm: 'SHA1', digits: 8 });
    await post(agent, '/account/token/imported', page.text, { serial: '987654321', code }).expect(
      303,
    );
    const stored = (await portal.services.devices.forUser(user.id)).find((d) => d.kind === 'token');
    expect(stored).toMatchObject({ serial: '987654321', counter: 3, digits: 8 });

    const other = await enrolledUser(portal, 'bram');
    const otherPage = await other.agent.get('/account/token/imported').expect(200);
    const next = hotp(rfcSecret, 3, { algorithm: 'SHA1', digits: 8 });
    await post(other.agent, '/account/token/imported', otherPage.text, {
      serial: '987654321',
      code: next,
    }).expect(400);
    expect((await accountOf(portal.services, 'bram')).devices.some((d) => d.kind === 'token')).toBe(
      false,
    );
  });

  it('locks the account after the lockout threshold of wrong tries', async () => {
    await administration().importTokens(cliContext, {
      text: seedFile('HW-2002', generateOtpSecret()),
      apply: true,
    });
    const { agent } = await enrolledUser(portal);
    const page = await agent.get('/account/token/imported').expect(200);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const response = await post(agent, '/account/token/imported', page.text, {
        serial: 'HW-2002',
        code: '000000',
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 403, 403]);
  });
});

describe('an imported token in User Setup (SPEC J2, M4)', () => {
  it('sets the token up by its serial and a code, and saves it with the setup', async () => {
    const secret = generateOtpSecret();
    await administration().importTokens(cliContext, {
      text: seedFile('HW-3003', secret),
      apply: true,
    });
    await changeSettings(portal.services, { useSecurityQuestions: false });
    await createUser(portal, 'noor', accountPassword);
    const agent = browserAgent(portal);
    expect((await signIn(agent, 'noor', accountPassword)).headers.location).toBe('/setup');
    const tokenPage = await agent.get('/setup/token').expect(200);
    expect(tokenPage.text).toContain('href="/setup/token/imported"');
    const page = await agent.get('/setup/token/imported').expect(200);
    expect(page.text).toContain('action="/setup/token/imported"');
    await post(agent, '/setup/token/imported', page.text, {
      serial: 'HW-3003',
      code: '000000',
    }).expect(400);
    const code = totp(secret, Date.now(), { algorithm: 'SHA1', digits: 6, period: 30 });
    const done = await post(agent, '/setup/token/imported', page.text, { serial: 'HW-3003', code });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/account?enrolled');
    const account = await accountOf(portal.services, 'noor');
    expect(account.methods).toEqual(['token']);
    expect(account.devices[0]).toMatchObject({ kind: 'token', serial: 'HW-3003' });
    expect(
      await portal.services.database.db.selectFrom('imported_tokens').selectAll().execute(),
    ).toEqual([]);
  });
});
