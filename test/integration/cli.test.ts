import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createServices, type Services } from '../../src/services.ts';
import { cli, installationEnv } from '../helpers/cli.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { accountOf, editUser } from '../helpers/account.ts';
import { cliContext, visitorContext } from '../helpers/context.ts';

// Each test starts the command line several times (a Node process each): slow on a busy machine.
describe('mfa-portal command line (SPEC O3)', { timeout: 120_000 }, () => {
  const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'mfa-cli-')), 'mfa.sqlite')}`;

  it('migrates an empty database', async () => {
    const result = await cli(['migrate'], databaseUrl);
    expect(result).toMatchObject({ code: 0, stdout: 'The database schema is up to date.\n' });
  });

  it('creates an admin and a user with the password from the first line of stdin', async () => {
    const admin = await cli(
      ['create-admin', '--username', 'Root.Admin'],
      databaseUrl,
      'first secret pass\nignored\n',
    );
    expect(admin).toMatchObject({ code: 0, stdout: 'Administrator root.admin created.\n' });
    const user = await cli(
      [
        'create-user',
        '--username',
        'els',
        '--display-name',
        'Els de Vries',
        '--email',
        'els@example.org',
      ],
      databaseUrl,
      'second secret pass',
    );
    expect(user).toMatchObject({ code: 0, stdout: 'User els created.\n' });

    const services = await createServices(
      loadConfig({ env: { ...installationEnv(databaseUrl), LOG_LEVEL: 'silent' } }),
    );
    try {
      // Neither has a second step yet: a right password leads to User Setup.
      const signIn = (username: string, password: string) =>
        services.mfa.signIn.signIn(visitorContext, { username, password });
      expect((await signIn('root.admin', 'first secret pass')).next).toBe('enrol');
      expect(await accountOf(services, 'els')).toMatchObject({
        role: 'user',
        displayName: 'Els de Vries',
        email: 'els@example.org',
      });
      // The password as stored: an Argon2id hash, which no interface call shows.
      const els = await services.users.findByUsername('els');
      expect(els?.password_hash).toMatch(/^\$argon2id\$/);
      expect((await signIn('els', 'second secret pass')).next).toBe('enrol');
      expect((await signIn('els', 'not the password')).next).toBe('refused');
    } finally {
      await services.close();
    }
  });

  it.each([
    [
      ['create-admin', '--username', 'root.admin'],
      'another password',
      /User root\.admin already exists/,
    ],
    [['create-user'], 'a password here', /create-user needs --username NAME/],
    [['create-user', '--username', 'short'], 'short', /at least 8 characters/],
    [
      ['create-user', '--username', 'x', '--colour', 'red'],
      'a password here',
      /Unknown option '--colour'/,
    ],
    [
      ['create-user', '--username', 'two words'],
      'a password here',
      /A username has 1 to 256 characters, without spaces/,
    ],
    [
      ['create-user', '--username', 'sam', '--email', 'sam at example'],
      'a password here',
      /sam at example is not an email address/,
    ],
    [
      ['create-user', '--username', 'sam', '--display-name', 'Sam\u0007'],
      'a password here',
      /A display name has at most 200 characters/,
    ],
    [['frobnicate'], '', /Unknown command "frobnicate"/],
  ])('refuses %j with a clear message and exit code 2', async (args, stdin, message) => {
    const result = await cli(args, databaseUrl, stdin);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe('mfa-portal settings (SPEC §5)', { timeout: 120_000 }, () => {
  const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'mfa-cli-settings-')), 'mfa.sqlite')}`;

  it('lists the defaults, changes a setting, and the portal reads the change', async () => {
    const before = await cli(['settings', 'list'], databaseUrl);
    expect(before.code).toBe(0);
    expect(before.stdout).toContain('deviceLimit = 2\n');
    expect(before.stdout).toContain('allowedMethods = phone,sms,app,token\n');

    const set = await cli(['settings', 'set', 'deviceLimit', '4'], databaseUrl);
    expect(set).toMatchObject({ code: 0, stdout: 'deviceLimit = 4\n' });
    const after = await cli(['settings', 'list'], databaseUrl);
    expect(after.stdout).toContain('deviceLimit = 4\n');

    const services = await createServices(
      loadConfig({ env: { ...installationEnv(databaseUrl), LOG_LEVEL: 'silent' } }),
    );
    try {
      expect((await services.mfa.signIn.settings(cliContext)).deviceLimit).toBe(4);
    } finally {
      await services.close();
    }
  });

  it.each([
    [['settings', 'set', 'deviceLimit', '99'], /deviceLimit must be a whole number from 1 to 10/],
    [['settings', 'set', 'colour', 'red'], /Unknown setting "colour"/],
    [['settings', 'set', 'deviceLimit'], /Usage: settings set KEY VALUE/],
    [['settings', 'frob'], /settings needs "list" or "set KEY VALUE"/],
  ])('refuses %j, changing nothing', async (args, message) => {
    const result = await cli(args, databaseUrl);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect((await cli(['settings', 'list'], databaseUrl)).stdout).toContain('deviceLimit = 4\n');
  });
});

describe('mfa-portal bypass (SPEC M7)', { timeout: 120_000 }, () => {
  const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'mfa-cli-bypass-')), 'mfa.sqlite')}`;

  it('issues a one-time bypass with a reason, and refuses what it cannot do', async () => {
    await cli(['create-user', '--username', 'noor'], databaseUrl, 'a long enough password');
    const ok = await cli(
      ['bypass', '--username', 'noor', '--seconds', '120', '--reason', 'phone broken'],
      databaseUrl,
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^noor may sign in without the second step once until \d{4}-/);

    for (const [args, message] of [
      [['bypass', '--username', 'noor'], /needs --reason/],
      [['bypass', '--username', 'ghost', '--reason', 'x'], /No user ghost/],
      [
        ['bypass', '--username', 'noor', '--seconds', 'soon', '--reason', 'x'],
        /--seconds must be a whole number/,
      ],
    ] as const) {
      const refused = await cli([...args], databaseUrl);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(message);
    }

    const services = await createServices(
      loadConfig({ env: { ...installationEnv(databaseUrl), LOG_LEVEL: 'silent' } }),
    );
    try {
      const { id: userId } = await accountOf(services, 'noor');
      const { bypass } = await services.mfa.account.overview(cliContext, { userId });
      expect(bypass).toMatchObject({ issuedBy: 'cli' });
      const issued = await services.mfa.administration.auditEvents(cliContext, {
        userId,
        type: 'bypass.issued',
      });
      expect(issued).toMatchObject([{ reason: 'phone broken' }]);
      expect((bypass?.expiresAt ?? 0) - (issued[0]?.time ?? 0)).toBe(120_000);
    } finally {
      await services.close();
    }
  });

  it('tells the user by email, in their language, before the command ends', async () => {
    const smtp = await startSmtpServer();
    try {
      await cli(
        ['create-user', '--username', 'sacha', '--email', 'sacha@example.test'],
        databaseUrl,
        'a long enough password',
      );
      const services = await createServices(
        loadConfig({ env: { ...installationEnv(databaseUrl), LOG_LEVEL: 'silent' } }),
      );
      try {
        await editUser(services, (await accountOf(services, 'sacha')).id, { language: 'fr' });
      } finally {
        await services.close();
      }
      const ok = await cli(
        ['bypass', '--username', 'sacha', '--reason', 'lost phone'],
        databaseUrl,
        '',
        smtp.config,
      );
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('A security notice went to sacha@example.test.\n');
      const [mail] = smtp.received;
      expect(mail?.to).toEqual(['sacha@example.test']);
      expect(mail?.subject).toBe(
        'Avis de sécurité\u00a0: la deuxième étape sera ignorée lors de votre prochaine connexion',
      );
      expect(mail?.text).toMatch(/avant le \S+ \d+ \S+ \d{4}/);
    } finally {
      await smtp.close();
    }
  });
});

describe(
  'mfa-portal unlock and reset-password: a lost administrator password',
  { timeout: 120_000 },
  () => {
    const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'mfa-cli-reset-')), 'mfa.sqlite')}`;

    async function withServices<T>(work: (services: Services) => Promise<T>): Promise<T> {
      const services = await createServices(
        loadConfig({ env: { ...installationEnv(databaseUrl), LOG_LEVEL: 'silent' } }),
      );
      try {
        return await work(services);
      } finally {
        await services.close();
      }
    }

    it('gives a locked-out administrator a new password, then ends the lockout, audited', async () => {
      await cli(['create-admin', '--username', 'root'], databaseUrl, 'the forgotten password');
      await withServices(async (services) => {
        const { lockoutThreshold } = await services.settings.read();
        for (let i = 0; i < lockoutThreshold; i++) {
          await services.accounts.signIn('root', `guess ${i}`, visitorContext);
        }
      });

      const reset = await cli(
        ['reset-password', '--username', 'root'],
        databaseUrl,
        'the new password\n',
      );
      expect(reset.stderr).toBe('');
      expect(reset.code).toBe(0);
      expect(reset.stdout).toContain('root has a new password.\n');
      expect(reset.stdout).toMatch(
        /root is still locked until \d{4}-.*mfa-portal unlock --username root/,
      );
      expect(
        await withServices((services) =>
          services.accounts.signIn('root', 'the new password', visitorContext),
        ),
      ).toMatchObject({ next: 'refused' });

      const unlock = await cli(['unlock', '--username', 'root'], databaseUrl);
      expect(unlock).toMatchObject({
        code: 0,
        stdout: 'root is unlocked; the failed attempts are forgotten.\n',
      });
      await withServices(async (services) => {
        expect(
          (await services.accounts.signIn('root', 'the forgotten password', visitorContext)).next,
        ).toBe('refused');
        expect(
          (await services.accounts.signIn('root', 'the new password', visitorContext)).next,
        ).toBe('enrol');
        const audited = await services.database.db
          .selectFrom('audit_events')
          .select(['type', 'reason', 'admin_id', 'username'])
          .where('type', 'in', ['password.reset', 'account.unlocked'])
          .orderBy('occurred_at')
          .execute();
        expect(audited).toEqual([
          { type: 'password.reset', reason: 'by cli', admin_id: null, username: 'root' },
          {
            type: 'account.unlocked',
            reason: 'was locked, by cli',
            admin_id: null,
            username: 'root',
          },
        ]);
      });
      expect((await cli(['unlock', '--username', 'root'], databaseUrl)).stdout).toBe(
        'root was not locked; the failed attempts are forgotten.\n',
      );
    });

    it('tells the user by email that their password was reset', async () => {
      const smtp = await startSmtpServer();
      try {
        await cli(
          ['create-user', '--username', 'mila', '--email', 'mila@example.test'],
          databaseUrl,
          'a long enough password',
        );
        const reset = await cli(
          ['reset-password', '--username', 'mila'],
          databaseUrl,
          'another long password',
          smtp.config,
        );
        expect(reset.code).toBe(0);
        expect(reset.stdout).toContain('A security notice went to mila@example.test.\n');
        expect(smtp.received[0]?.subject).toBe('Security notice: your password was reset');
      } finally {
        await smtp.close();
      }
    });

    it.each([
      [['reset-password', '--username', 'root'], 'short', /at least 8 characters/],
      [['reset-password', '--username', 'ghost'], 'a long enough password', /No user ghost/],
      [['reset-password'], 'a long enough password', /reset-password needs --username NAME/],
      [['unlock', '--username', 'ghost'], '', /No user ghost/],
      [['unlock'], '', /unlock needs --username NAME/],
    ])('refuses %j with exit code 2, changing nothing', async (args, stdin, message) => {
      const result = await cli(args, databaseUrl, stdin);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(
        (
          await withServices((services) =>
            services.accounts.signIn('root', 'the new password', visitorContext),
          )
        ).next,
      ).toBe('enrol');
    });
  },
);

// About fifteen CLI processes each, two or three seconds apiece on a loaded two-core machine.
describe('mfa-portal list-admins, grant and revoke (SPEC A1)', { timeout: 120_000 }, () => {
  const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'mfa-cli-admins-')), 'mfa.sqlite')}`;

  it('lists the administrators, gives and takes back permissions, audited', async () => {
    expect((await cli(['list-admins'], databaseUrl)).stdout).toBe('No administrator exists yet.\n');
    await cli(['create-admin', '--username', 'root'], databaseUrl, 'the root password');
    await cli(['create-user', '--username', 'helga'], databaseUrl, 'the helpdesk password');

    const listed = await cli(['list-admins'], databaseUrl);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe(
      'root: view-users, add-users, edit-users, delete-users, reset-pin, reset-devices, unlock, issue-bypass, import-users, manage-settings, manage-administrators, view-reports\n',
    );

    const scoped = await cli(
      ['grant', '--username', 'Helga', '--permission', 'unlock', '--group', 'Sales'],
      databaseUrl,
    );
    expect(scoped).toMatchObject({ code: 0, stdout: 'helga may now unlock for group Sales.\n' });
    const everyone = await cli(
      ['grant', '--username', 'helga', '--permission', 'view-users'],
      databaseUrl,
    );
    expect(everyone).toMatchObject({
      code: 0,
      stdout: 'helga may now view-users for every group.\n',
    });
    expect((await cli(['list-admins'], databaseUrl)).stdout).toContain(
      'helga: view-users, unlock for group Sales\n',
    );

    const revoked = await cli(
      ['revoke', '--username', 'helga', '--permission', 'unlock', '--group', 'Sales'],
      databaseUrl,
    );
    expect(revoked).toMatchObject({
      code: 0,
      stdout: 'helga no longer has unlock for group Sales.\n',
    });
    const again = await cli(
      ['revoke', '--username', 'helga', '--permission', 'unlock'],
      databaseUrl,
    );
    expect(again).toMatchObject({ code: 0, stdout: 'helga did not have unlock.\n' });
    await cli(['revoke', '--username', 'helga', '--permission', 'view-users'], databaseUrl);
    expect((await cli(['list-admins'], databaseUrl)).stdout).not.toContain('helga');

    const services = await createServices(
      loadConfig({ env: { ...installationEnv(databaseUrl), LOG_LEVEL: 'silent' } }),
    );
    try {
      const audited = await services.database.db
        .selectFrom('audit_events')
        .select(['type', 'reason', 'admin_id'])
        .where('type', 'like', 'admin.%')
        .orderBy('occurred_at')
        .execute();
      expect(audited).toEqual([
        { type: 'admin.granted', reason: 'unlock for group Sales, by cli', admin_id: null },
        { type: 'admin.granted', reason: 'view-users for every group, by cli', admin_id: null },
        { type: 'admin.revoked', reason: 'unlock for group Sales, by cli', admin_id: null },
        { type: 'admin.revoked', reason: 'unlock for all its groups, by cli', admin_id: null },
        { type: 'admin.revoked', reason: 'view-users for all its groups, by cli', admin_id: null },
      ]);
      expect((await services.users.findByUsername('helga'))?.role).toBe('user');
    } finally {
      await services.close();
    }
  });

  it('keeps the last administrator who can manage administrators, and refuses wrong use', async () => {
    const last = await cli(
      ['revoke', '--username', 'root', '--permission', 'manage-administrators'],
      databaseUrl,
    );
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('root is the last administrator who can manage administrators');
    expect((await cli(['list-admins'], databaseUrl)).stdout).toContain('manage-administrators');

    for (const [args, message] of [
      [['grant', '--username', 'helga'], /grant needs --permission, one of: view-users, /],
      [['grant', '--username', 'helga', '--permission', 'fly'], /grant needs --permission/],
      [['revoke', '--permission', 'unlock'], /revoke needs --username NAME/],
      [['grant', '--username', 'nobody', '--permission', 'unlock'], /No user nobody\./],
      [
        ['grant', '--username', 'helga', '--permission', 'unlock', '--group', ' '],
        /--group needs a name/,
      ],
    ] as const) {
      const refused = await cli([...args], databaseUrl);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr).toMatch(message);
    }
  });
});
