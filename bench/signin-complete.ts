/**
 * SPEC §15 P2: a complete sign-in (password, TOTP code from the mobile app, landing page) must
 * reach at least 0.9 × the machine's Argon2id hash rate at the same parameters: the one password
 * hash each sign-in verifies is the physical limit, and everything else must cost little beside it.
 *
 * The portal runs in this process; the clients that sign in run in a forked child process, each
 * with its own cookie jar, over plain HTTP with keep-alive. The baseline, the portal's own
 * password check (`verifySecret`, Argon2id at the configured parameters) with as many calls in
 * flight as libuv has threads for it, runs in this process too, while the portal is idle. Both are
 * measured in alternating rounds (hash, sign-in, sign-in, hash, …) over the same windows. It
 * prints sign-ins/s, hashes/s, the ratio, p50/p99 of a complete sign-in and PASS/FAIL. The exit
 * code is 0 whatever the figures; it is 1 when any step of any sign-in was not answered as
 * expected. See bench/README.md.
 *
 *   npx node bench/signin-complete.ts
 *   BENCH_SECONDS=40 BENCH_ROUNDS=8 npx node bench/signin-complete.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { totp, totpStep } from '../src/core/otp.ts';
import { verifySecret } from '../src/core/passwords.ts';
import {
  appParams,
  benchPortalEnv,
  type BenchUser,
  ChildWorker,
  enrolledUser,
  ms,
  pad,
  percent,
  percentile,
  serveJobs,
  setting,
  signInAs,
  sortedConcat,
} from './common.ts';

const target = 0.9;
const password = 'correct horse battery staple';

// ---------------------------------------------------------------------------------------------
// The clients: complete sign-ins, in the load generator's process.

export interface SignInJob {
  baseUrl: string;
  users: BenchUser[];
  password: string;
  concurrency: number;
  /** Sign-ins run this long before the counted window starts… */
  leadInSeconds: number;
  /** …and keep running through the window; those that finish inside it are counted. */
  seconds: number;
}

export interface RunResult {
  /** The counted window. */
  seconds: number;
  /** Sign-ins (or hashes) that finished inside the window. */
  completed: number;
  /** Their times, start to finish, in ms. */
  latenciesMs: Float64Array;
  /** The whole run: lead-in, window, and the wait for what was in flight at its end. */
  wallSeconds: number;
  /** Everything that finished during the whole run, counted or not. */
  completedInRun: number;
  /** CPU time the servers' process used during the whole run (user + system, all threads). */
  serverCpuSeconds: number;
  /** Of which on the servers' main thread (the event loop); the rest is libuv's thread pool. */
  mainThreadSeconds: number;
  /** CPU time the load generator's process used during the whole run; NaN for the hashes. */
  loadCpuSeconds: number;
  /** Times a client found no user whose code of the current time step was still unused. */
  userWaits: number;
}

const cpuSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;

/** Users, each free for one sign-in per TOTP time step: each code is accepted once (S6). */
interface PoolEntry {
  user: BenchUser;
  secret: Buffer;
  busy: boolean;
  /** The time step of the last code this user sent. */
  lastStep: number;
}

/** Kept across jobs: the portal remembers each user's last accepted step across runs too. */
let pool: PoolEntry[] | undefined;
let cursor = 0;

/** The next user (round robin) who is not signing in and has not sent this step's code yet. */
function freeUser(): PoolEntry | undefined {
  if (!pool) return undefined;
  const step = totpStep(Date.now(), appParams.period);
  for (let i = 0; i < pool.length; i++) {
    const entry = pool[(cursor + i) % pool.length];
    if (entry && !entry.busy && entry.lastStep < step) {
      cursor = (cursor + i + 1) % pool.length;
      return entry;
    }
  }
  return undefined;
}

/** One complete sign-in, as a browser makes it, every answer checked. */
async function signIn(agent: http.Agent, job: SignInJob, entry: PoolEntry): Promise<void> {
  await signInAs(agent, job.baseUrl, entry.user, job.password, (now) => {
    entry.lastStep = totpStep(now, appParams.period);
    return totp(entry.secret, now, appParams);
  });
}

async function runSignIns(job: SignInJob): Promise<RunResult> {
  pool ??= job.users.map((user) => ({
    user,
    secret: Buffer.from(user.secret, 'hex'),
    busy: false,
    lastStep: -1,
  }));
  // A new agent per run: sockets left idle between runs are closed by the server's keep-alive
  // timeout, and reusing one just as it closes would fail a request for no fault of the portal.
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const windowStart = start + job.leadInSeconds * 1000;
  const windowEnd = windowStart + job.seconds * 1000;
  const latencies: number[] = [];
  let completedInRun = 0;
  let userWaits = 0;
  let failure: Error | undefined;

  const client = async () => {
    while (failure === undefined && performance.now() < windowEnd) {
      const entry = freeUser();
      if (!entry) {
        userWaits += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      entry.busy = true;
      const began = performance.now();
      try {
        await signIn(agent, job, entry);
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
        return;
      } finally {
        entry.busy = false;
      }
      const ended = performance.now();
      completedInRun += 1;
      if (ended >= windowStart && ended < windowEnd) latencies.push(ended - began);
    }
  };
  // Every client finishes the sign-in it is in before the run ends (or reports the failure), so
  // nothing of this run is left for the next one.
  await Promise.all(Array.from({ length: job.concurrency }, client));
  agent.destroy();
  if (failure) throw failure;
  const cpu = process.cpuUsage(cpuStart);
  return {
    seconds: job.seconds,
    completed: latencies.length,
    latenciesMs: Float64Array.from(latencies),
    wallSeconds: (performance.now() - start) / 1000,
    completedInRun,
    serverCpuSeconds: 0,
    mainThreadSeconds: 0,
    loadCpuSeconds: cpuSeconds(cpu),
    userWaits,
  };
}

// ---------------------------------------------------------------------------------------------
// The baseline: the portal's own password check, in the servers' process, while it is idle.

async function runHashes(
  concurrency: number,
  leadInSeconds: number,
  seconds: number,
  passwordHash: string,
): Promise<RunResult> {
  const cpuStart = process.cpuUsage();
  const mainStart = process.threadCpuUsage();
  const start = performance.now();
  const windowStart = start + leadInSeconds * 1000;
  const windowEnd = windowStart + seconds * 1000;
  const latencies: number[] = [];
  let completedInRun = 0;
  const worker = async () => {
    while (performance.now() < windowEnd) {
      const began = performance.now();
      if (!(await verifySecret(password, passwordHash))) {
        throw new Error('the password did not verify against its own hash');
      }
      const ended = performance.now();
      completedInRun += 1;
      if (ended >= windowStart && ended < windowEnd) latencies.push(ended - began);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpuStart);
  return {
    seconds,
    completed: latencies.length,
    latenciesMs: Float64Array.from(latencies),
    wallSeconds: (performance.now() - start) / 1000,
    completedInRun,
    serverCpuSeconds: cpuSeconds(cpu),
    mainThreadSeconds: cpuSeconds(process.threadCpuUsage(mainStart)),
    loadCpuSeconds: NaN,
    userWaits: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Figures.

interface Summary {
  completed: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU use as a share of one core: 1 is one core fully busy. */
  serverCpu: number;
  loadCpu: number;
  /** CPU time of the servers' process per sign-in (or hash), ms: what one costs the machine. */
  serverCpuMsEach: number;
  /** Of which on the main thread. */
  mainThreadMsEach: number;
}

function summarise(runs: RunResult[]): Summary {
  const completed = runs.reduce((sum, run) => sum + run.completed, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const wall = runs.reduce((sum, run) => sum + run.wallSeconds, 0);
  const all = sortedConcat(runs.map((run) => run.latenciesMs));
  const total = (of: (run: RunResult) => number) => runs.reduce((sum, run) => sum + of(run), 0);
  const done = total((run) => run.completedInRun);
  return {
    completed,
    perSecond: completed / seconds,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    serverCpu: runs.reduce((sum, run) => sum + run.serverCpuSeconds, 0) / wall,
    loadCpu: runs.reduce((sum, run) => sum + run.loadCpuSeconds, 0) / wall,
    serverCpuMsEach: (1000 * total((run) => run.serverCpuSeconds)) / done,
    mainThreadMsEach: (1000 * total((run) => run.mainThreadSeconds)) / done,
  };
}

// ---------------------------------------------------------------------------------------------
// The benchmark.

async function main(): Promise<void> {
  const seconds = setting('BENCH_SECONDS', 20, 1);
  const rounds = Math.round(setting('BENCH_ROUNDS', 4, 1));
  const warmupSeconds = setting('BENCH_WARMUP_SECONDS', 3, 0);
  const leadInSeconds = setting('BENCH_LEAD_IN_SECONDS', 2, 0);
  const concurrency = Math.round(setting('BENCH_CONCURRENCY', 8, 1));
  // The portal's Argon2id calls run on libuv's thread pool, so at most this many at once.
  const threadPool = Math.round(setting('UV_THREADPOOL_SIZE', 4, 1));
  const hashConcurrency = Math.round(setting('BENCH_HASH_CONCURRENCY', threadPool, 1));
  const usersWanted = Math.round(setting('BENCH_USERS', 0, 0));
  const roundSeconds = Math.max(1, Math.round(seconds / rounds));

  const { loadConfig } = await import('../src/config/index.ts');
  const { startServer } = await import('../src/http-server.ts');

  const tempDir = mkdtempSync(join(tmpdir(), 'mfa-bench-'));
  const generator = new ChildWorker<SignInJob, RunResult>(
    import.meta.url,
    '--sign-in-clients',
    'sign-in clients',
  );
  let portal: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    // As for P1 (see benchPortalEnv), plus a key for the sealed seeds and the per-IP sign-in
    // limit (S5) at the most it can be configured to: all the load comes from 127.0.0.1.
    const config = loadConfig({
      env: {
        ...benchPortalEnv(tempDir),
        ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        RATE_LIMIT_SIGNIN_MAX: '10000',
        RATE_LIMIT_SIGNIN_WINDOW_SECONDS: '1',
      },
    });
    portal = await startServer(config);
    const { services } = portal;
    const baseUrl = `http://127.0.0.1:${String(portal.address)}`;
    const argon2 =
      `m=${config.ARGON2_MEMORY_KIB} KiB, t=${config.ARGON2_PASSES}, ` +
      `p=${config.ARGON2_PARALLELISM}`;

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    console.log(
      `P2 complete sign-in: ${concurrency} clients vs Argon2id (${argon2}) × ${hashConcurrency} ` +
        `in flight; ${rounds} × ${roundSeconds} s per side after ${warmupSeconds} s warm-up, ` +
        `${leadInSeconds} s lead-in per run; Node ${process.version}, ` +
        `NODE_ENV=${process.env.NODE_ENV ?? '(unset)'}, ${availableParallelism()} × ${cpu}`,
    );

    // One hash for every user: what each sign-in costs does not depend on the salt.
    const passwordHash = await services.accounts.hashPassword(password);
    const hashes = (runSeconds: number) =>
      runHashes(hashConcurrency, leadInSeconds, runSeconds, passwordHash);

    // A user can sign in once per 30 s time step (each code is accepted once), so there must
    // be more users than the server can sign in per step: four times the hash rate × 30 s.
    const probe = await hashes(Math.max(2, warmupSeconds));
    const probeRate = probe.completed / probe.seconds;
    const userCount = usersWanted || Math.max(200, Math.ceil(probeRate * 30 * 4));
    await services.settings.write('useSecurityQuestions', false);
    const users: BenchUser[] = [];
    const setupStart = performance.now();
    for (let i = 0; i < userCount; i++) {
      users.push(
        await enrolledUser(
          services,
          `bench${String(i).padStart(5, '0')}`,
          `Bench User ${i}`,
          passwordHash,
        ),
      );
    }
    console.log(
      `  warm-up: ${probeRate.toFixed(1)} hashes/s, so ${userCount} users with the mobile app ` +
        `(set up in ${((performance.now() - setupStart) / 1000).toFixed(1)} s)`,
    );

    // SPEC §15 P2: the statements a complete sign-in costs, counted over every sign-in of the run.
    const statements = { reads: 0, writes: 0 };
    const stopCounting = services.database.observe((text) => {
      if (/^\s*(select|pragma)\b/i.test(text)) statements.reads++;
      else statements.writes++;
    });
    let signInsDone = 0;
    const signIns = async (runSeconds: number, lead = leadInSeconds): Promise<RunResult> => {
      const cpuStart = process.cpuUsage();
      const mainStart = process.threadCpuUsage();
      const run = await generator.run({
        baseUrl,
        users,
        password,
        concurrency,
        leadInSeconds: lead,
        seconds: runSeconds,
      });
      const used = process.cpuUsage(cpuStart);
      run.serverCpuSeconds = cpuSeconds(used);
      run.mainThreadSeconds = cpuSeconds(process.threadCpuUsage(mainStart));
      signInsDone += run.completedInRun;
      return run;
    };
    if (warmupSeconds > 0) {
      const warm = await signIns(warmupSeconds, 0);
      console.log(`  warm-up: ${(warm.completedInRun / warm.wallSeconds).toFixed(1)} sign-ins/s`);
    }

    const sides = [
      { name: `Argon2id verify × ${hashConcurrency}`, unit: 'hashes/s', run: hashes },
      { name: `complete sign-in × ${concurrency}`, unit: 'sign-ins/s', run: signIns },
    ];
    const results = sides.map(() => [] as RunResult[]);
    // BENCH_CPU_PROFILE=file.cpuprofile: the servers' main thread during the measured rounds
    // (the hash rounds leave it idle), for Chrome DevTools or any .cpuprofile viewer.
    const profileFile = process.env.BENCH_CPU_PROFILE ?? '';
    const profiler = profileFile ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    for (let round = 0; round < rounds; round++) {
      // hash, sign-in, sign-in, hash, …: a slow drift of the machine hits both sides alike.
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order) {
        const side = sides[index];
        if (!side) continue;
        const run = await side.run(roundSeconds);
        results[index]?.push(run);
        console.log(
          `  round ${round + 1}: ${side.name.padEnd(26)} ` +
            `${pad((run.completed / run.seconds).toFixed(1), 7)} ${side.unit.padEnd(10)}  ` +
            `CPU servers ${percent(run.serverCpuSeconds / run.wallSeconds)}, ` +
            `load ${percent(run.loadCpuSeconds / run.wallSeconds)}`,
        );
      }
    }

    stopCounting();
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(profileFile, JSON.stringify(profile));
      profiler.disconnect();
      console.log(`  CPU profile of the measured rounds written to ${profileFile}`);
    }

    const waits = results[1]?.reduce((sum, run) => sum + run.userWaits, 0) ?? 0;
    if (waits > 0) {
      throw new Error(
        `clients waited ${waits} times for a user whose code of this time step was unused: ` +
          'the replay rule, not the server, limited the rate; no figures (raise BENCH_USERS)',
      );
    }

    const [hashSummary, signInSummary] = results.map(summarise);
    if (!hashSummary || !signInSummary) throw new Error('nothing measured');
    const widths = [28, 9, 9, 9, 9, 12, 9, 9, 9];
    const row = (cells: string[]) =>
      cells
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[0] ?? 0) : pad(cell, widths[i] ?? 0)))
        .join(' ');
    console.log('');
    console.log(
      row([
        '',
        'per s',
        'p50 ms',
        'p99 ms',
        'count',
        'CPU servers',
        'CPU load',
        'CPU ms',
        'main ms',
      ]),
    );
    sides.forEach((side, i) => {
      const summary = i === 0 ? hashSummary : signInSummary;
      console.log(
        row([
          side.name,
          summary.perSecond.toFixed(1),
          ms(summary.p50),
          ms(summary.p99),
          String(summary.completed),
          percent(summary.serverCpu),
          percent(summary.loadCpu),
          summary.serverCpuMsEach.toFixed(1),
          summary.mainThreadMsEach.toFixed(1),
        ]),
      );
    });

    const ratio = signInSummary.perSecond / hashSummary.perSecond;
    console.log('');
    console.log(
      `ratio sign-ins/hashes         ${ratio.toFixed(3)}  target ≥ ${target}  ` +
        (ratio >= target ? 'PASS' : 'FAIL'),
    );
    // Steadier on a shared machine than the rates: what each one cost in CPU, whenever it ran.
    // Where the cores (not the thread pool) are the limit, the ratio of rates tends to this.
    const cpuRatio = hashSummary.serverCpuMsEach / signInSummary.serverCpuMsEach;
    console.log(`ratio CPU ms hash/sign-in     ${cpuRatio.toFixed(3)}  (steadier; see README)`);

    // Every sign-in the clients completed went through the real second step, once.
    const { accepted } = await services.database.db
      .selectFrom('audit_events')
      .where('type', '=', 'sign-in.second-step')
      .where('result', '=', 'success')
      .select((eb) => eb.fn.countAll<number>().as('accepted'))
      .executeTakeFirstOrThrow();
    const each = (count: number) => (count / signInsDone).toFixed(1);
    console.log(
      `statements per sign-in        ${each(statements.reads + statements.writes)} ` +
        `(${each(statements.writes)} of them writes, ${each(statements.reads)} reads)`,
    );
    console.log(`codes accepted                ${accepted} for ${signInsDone} complete sign-ins`);
    if (accepted !== signInsDone) {
      throw new Error(`the audit log holds ${accepted} accepted codes for ${signInsDone} sign-ins`);
    }
  } finally {
    generator.close();
    await portal?.stop();
    rmSync(tempDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--sign-in-clients')) {
  serveJobs(runSignIns);
} else {
  main().catch((error: unknown) => {
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : undefined;
    console.error(error instanceof Error ? error.message : error, cause ?? '');
    process.exitCode = 1;
  });
}
