import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.ts';
import { startServer } from '../../src/http-server.ts';

interface LogLine {
  level: number;
  msg: string;
}

/** pino's number for the warn level. */
const warnLevel = 40;

/**
 * Starts the real server with the given configuration keys on a fresh SQLite file, stops it, and
 * returns the warnings it logged on the way.
 */
export async function startUpWarnings(env: Record<string, string>): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-start-'));
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  try {
    const running = await startServer(
      loadConfig({
        env: {
          PORT: '0',
          DATABASE_URL: `sqlite:${join(dir, 'mfa.sqlite')}`,
          ENCRYPTION_KEY: randomBytes(32).toString('hex'),
          BASE_PATH: '',
          SSL_REQUIRED: 'false',
          PORTAL_URL: '',
          SIMULATOR_ENABLED: 'false',
          ...env,
        },
      }),
      pino({ level: 'info' }, stream),
    );
    await running.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines.filter((line) => line.level === warnLevel).map((line) => line.msg);
}
