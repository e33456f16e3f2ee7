/**
 * SPEC §15 P1: the sign-in page GET without a cookie (CSRF token and its cookie, i18n, EJS
 * render) must reach at least half the throughput of an Express route that sends the same HTML
 * bytes with the same headers from memory, same process, same run, with p99 < 25 ms at 32
 * connections. The ratio is what the page adds over the HTTP work no page can avoid.
 *
 * Both servers run in this process; the load generator (autocannon) runs in a forked child
 * process so that it does not take CPU time from the server under test. Each server is warmed up,
 * then measured in alternating rounds (bare, portal, portal, bare, …) so that drift on a shared
 * machine hits both sides alike. It prints req/s, p50/p99 latency and the CPU both processes
 * used, the ratio portal/bare and PASS/FAIL against the targets. The exit code is 0 whatever the
 * figures; it is 1 only when a request failed (error, timeout, non-2xx or an unexpected body).
 * See bench/README.md.
 *
 *   npm run bench
 *   BENCH_SECONDS=20 BENCH_ROUNDS=4 npm run bench
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error -- autocannon ships no type declarations (there is no @types/autocannon here)
import untypedAutocannon from 'autocannon';
import {
  benchPortalEnv,
  ChildWorker,
  ms,
  pad,
  percent,
  percentile,
  serveJobs,
  setting,
  sortedConcat,
} from './common.ts';

// ---------------------------------------------------------------------------------------------
// The part of autocannon's programmatic API this benchmark uses.

interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  pipelining: number;
  timeout: number;
  headers: Record<string, string>;
  verifyBody: (body: string) => boolean;
}

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number } | undefined>;
}

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(
    event: 'response',
    listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void,
  ): void;
}

const autocannon = untypedAutocannon as (options: AutocannonOptions) => AutocannonInstance;

// ---------------------------------------------------------------------------------------------
// Settings.

const targets = { ratio: 0.5, p99Ms: 25 };

// ---------------------------------------------------------------------------------------------
// Load generation: one autocannon run, in whichever process calls it.

type Expectation = 'sign-in';

interface LoadJob {
  url: string;
  seconds: number;
  connections: number;
  expect: Expectation;
}

interface LoadResult {
  seconds: number;
  requests: number;
  /** CPU time the load generator's process used during the run (user + system). */
  loadCpuSeconds: number;
  /** CPU time the servers' process used during the run; set by the parent. */
  serverCpuSeconds: number;
  /** Every response's time in ms, as the load generator saw it. */
  latenciesMs: Float64Array;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  statusCodes: Record<string, number>;
}

const bodyChecks: Record<Expectation, (body: string) => boolean> = {
  // The Dutch sign-in form with a CSRF token: CSRF, i18n and the render all happened.
  'sign-in': (body) =>
    body.includes('<html lang="nl">') &&
    body.includes('name="password"') &&
    /name="_csrf" value="[^"]+"/.test(body),
};

async function runLoad(job: LoadJob): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const cpuStart = process.cpuUsage();
  const instance = autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.seconds,
    pipelining: 1,
    timeout: 10,
    // Sent to both servers alike; the portal uses it to pick Dutch. No cookies: every portal
    // request makes a new form token and its cookie, the worst case.
    headers: { 'accept-language': 'nl' },
    verifyBody: bodyChecks[job.expect],
  });
  instance.on('response', (_client, _status, _bytes, responseTimeMs) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTimeMs;
  });
  const result = await instance;
  const cpu = process.cpuUsage(cpuStart);
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats)) {
    statusCodes[code] = stats?.count ?? 0;
  }
  return {
    seconds: result.duration,
    requests: count,
    loadCpuSeconds: (cpu.user + cpu.system) / 1e6,
    serverCpuSeconds: 0,
    latenciesMs: latencies.slice(0, count),
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    non2xx: result.non2xx,
    statusCodes,
  };
}

/** The parent's side: a load generator in its own process, so it runs on its own core. */
const loadGenerator = () =>
  new ChildWorker<LoadJob, LoadResult>(import.meta.url, '--load-generator', 'load generator');

// ---------------------------------------------------------------------------------------------
// Servers.

interface Target {
  name: string;
  url: string;
  expect: Expectation;
  /** The measured runs (not the warm-up). */
  runs: LoadResult[];
  /** Every response it gave, warm-up and checks included. */
  responses: number;
}

/** Headers that belong to one response, not to the page: Node and Express write their own. */
const perResponse = new Set(['date', 'connection', 'keep-alive', 'content-length', 'etag']);

/**
 * The baseline: an Express route that sends the bytes and headers of one real sign-in page
 * (security headers and the form cookie included) from memory.
 */
async function startFromMemory(pageUrl: string): Promise<{ url: string; server: Server }> {
  const page = await fetch(pageUrl, { headers: { 'accept-language': 'nl' } });
  const body = await page.text();
  const headers: [string, string | string[]][] = [];
  page.headers.forEach((value, name) => {
    if (!perResponse.has(name) && name !== 'set-cookie') headers.push([name, value]);
  });
  headers.push(['set-cookie', page.headers.getSetCookie()]);
  const { default: express } = await import('express');
  const app = express();
  app.disable('x-powered-by');
  app.get('/sign-in', (_req, res) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    res.send(body);
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(0, '127.0.0.1', (error?: Error) => {
      if (error) reject(error);
      else resolve(listening);
    });
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/sign-in`, server };
}

// ---------------------------------------------------------------------------------------------
// Figures.

interface Summary {
  requests: number;
  seconds: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  /** CPU use as a share of one core: 1 is one core fully busy. */
  serverCpu: number;
  loadCpu: number;
}

function summarise(runs: LoadResult[]): Summary {
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const all = sortedConcat(runs.map((run) => run.latenciesMs));
  return {
    requests,
    seconds,
    reqPerSec: requests / seconds,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    serverCpu: runs.reduce((sum, run) => sum + run.serverCpuSeconds, 0) / seconds,
    loadCpu: runs.reduce((sum, run) => sum + run.loadCpuSeconds, 0) / seconds,
  };
}

/** Any failed request makes the figures meaningless: say what went wrong. */
function failures(name: string, run: LoadResult): string | undefined {
  if (run.errors + run.timeouts + run.mismatches + run.non2xx === 0 && run.requests > 0) {
    return undefined;
  }
  return (
    `${name}: ${run.requests} responses, ${run.errors} errors, ${run.timeouts} timeouts, ` +
    `${run.non2xx} non-2xx, ${run.mismatches} unexpected bodies; ` +
    `status codes ${JSON.stringify(run.statusCodes)}`
  );
}

/**
 * One plain request, checked like the load: before any load it shows the server answers as
 * expected; after a run it waits for the work still queued from the run (the portal's database
 * calls are queued in order), so that no run's leftovers spill into the next one.
 */
async function checkOnce(target: Target): Promise<void> {
  const response = await fetch(target.url, {
    headers: { 'accept-language': 'nl' },
    redirect: 'manual',
  });
  const body = await response.text();
  const cookies = response.headers.getSetCookie();
  if (response.status !== 200) {
    throw new Error(`${target.name}: answered ${response.status}: ${body.slice(0, 300)}`);
  }
  if (!bodyChecks[target.expect](body)) {
    throw new Error(`${target.name}: not the expected page: ${body.slice(0, 300)}`);
  }
  if (!cookies.some((c) => c.startsWith('mfa.csrf='))) {
    throw new Error(`${target.name}: no form cookie was set`);
  }
  target.responses += 1;
  await new Promise((resolve) => setTimeout(resolve, 250));
}

// ---------------------------------------------------------------------------------------------
// The benchmark.

async function main(): Promise<void> {
  const seconds = setting('BENCH_SECONDS', 10, 1);
  const rounds = Math.round(setting('BENCH_ROUNDS', 2, 1));
  const warmupSeconds = setting('BENCH_WARMUP_SECONDS', 3, 0);
  const connections = Math.round(setting('BENCH_CONNECTIONS', 32, 1));
  const inProcess = process.env.BENCH_LOADGEN === 'inprocess';
  const roundSeconds = Math.max(1, Math.round(seconds / rounds));

  const { loadConfig } = await import('../src/config/index.ts');
  const { startServer } = await import('../src/http-server.ts');

  const tempDir = mkdtempSync(join(tmpdir(), 'mfa-bench-'));
  const generator = inProcess ? undefined : loadGenerator();
  const load = (job: LoadJob) => (generator ? generator.run(job) : runLoad(job));
  let bare: { url: string; server: Server } | undefined;
  let portal: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    // The checkout's config files and web.config apply as they would in production, except
    // for what makes this a benchmark (see benchPortalEnv).
    const config = loadConfig({ env: benchPortalEnv(tempDir) });
    portal = await startServer(config);
    const { db } = portal.services.database;
    const portalUrl = `http://127.0.0.1:${String(portal.address)}${config.BASE_PATH}/sign-in`;
    bare = await startFromMemory(portalUrl);

    const targetList: Target[] = [
      { name: 'same page from memory', url: bare.url, expect: 'sign-in', runs: [], responses: 0 },
      {
        name: 'portal GET /sign-in (nl)',
        url: portalUrl,
        expect: 'sign-in',
        runs: [],
        responses: 0,
      },
    ];

    const measure = async (target: Target, runSeconds: number): Promise<LoadResult> => {
      const cpuStart = process.cpuUsage();
      const run = await load({
        url: target.url,
        seconds: runSeconds,
        connections,
        expect: target.expect,
      });
      const cpu = process.cpuUsage(cpuStart);
      run.serverCpuSeconds = (cpu.user + cpu.system) / 1e6;
      if (!generator) run.loadCpuSeconds = NaN; // one process: its CPU is in the servers' figure
      target.responses += run.requests;
      const problem = failures(target.name, run);
      if (problem) {
        // Let the server finish what is still queued before it is stopped, then report.
        await fetch(target.url).then((response) => response.text(), String);
        await new Promise((resolve) => setTimeout(resolve, 500));
        throw new Error(`requests failed, no figures: ${problem}`);
      }
      await checkOnce(target);
      return run;
    };

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    console.log(
      `P1 sign-in page: ${connections} connections, ${rounds} × ${roundSeconds} s per server ` +
        `after ${warmupSeconds} s warm-up, load generator ${inProcess ? 'in process' : 'in a child process'}; ` +
        `Node ${process.version}, NODE_ENV=${process.env.NODE_ENV ?? '(unset)'}, ` +
        `${availableParallelism()} × ${cpu}`,
    );
    for (const target of targetList) await checkOnce(target);
    if (warmupSeconds > 0) {
      for (const target of targetList) await measure(target, warmupSeconds);
    }
    for (let round = 0; round < rounds; round++) {
      // bare, portal, portal, bare, …: a slow drift of the machine hits both sides alike.
      const order = round % 2 === 0 ? targetList : [...targetList].reverse();
      for (const target of order) {
        const run = await measure(target, roundSeconds);
        target.runs.push(run);
        console.log(
          `  round ${round + 1}: ${target.name.padEnd(26)} ` +
            `${pad((run.requests / run.seconds).toFixed(0), 7)} req/s  ` +
            `CPU servers ${percent(run.serverCpuSeconds / run.seconds)}, ` +
            `load ${percent(run.loadCpuSeconds / run.seconds)}`,
        );
      }
    }

    const summaries = targetList.map((target) => ({ target, ...summarise(target.runs) }));
    const [bareSummary, portalSummary] = summaries;
    if (!bareSummary || !portalSummary) throw new Error('nothing measured');

    const widths = [26, 8, 9, 9, 9, 12, 9];
    const row = (cells: string[]) =>
      cells
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[0] ?? 0) : pad(cell, widths[i] ?? 0)))
        .join(' ');
    console.log('');
    console.log(row(['', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'CPU servers', 'CPU load']));
    for (const summary of summaries) {
      console.log(
        row([
          summary.target.name,
          summary.reqPerSec.toFixed(0),
          ms(summary.p50),
          ms(summary.p99),
          String(summary.requests),
          percent(summary.serverCpu),
          percent(summary.loadCpu),
        ]),
      );
    }

    const ratio = portalSummary.reqPerSec / bareSummary.reqPerSec;
    const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
    console.log('');
    console.log(
      `ratio portal/memory ${ratio.toFixed(3)}     target ≥ ${targets.ratio}     ` +
        verdict(ratio >= targets.ratio),
    );
    console.log(
      `portal p99         ${ms(portalSummary.p99)} ms  target < ${targets.p99Ms} ms  ` +
        verdict(portalSummary.p99 < targets.p99Ms),
    );

    // SPEC S11: an anonymous visitor leaves no session behind, however many pages it loads.
    const { sessions } = await db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll<number>().as('sessions'))
      .executeTakeFirstOrThrow();
    const responses = portalSummary.target.responses;
    console.log(`sessions stored    ${sessions} for ${responses} portal responses`);
    if (sessions > 0) console.log('WARNING: anonymous page loads stored sessions');
  } finally {
    generator?.close();
    await portal?.stop();
    const server = bare?.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
    }
    rmSync(tempDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--load-generator')) {
  serveJobs(runLoad);
} else {
  main().catch((error: unknown) => {
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : undefined;
    console.error(error instanceof Error ? error.message : error, cause ?? '');
    process.exitCode = 1;
  });
}
