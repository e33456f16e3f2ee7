import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';
import { openDatabase } from '../../src/data/database.ts';
import { outputOf, type CliResult } from '../helpers/cli.ts';
import {
  createTemporaryPostgresDatabase,
  needs,
  postgresUnavailable,
} from '../helpers/services.ts';

const skipPostgres = await needs('PostgreSQL', postgresUnavailable);

// Loads everything first and says so, then migrates on a word from stdin: started apart, the
// processes all migrate at the same moment, as instances that a host starts together would.
const migrateOnCue = `
  const { openDatabase } = await import('./src/data/database.ts');
  const { migrateToLatest } = await import('./src/data/migrations.ts');
  const database = openDatabase(process.env.DATABASE_URL);
  process.stdout.write('ready\\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  try {
    const { results = [] } = await migrateToLatest(database.db);
    process.stdout.write('ran ' + results.length + '\\n');
  } finally {
    await database.close();
  }
`;

async function migrateTogether(databaseUrl: string, processes: number): Promise<CliResult[]> {
  const children = Array.from({ length: processes }, () =>
    spawn(process.execPath, ['--input-type=module', '-e', migrateOnCue], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl },
    }),
  );
  const runs = children.map(outputOf);
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          const onData = (chunk: Buffer) => {
            if (chunk.toString().includes('ready')) {
              child.stdout.off('data', onData);
              resolve();
            }
          };
          child.stdout.on('data', onData);
          child.on('close', () => {
            resolve();
          });
        }),
    ),
  );
  for (const child of children) child.stdin.end('go\n');
  return Promise.all(runs);
}

/** Each migration ran once over all processes, and every process finished without an error. */
async function expectEachMigrationOnce(databaseUrl: string, runs: CliResult[]) {
  expect(runs.map((run) => run.stderr)).toEqual(runs.map(() => ''));
  expect(runs.map((run) => run.code)).toEqual(runs.map(() => 0));
  const database = openDatabase(databaseUrl);
  try {
    const applied = await database.db
      .selectFrom('kysely_migration' as never)
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirstOrThrow();
    const ran = runs.reduce((sum, run) => sum + Number(/ran (\d+)/.exec(run.stdout)?.[1]), 0);
    expect(Number(applied.count)).toBeGreaterThan(0);
    expect(ran).toBe(Number(applied.count));
  } finally {
    await database.close();
  }
}

describe('migrations under a lock: instances that start together on a fresh database', () => {
  it('on SQLite, one migrates and the others wait, then find nothing left to do', async () => {
    const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'mfa-migrate-')), 'mfa.sqlite')}`;
    await expectEachMigrationOnce(databaseUrl, await migrateTogether(databaseUrl, 4));
  });

  it.skipIf(skipPostgres)('on PostgreSQL, the same', async () => {
    const temporary = await createTemporaryPostgresDatabase();
    try {
      await expectEachMigrationOnce(temporary.url, await migrateTogether(temporary.url, 4));
    } finally {
      await temporary.drop();
    }
  });
});
