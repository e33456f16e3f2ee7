import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createServices } from '../../src/services.ts';
import { accountOf } from '../helpers/account.ts';
import { cli, installationEnv } from '../helpers/cli.ts';

/* Issue 13 point 3, SPEC O3: the import commands as an operator runs them. */

const fixturePath = (name: string) => join(import.meta.dirname, '../fixtures/import', name);

describe('import-users and import-tokens on the command line (SPEC O3)', () => {
  it(
    'prints a dry run, saves with --apply, and reads a PSKC password from standard input',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mfa-import-cli-'));
      const databaseUrl = `sqlite:${join(dir, 'mfa.sqlite')}`;
      const users = fixturePath('users-semicolon.csv');
      const dry = await cli(['import-users', users], databaseUrl);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toBe(
        [
          'line    2  add        els  (displayName, email, group, mobilePhone, phone)',
          'line    3  add        bart (displayName, email, mobilePhone)',
          'Dry run (csv): 2 to add, 0 to update, 0 unchanged, 0 refused. Nothing is saved; run again with --apply to save.',
          '',
        ].join('\n'),
      );
      const saved = await cli(['import-users', users, '--apply'], databaseUrl);
      expect(saved.stdout).toContain('Saved (csv): 2 added, 0 updated, 0 unchanged, 0 refused.');

      const tokens = fixturePath('rfc6030-figure7.pskc.xml');
      const refused = await cli(['import-tokens', tokens], databaseUrl);
      expect(refused).toMatchObject({
        code: 1,
        stderr: 'This file is encrypted with a password\n',
      });
      const imported = await cli(
        ['import-tokens', tokens, '--password', '-', '--apply'],
        databaseUrl,
        'qwerty\n',
      );
      expect(imported.stdout).toContain('line    1  add        987654321');
      const badKey = await cli(['import-tokens', tokens, '--key', 'xyz'], databaseUrl);
      expect(badKey.code).toBe(2);

      const broken = join(dir, 'broken.csv');
      writeFileSync(broken, 'username,name\r\nann,"Ann\r\n');
      expect(await cli(['import-users', broken], databaseUrl)).toMatchObject({
        code: 1,
        stderr: 'Line 2: a quoted field is never closed\n',
      });

      const services = await createServices(
        loadConfig({ env: { ...installationEnv(databaseUrl), LOG_LEVEL: 'silent' } }),
      );
      try {
        expect(await accountOf(services, 'els')).toMatchObject({
          phone: '+31201234567',
          mobilePhone: '+31612345679',
          group: 'Finance',
        });
        const rows = await services.database.db
          .selectFrom('imported_tokens')
          .select('serial')
          .execute();
        expect(rows).toEqual([{ serial: '987654321' }]);
      } finally {
        await services.close();
      }
    },
  );
});
