import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createClient } from 'redis';

/** Real parts or nothing: locally a missing one skips with a reason, under CI=true it fails. */
export const inCi = process.env.CI === 'true';

export const postgresAdminUrl =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function reachable(check: () => Promise<void>): Promise<string | undefined> {
  try {
    await check();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export async function postgresUnavailable(): Promise<string | undefined> {
  return reachable(async () => {
    const client = new pg.Client({
      connectionString: postgresAdminUrl,
      connectionTimeoutMillis: 2000,
    });
    await client.connect();
    await client.end();
  });
}

export async function redisUnavailable(): Promise<string | undefined> {
  return reachable(async () => {
    const client = createClient({
      url: redisUrl,
      socket: { connectTimeout: 2000, reconnectStrategy: false },
    });
    client.on('error', () => undefined);
    await client.connect();
    await client.quit();
  });
}

/**
 * Returns a reason to skip when the service is absent, or throws under CI where nothing may be
 * skipped. Use as `describe.skipIf(await needs('PostgreSQL', postgresUnavailable))`.
 */
export async function needs(
  name: string,
  probe: () => Promise<string | undefined>,
): Promise<boolean> {
  const problem = await probe();
  if (problem === undefined) return false;
  if (inCi) throw new Error(`${name} is required under CI=true but is not reachable: ${problem}`);
  console.warn(`Skipping ${name} tests: ${name} is not reachable (${problem})`);
  return true;
}

/** A fresh PostgreSQL database for one test file, dropped afterwards. */
export async function createTemporaryPostgresDatabase() {
  const name = `mfa_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: postgresAdminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
