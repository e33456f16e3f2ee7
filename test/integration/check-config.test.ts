import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAppUser } from '../helpers/account.ts';
import { createTestPortal } from '../helpers/app.ts';
import { cli } from '../helpers/cli.ts';

/** The lines of check-config's list of values, by key. */
function shownValues(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const match of stdout.matchAll(/^ {2}([A-Z0-9_]+) +=(.*)$/gm)) {
    values.set(match[1] ?? '', (match[2] ?? '').trim());
  }
  return values;
}

describe('mfa-portal check-config (SPEC C1, O3)', () => {
  it('shows each effective value with its source, and passes a configuration that works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfa-check-'));
    const result = await cli(['check-config'], `sqlite:${join(dir, 'mfa.sqlite')}`, '', {
      LOG_FILE_DIRECTORY: join(dir, 'logs'),
      SESSION_SECRET: 'a secret never printed',
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const values = shownValues(result.stdout);
    expect(values.get('DATABASE_URL')).toBe(`sqlite:${join(dir, 'mfa.sqlite')}  [environment]`);
    expect(values.get('SESSION_IDLE_MINUTES')).toBe('20  [config/default.json]');
    expect(values.get('SESSION_SECRET')).toBe('(set, hidden)  [environment]');
    expect(result.stdout).not.toContain('a secret never printed');
    expect(result.stdout).toMatch(/ok {3}encryption key: .*created with the database/);
    expect(result.stdout).toMatch(/ok {3}log folder: /);
    expect(result.stdout).toContain('No errors: the portal can start with this configuration.');
  });

  it('reports every error at once, with passwords masked, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfa-check-'));
    writeFileSync(join(dir, 'not-a-folder'), '');
    const result = await cli(['check-config'], 'postgres://mfa:s3cret@127.0.0.1:1/mfa', '', {
      SESSION_IDLE_MINUTES: 'soon',
      PORT: 'http',
      SMTP_HOST: 'mail.example.org',
      SMTP_PASSWORD: 'hunter2',
      REDIS_URL: 'redis://:redispass@127.0.0.1:1',
      LOG_FILE_DIRECTORY: join(dir, 'not-a-folder'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    });
    expect(result.code).toBe(1);
    for (const expected of [
      'SESSION_IDLE_MINUTES must be a whole number from 1 to 1440 (got "soon")',
      'PORT must be a TCP port number',
      'SMTP_FROM must name the sender when SMTP_HOST is set',
      `log folder: ${join(dir, 'not-a-folder')} is not a folder`,
      'database: cannot be reached',
      'Redis: cannot be reached',
      '6 errors:',
    ]) {
      expect(result.stdout).toContain(expected);
    }
    const values = shownValues(result.stdout);
    expect(values.get('DATABASE_URL')).toBe('postgres://mfa:***@127.0.0.1:1/mfa  [environment]');
    expect(values.get('REDIS_URL')).toBe('redis://:***@127.0.0.1:1  [environment]');
    expect(values.get('SMTP_PASSWORD')).toBe('(set, hidden)  [environment]');
    for (const secret of ['s3cret', 'hunter2', 'redispass']) {
      expect(result.stdout).not.toContain(secret);
    }
  });

  it('tells whether the key opens the seeds in the database', async () => {
    const portal = await createTestPortal();
    try {
      await createAppUser(portal.services, 'jan', 'a long enough password');
      const { DATABASE_URL, ENCRYPTION_KEY } = portal.config;
      const right = await cli(['check-config'], DATABASE_URL, '', { ENCRYPTION_KEY });
      expect(right.code).toBe(0);
      expect(right.stdout).toContain(
        'encryption key: ENCRYPTION_KEY (opens the seeds in the database)',
      );
      expect(right.stdout).toMatch(/ok {3}database: SQLite .*, schema \S+, up to date/);

      const wrong = await cli(['check-config'], DATABASE_URL, '', {
        ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      });
      expect(wrong.code).toBe(1);
      expect(wrong.stdout).toContain(
        'encryption key: the key in ENCRYPTION_KEY does not open the seeds in the database',
      );

      const missing = await cli(['check-config'], DATABASE_URL);
      expect(missing.code).toBe(1);
      expect(missing.stdout).toContain('there is no key at');
    } finally {
      await portal.close();
    }
  });

  it('hides the providers’ secrets and names what a provider is missing (SPEC N1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfa-check-'));
    const result = await cli(['check-config'], `sqlite:${join(dir, 'mfa.sqlite')}`, '', {
      VOICE_PROVIDER: 'twilio',
      SMS_PROVIDER: 'http',
      TWILIO_ACCOUNT_SID: `AC${'a1'.repeat(16)}`,
      TWILIO_AUTH_TOKEN: 'twilio-token-never-shown',
      SMS_HTTP_URL: 'https://sms.example.org/send?user=mfa&password=gatewaypass&to={to}',
      SMS_HTTP_HEADERS: '{"Authorization": "Bearer header-never-shown"}',
      SMS_HTTP_INBOUND_TOKEN: 'inbound-token-never-shown',
      PORTAL_URL: 'http://mfa.example.org',
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('TWILIO_FROM must be set when a provider is twilio');
    expect(result.stdout).toContain(
      'TELEPHONY_CALLBACK_URL (or PORTAL_URL) must be an https:// address for provider callbacks',
    );
    const values = shownValues(result.stdout);
    for (const key of ['TWILIO_AUTH_TOKEN', 'SMS_HTTP_HEADERS', 'SMS_HTTP_INBOUND_TOKEN']) {
      expect(values.get(key)).toBe('(set, hidden)  [environment]');
    }
    expect(values.get('SMS_HTTP_URL')).toBe(
      'https://sms.example.org/send?user=mfa&password=***&to={to}  [environment]',
    );
    for (const secret of ['never-shown', 'gatewaypass']) {
      expect(result.stdout).not.toContain(secret);
    }
  });
});
