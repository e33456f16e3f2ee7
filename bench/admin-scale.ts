/**
 * SPEC §15 P3: with 1,000,000 users in the store, the portal's process stays under 150 MB RSS
 * while serving and after 60 s of P2's sign-in load, and the console's user search answers
 * username prefix, wildcard infix, email, phone and group queries with p95 < 50 ms at 8
 * concurrent administrators.
 *
 * This process fills the database (bulk inserts in transactions, one fixed password hash), sets
 * up the administrators and the sign-in users through the portal's services, then forks the
 * portal into a child process of its own, so that its RSS is the portal's alone. The search
 * clients run here, over real HTTP, each signed in as an administrator with "view users"; the
 * sign-in load is P2's client (bench/signin-complete.ts) in a second child. See bench/README.md.
 *
 *   npx node bench/admin-scale.ts
 *   BENCH_USERS=100000 BENCH_DATABASE=postgres npx node bench/admin-scale.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { totp } from '../src/core/otp.ts';
import { addFunctions } from '../src/data/node-sqlite-dialect.ts';
import {
  appParams,
  benchPortalEnv,
  type BenchUser,
  ChildWorker,
  enrolledUser,
  expectStep,
  ms,
  pad,
  percentile,
  send,
  serveJobs,
  setting,
  signInAs,
} from './common.ts';
import type { RunResult, SignInJob } from './signin-complete.ts';
import { cliContext } from '../test/helpers/context.ts';

const rssTargetMb = 150;
const p95TargetMs = 50;
const password = 'correct horse battery staple';

// ---------------------------------------------------------------------------------------------
// The users: names from short lists, so that prefixes and infixes match as in a real directory.

const firstNames = [
  'anna', 'bram', 'chloé', 'daan', 'élodie', 'emma', 'finn', 'gabriel', 'hugo', 'inès',
  'jan', 'julie', 'karim', 'lotte', 'lucas', 'manon', 'noah', 'olivia', 'pieter', 'quentin',
  'rosa', 'sam', 'sophie', 'thomas', 'ugo', 'valérie', 'willem', 'xavier', 'yara', 'zoë',
]; // prettier-ignore
const lastNames = [
  'janssen', 'de vries', 'peeters', 'martin', 'bernard', 'dubois', 'jansen', 'maes', 'smith',
  'johnson', 'wilson', 'anderson', 'leroy', 'moreau', 'visser', 'bakker', 'claes', 'girard',
  'müller', 'schmidt', 'davidson', 'lefèvre', 'meijer', 'mulder', 'roux', 'fontaine', 'de jong',
  'willems', 'jacobs', 'nielsen', 'andré', 'van dijk', 'hansen', 'garcía', 'petit',
]; // prettier-ignore

const capital = (word: string) => word.replace(/(^|[ -])(\p{L})/gu, (m) => m.toUpperCase());

/** The i-th filled user, the same in every run. */
function filledUser(i: number) {
  const first = firstNames[i % firstNames.length] ?? '';
  const last = lastNames[Math.floor(i / firstNames.length) % lastNames.length] ?? '';
  const plainLast = last.replace(/ /g, '');
  return {
    username: `${first}.${plainLast}.${i}`,
    displayName: `${capital(first)} ${capital(last)}`,
    email: `${capital(first)}.${capital(plainLast)}.${i}@example.org`,
    phone: `+316${String(i).padStart(8, '0')}`,
    group: `group-${i % 500}`,
  };
}

const columns = [
  'id',
  'username',
  'display_name',
  'email',
  'phone',
  'user_group',
  'password_hash',
  'created_at',
  'updated_at',
] as const;

function filledRow(i: number, passwordHash: string, now: number): string[] {
  const user = filledUser(i);
  // A fixed id per user: a UUID's shape, unique, without a random draw per row.
  const hex = i.toString(16).padStart(12, '0');
  const id = `00000000-0000-4000-8000-${hex}`;
  const time = String(now - i);
  return [
    id,
    user.username,
    user.displayName,
    user.email,
    user.phone,
    user.group,
    passwordHash,
  ].concat([time, time]);
}

/** Fills `count` users in transactions of 20,000 rows; returns the seconds it took. */
async function fill(databaseUrl: string, count: number, passwordHash: string): Promise<number> {
  const start = performance.now();
  const now = Date.now();
  const batch = 20_000;
  if (databaseUrl.startsWith('sqlite:')) {
    const database = new DatabaseSync(databaseUrl.slice('sqlite:'.length));
    database.exec('PRAGMA busy_timeout = 5000');
    addFunctions(database); // the indexes of migration 0020
    const insert = database.prepare(
      `insert into users (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`,
    );
    for (let from = 0; from < count; from += batch) {
      database.exec('begin');
      for (let i = from; i < Math.min(count, from + batch); i++) {
        insert.run(...filledRow(i, passwordHash, now));
      }
      database.exec('commit');
    }
    database.exec('analyze');
    database.close();
  } else {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const types = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint'];
    const unnest = types.map((type, n) => `$${n + 1}::${type}[]`).join(', ');
    for (let from = 0; from < count; from += batch) {
      const values = columns.map(() => [] as string[]);
      for (let i = from; i < Math.min(count, from + batch); i++) {
        filledRow(i, passwordHash, now).forEach((value, n) => values[n]?.push(value));
      }
      await client.query(
        `insert into users (${columns.join(', ')}) select * from unnest(${unnest})`,
        values,
      );
    }
    await client.query('analyze users');
    await client.end();
  }
  return (performance.now() - start) / 1000;
}

// ---------------------------------------------------------------------------------------------
// The portal, in a child process of its own.

type PortalJob = { start: Record<string, string> } | { memory: true };

interface Memory {
  /** VmRSS and VmHWM (the highest RSS so far) from /proc, in MB. */
  rssMb: number;
  peakMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}

const mb = (bytes: number) => bytes / 1024 / 1024;

function memory(): Memory {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  const usage = process.memoryUsage();
  return {
    rssMb: kib('VmRSS') / 1024,
    peakMb: kib('VmHWM') / 1024,
    heapUsedMb: mb(usage.heapUsed),
    heapTotalMb: mb(usage.heapTotal),
    externalMb: mb(usage.external),
  };
}

let childPortal: { stop(): Promise<void> } | undefined;

async function servePortal(job: PortalJob): Promise<number | Memory> {
  if ('memory' in job) return memory();
  const { loadConfig } = await import('../src/config/index.ts');
  const { startServer } = await import('../src/http-server.ts');
  const portal = await startServer(loadConfig({ env: job.start }));
  childPortal = portal;
  return Number(portal.address);
}

// ---------------------------------------------------------------------------------------------
// The searches.

interface Query {
  kind: string;
  /** The query string of /admin/users. */
  search: Record<string, string>;
  /** A username the first page must show. */
  expect: string;
}

const allKinds = ['username prefix', 'infix *son*', 'email', 'phone', 'group'];
/** BENCH_QUERIES: some of the kinds only, comma-separated (a code without the phone search). */
const queryKinds = (process.env.BENCH_QUERIES ?? allKinds.join(','))
  .split(',')
  .filter((kind) => allKinds.includes(kind));

/** A query of `kind` about the i-th filled user (or one like them). */
function queryFor(kind: string, i: number, count: number): Query {
  const user = filledUser(i);
  const [first = '', last = ''] = user.username.split('.');
  switch (kind) {
    case 'username prefix': {
      // Of all users with this first name and last name, the first page (sorted by username).
      const prefix = `${first}.${last.slice(0, 3)}`;
      return { kind, search: { username: `${prefix}*` }, expect: prefix };
    }
    case 'infix *son*':
      return { kind, search: { username: '*son*' }, expect: 'son.' };
    case 'email':
      return { kind, search: { email: user.email.toUpperCase() }, expect: user.username };
    case 'phone':
      return { kind, search: { phone: user.phone }, expect: user.username };
    case 'group': {
      const group = `group-${i % Math.min(500, count)}`;
      return { kind, search: { group }, expect: `<td>${group}</td>` };
    }
    default:
      throw new Error(`unknown query kind ${kind}`);
  }
}

interface Administrator extends BenchUser {
  cookies?: Map<string, string>;
}

/** `perKind` searches of every kind, `concurrency` administrators at once; ms per kind. */
async function searches(
  baseUrl: string,
  admins: Administrator[],
  count: number,
  perKind: number,
): Promise<Map<string, number[]>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: admins.length });
  const queries: Query[] = [];
  for (let n = 0; n < perKind; n++) {
    for (const kind of queryKinds) {
      queries.push(queryFor(kind, Math.floor(Math.random() * count), count));
    }
  }
  const times = new Map<string, number[]>(queryKinds.map((kind) => [kind, []]));
  let next = 0;
  const client = async (admin: Administrator) => {
    for (let query = queries[next++]; query; query = queries[next++]) {
      const path = `/admin/users?${new URLSearchParams(query.search).toString()}`;
      const began = performance.now();
      const page = await send(
        agent,
        `${baseUrl}${path}`,
        'GET',
        admin.cookies ?? new Map<string, string>(),
      );
      times.get(query.kind)?.push(performance.now() - began);
      expectStep(
        page.status === 200 && page.body.includes(query.expect),
        `GET ${path} (showing ${query.expect})`,
        admin,
        page,
      );
    }
  };
  await Promise.all(admins.map(client));
  agent.destroy();
  return times;
}

// ---------------------------------------------------------------------------------------------
// The benchmark.

async function main(): Promise<void> {
  const count = Math.round(setting('BENCH_USERS', 1_000_000, 1000));
  const engine = process.env.BENCH_DATABASE ?? 'sqlite';
  if (engine !== 'sqlite' && engine !== 'postgres') {
    throw new Error('BENCH_DATABASE must be sqlite or postgres');
  }
  const adminCount = Math.round(setting('BENCH_CONCURRENCY', 8, 1));
  const perKind = Math.round(setting('BENCH_SEARCHES', 200, 10));
  const loadSeconds = setting('BENCH_SECONDS', 60, 1);
  const signInUsers = Math.round(setting('BENCH_SIGNIN_USERS', 1000, 10));

  const tempDir = mkdtempSync(join(tmpdir(), 'mfa-bench-'));
  const pgName = `mfa_bench_${process.pid}`;
  const pgBase = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const env: Record<string, string> = {
    ...benchPortalEnv(tempDir),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    RATE_LIMIT_SIGNIN_MAX: '10000',
    RATE_LIMIT_SIGNIN_WINDOW_SECONDS: '1',
  };
  if (engine === 'postgres') {
    const admin = new pg.Client({ connectionString: `${pgBase}/postgres` });
    await admin.connect();
    await admin.query(`create database ${pgName}`);
    await admin.end();
    env.DATABASE_URL = `${pgBase}/${pgName}`;
  }
  // BENCH_PORTAL_NODE_OPTIONS: Node's options for the portal's process alone (not the clients').
  const portalOptions = process.env.BENCH_PORTAL_NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '';
  const portalChild = new ChildWorker<PortalJob, number | Memory>(
    import.meta.url,
    '--portal',
    'portal',
    { ...process.env, NODE_OPTIONS: portalOptions },
  );
  const signInClients = new ChildWorker<SignInJob, RunResult>(
    new URL('./signin-complete.ts', import.meta.url).href,
    '--sign-in-clients',
    'sign-in clients',
  );
  try {
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    console.log(
      `P3 admin scale: ${count} users on ${engine}, ${adminCount} administrators searching; ` +
        `Node ${process.version}, ${availableParallelism()} × ${cpu}; ` +
        `MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '(unset)'}, ` +
        `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '(unset)'}, ` +
        `MALLOC_MMAP_THRESHOLD_=${process.env.MALLOC_MMAP_THRESHOLD_ ?? '(unset)'}, ` +
        `portal NODE_OPTIONS=${portalOptions || '(unset)'}`,
    );

    // The schema, the administrators and the sign-in users, through the portal's own services
    // in this process; then the million rows straight into the table.
    const { loadConfig } = await import('../src/config/index.ts');
    const { startServer } = await import('../src/http-server.ts');
    const setupStart = performance.now();
    const setup = await startServer(loadConfig({ env }));
    const { services } = setup;
    const passwordHash = await services.accounts.hashPassword(password);
    await services.settings.write('useSecurityQuestions', false);
    const admins: Administrator[] = [];
    for (let n = 0; n < adminCount; n++) {
      const admin = await enrolledUser(services, `admin${n}`, `Administrator ${n}`, passwordHash);
      const row = await services.users.findByUsername(admin.username);
      const granted = await services.mfa.administration.grant(cliContext, {
        userId: row?.id ?? '',
        permission: 'view-users',
        group: null,
      });
      if (granted.outcome !== 'granted') throw new Error(`admin${n} not granted view-users`);
      admins.push(admin);
    }
    const users: BenchUser[] = [];
    for (let n = 0; n < signInUsers; n++) {
      users.push(await enrolledUser(services, `bench${n}`, `Bench User ${n}`, passwordHash));
    }
    await setup.stop();
    const setupSeconds = (performance.now() - setupStart) / 1000;
    const fillSeconds = await fill(env.DATABASE_URL ?? '', count, passwordHash);
    console.log(
      `  set-up: ${adminCount} administrators and ${signInUsers} sign-in users with the app in ` +
        `${setupSeconds.toFixed(1)} s; ${count} users filled in ${fillSeconds.toFixed(1)} s`,
    );

    const port = (await portalChild.run({ start: env })) as number;
    const baseUrl = `http://127.0.0.1:${String(port)}`;
    const rss: [string, Memory][] = [];
    const sample = async (when: string) => {
      const used = (await portalChild.run({ memory: true })) as Memory;
      rss.push([when, used]);
      console.log(
        `  RSS ${used.rssMb.toFixed(0).padStart(4)} MB (peak ${used.peakMb.toFixed(0)}, heap ` +
          `${used.heapUsedMb.toFixed(0)}/${used.heapTotalMb.toFixed(0)}, external ` +
          `${used.externalMb.toFixed(0)})  ${when}`,
      );
    };
    await sample('portal started');

    const agent = new http.Agent({ keepAlive: true });
    for (const admin of admins) {
      admin.cookies = await signInAs(agent, baseUrl, admin, password, (now) =>
        totp(Buffer.from(admin.secret, 'hex'), now, appParams),
      );
    }
    agent.destroy();
    await searches(baseUrl, admins, count, 5); // warm-up: statements prepared, pages compiled
    const searchStart = performance.now();
    const times = await searches(baseUrl, admins, count, perKind);
    const searchSeconds = (performance.now() - searchStart) / 1000;
    await sample(`after ${perKind * queryKinds.length} searches`);

    console.log('');
    console.log(
      `${'search'.padEnd(18)} ${pad('count', 6)} ${pad('p50 ms', 9)} ${pad('p95 ms', 9)}`,
    );
    let searchPass = true;
    for (const [kind, list] of times) {
      const sorted = Float64Array.from(list).sort();
      const p95 = percentile(sorted, 95);
      searchPass &&= p95 < p95TargetMs;
      console.log(
        `${kind.padEnd(18)} ${pad(String(list.length), 6)} ${pad(ms(percentile(sorted, 50)), 9)} ` +
          `${pad(ms(p95), 9)}  ${p95 < p95TargetMs ? 'PASS' : 'FAIL'}`,
      );
    }
    console.log(
      `  ${((perKind * queryKinds.length) / searchSeconds).toFixed(0)} searches/s; ` +
        `p95 < ${p95TargetMs} ms: ${searchPass ? 'PASS' : 'FAIL'}`,
    );
    console.log('');

    // P2's sign-in load, the RSS sampled every 10 s.
    const load = signInClients.run({
      baseUrl,
      users,
      password,
      concurrency: 8,
      leadInSeconds: 0,
      seconds: loadSeconds,
    });
    const loading = { on: true };
    const sampling = (async () => {
      for (let t = 10; t < loadSeconds; t += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        if (loading.on) await sample(`${t} s into the sign-in load`);
      }
    })();
    const run = await load;
    loading.on = false;
    await sampling;
    console.log(
      `  ${run.completedInRun} complete sign-ins in ${run.wallSeconds.toFixed(0)} s ` +
        `(${(run.completedInRun / run.wallSeconds).toFixed(1)}/s)`,
    );
    await sample('after the sign-in load');
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    await sample('10 s later, idle');

    const highest = Math.max(...rss.map(([, used]) => used.rssMb));
    console.log('');
    console.log(
      `highest RSS sampled ${highest.toFixed(0)} MB, target < ${rssTargetMb} MB: ` +
        (highest < rssTargetMb ? 'PASS' : 'FAIL'),
    );
  } finally {
    portalChild.close();
    signInClients.close();
    rmSync(tempDir, { recursive: true, force: true });
    if (engine === 'postgres') {
      // The portal child may still hold connections for a moment after it was told to go.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const admin = new pg.Client({ connectionString: `${pgBase}/postgres` });
      await admin.connect();
      await admin.query(`drop database if exists ${pgName} with (force)`);
      await admin.end();
    }
  }
}

if (process.argv.includes('--portal')) {
  process.on('disconnect', () => {
    void childPortal?.stop().finally(() => process.exit(0));
  });
  serveJobs(servePortal);
} else {
  main().catch((error: unknown) => {
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : undefined;
    console.error(error instanceof Error ? error.message : error, cause ?? '');
    process.exitCode = 1;
  });
}
