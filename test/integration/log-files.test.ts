import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, projectRoot } from '../../src/config/index.ts';
import { startServer } from '../../src/http-server.ts';
import { openRotatingLogFiles } from '../../src/rotating-log-files.ts';

function logFiles(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.log'))
    .sort();
}

describe('log files, "Enable logging" (SPEC O2)', () => {
  it('starts a new file by size and keeps only the newest ones', () => {
    const directory = join(mkdtempSync(join(tmpdir(), 'mfa-logs-')), 'logs');
    const files = openRotatingLogFiles({ directory, maxBytes: 1024, keep: 3 });
    const lines = Array.from(
      { length: 200 },
      (_, n) => `${JSON.stringify({ n, pad: 'x'.repeat(80) })}\n`,
    );
    for (const line of lines) files.write(line);

    const names = logFiles(directory);
    expect(names).toHaveLength(3);
    for (const name of names) {
      expect(name).toMatch(new RegExp(`^mfa-portal-[0-9T-]+Z-${process.pid}\\.log$`));
      expect(statSync(join(directory, name)).size).toBeLessThanOrEqual(1024);
    }
    // Oldest to newest, the kept files hold the last lines written, none lost or repeated.
    const kept = names.map((name) => readFileSync(join(directory, name), 'utf8')).join('');
    expect(kept.length).toBeGreaterThan(2048);
    expect(lines.join('').endsWith(kept)).toBe(true);
    expect(kept.startsWith('{"n":')).toBe(true);
  });

  it('writes the lines of stdout to the files too, once configured for it', () => {
    const root = mkdtempSync(join(tmpdir(), 'mfa-logs-'));
    const script = `
      const { loadConfig } = await import('./src/config/index.ts');
      const { createLogger } = await import('./src/services.ts');
      const logger = createLogger(loadConfig());
      for (let n = 0; n < 40; n++) logger.debug({ n, body: { password: 'hunter2' } }, 'filling the log');
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: projectRoot,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        LOG_FILE_DIRECTORY: join(root, 'logs'),
        LOG_FILE_SIZE_KB: '1',
        LOG_FILE_COUNT: '2',
        LOG_LEVEL: 'debug',
      },
    });
    expect(run.stderr).toBe('');

    const names = logFiles(join(root, 'logs'));
    expect(names).toHaveLength(2);
    const kept = names.map((name) => readFileSync(join(root, 'logs', name), 'utf8')).join('');
    expect(run.stdout.endsWith(kept)).toBe(true);
    const last = JSON.parse(kept.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
    expect(last).toMatchObject({ n: 39, msg: 'filling the log', body: { password: '[redacted]' } });
  });

  it('refuses to start when the log folder cannot be made, naming the key and the folder', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mfa-logs-'));
    writeFileSync(join(root, 'file'), '');
    const config = loadConfig({
      env: {
        PORT: '0',
        DATABASE_URL: `sqlite:${join(root, 'mfa.sqlite')}`,
        ENCRYPTION_KEY_FILE: join(root, 'encryption.key'),
        LOG_FILE_DIRECTORY: join(root, 'file', 'logs'),
      },
    });
    await expect(startServer(config)).rejects.toThrow(
      `LOG_FILE_DIRECTORY: log files cannot be written in ${join(root, 'file', 'logs')}`,
    );
  });
});

describe('the first-admin hint names an address people can open', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ['https://mfa.example.org', 'https://mfa.example.org/MultiFactorAuth/sign-in'],
    ['https://mfa.example.org/MultiFactorAuth/', 'https://mfa.example.org/MultiFactorAuth/sign-in'],
    ['', "the portal's address followed by /MultiFactorAuth/sign-in"],
  ])('PORTAL_URL %j on a pipe: %s', async (portalUrl, expected) => {
    const dir = mkdtempSync(join(tmpdir(), 'mfa-hint-'));
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    const running = await startServer(
      loadConfig({
        env: {
          PORT: join(dir, 'portal.sock'),
          BASE_PATH: '/MultiFactorAuth',
          PORTAL_URL: portalUrl,
          DATABASE_URL: `sqlite:${join(dir, 'mfa.sqlite')}`,
          ENCRYPTION_KEY_FILE: join(dir, 'encryption.key'),
          LOG_LEVEL: 'silent',
        },
      }),
    );
    await running.stop();
    const hint = printed.join('');
    expect(hint).toContain(`then sign in at ${expected}`);
    expect(hint).not.toContain('portal.sock');
  });
});
