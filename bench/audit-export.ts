/**
 * SPEC A4 (issue 14): the audit trail's CSV export and its filtered pages on a large store.
 *
 * 1. Export: `BENCH_EXPORT_ROWS` (1,000,000) audit records written straight into a fresh SQLite
 *    database, then `GET /admin/reports/audit.csv` over HTTP by a signed-in administrator, the
 *    body read and counted as it arrives. Targets: ≥ 50,000 records/s, and the process's RSS
 *    (sampled every 50 ms) grows < 20 MB over what it was before the request.
 * 2. Filters: the store grown to `BENCH_FILTER_ROWS` (10,000,000) records, then the first page
 *    of each filter in `filters` below, `BENCH_FILTER_RUNS` (20) times each, over HTTP (the whole
 *    page: the summary counts, the query, the render). Target: p95 < 100 ms for each.
 *
 * Run alone: `npx node bench/audit-export.ts`. See bench/README.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import { adminPermissions } from '../src/core/administrators.ts';
import { startServer, type RunningServer } from '../src/http-server.ts';
import type { Db } from '../src/data/schema.ts';
import { cliContext } from '../test/helpers/context.ts';
import { benchPortalEnv, ms, pad, percentile, setting } from './common.ts';
import { sql } from 'kysely';

const exportRows = setting('BENCH_EXPORT_ROWS', 1_000_000, 1000);
const filterRows = setting('BENCH_FILTER_ROWS', 10_000_000, exportRows);
const filterRuns = setting('BENCH_FILTER_RUNS', 20, 5);
const password = 'correct horse battery staple';
const users = 10_000;
const groups = 10;
const day = 86_400_000;
const end = Date.UTC(2026, 11, 1);

/** The first page of each: the filters an administrator uses, common and rare. */
const filters: [string, string][] = [
  ['newest, no filter', ''],
  ['one user', 'username=user-4711'],
  ['one user, sign-ins, failed', 'username=user-4711&category=sign-ins&result=failure'],
  ['failed records', 'result=failure'],
  ['fraud reports (rare)', 'category=fraud-alerts'],
  ['admin actions', 'category=admin-actions'],
  ['acting administrator', 'admin=bench-admin'],
  ['one day', 'from=2026-06-01&until=2026-06-01'],
  ['one day, changes', 'from=2026-06-01&until=2026-06-01&category=changes'],
];

/**
 * Audit records `from` to `to` (exclusive), written by SQLite itself: a spread over a year,
 * the users' sign-ins mostly, one in ten failed, one in fifty by the administrator, one in
 * 20,000 a fraud report.
 */
async function fillAudit(db: Db, from: number, to: number, adminId: string): Promise<void> {
  const step = 200_000;
  for (let start = from; start < to; start += step) {
    const stop = Math.min(start + step, to);
    await sql`
      WITH RECURSIVE n(i) AS (SELECT ${sql.lit(start)} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${sql.lit(stop)})
      INSERT INTO audit_events (id, occurred_at, type, result, reason, user_id, username,
        display_name, email, phone, device, method, server_name, server_ip, client_ip, admin_id)
      SELECT printf('%08x-0000-7000-8000-%012x', i / 65536, i),
        ${sql.lit(end)} - (i * 7919 % (365 * ${sql.lit(day / 1000)})) * 1000 - i % 1000,
        CASE WHEN i % 20000 = 7 THEN 'fraud-alert' WHEN i % 50 = 3 THEN 'change.pin'
          WHEN i % 10 = 5 THEN 'change.phone' WHEN i % 3 = 0 THEN 'sign-in.second-step'
          ELSE 'sign-in.password' END,
        CASE WHEN i % 10 = 1 THEN 'failure' ELSE 'success' END,
        CASE WHEN i % 10 = 1 THEN 'wrong-password' ELSE NULL END,
        'bench-user-' || (i % ${sql.lit(users)}), 'user-' || (i % ${sql.lit(users)}), 'User ' || (i % ${sql.lit(users)}),
        'user-' || (i % ${sql.lit(users)}) || '@example.org', '+31 ••• 78', NULL,
        CASE WHEN i % 3 = 0 THEN 'app' ELSE 'password' END,
        'bench', '192.0.2.1', '198.51.100.' || (i % 250),
        CASE WHEN i % 50 = 3 THEN ${adminId} ELSE NULL END
      FROM n`.execute(db);
  }
}

/** A signed-in administrator's cookies, from the trusted loopback address (no second step). */
async function signIn(baseUrl: string, username: string): Promise<string> {
  const cookies = new Map<string, string>();
  const keep = (response: Response) => {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const at = pair.indexOf('=');
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
  };
  const header = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const form = await fetch(`${baseUrl}/sign-in`);
  keep(form);
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const posted = await fetch(`${baseUrl}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: header() },
    body: new URLSearchParams({ username, password, _csrf: token }).toString(),
  });
  keep(posted);
  if (posted.status !== 303) throw new Error(`sign-in answered ${String(posted.status)}`);
  return header();
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function measureExport(baseUrl: string, cookie: string, expected: number) {
  global.gc?.();
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  const started = performance.now();
  const response = await fetch(`${baseUrl}/admin/reports/audit.csv`, { headers: { cookie } });
  if (response.status !== 200 || !response.body) {
    throw new Error(`export answered ${String(response.status)}`);
  }
  let lines = 0;
  let bytes = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 10) lines += 1;
    }
  } catch (error) {
    throw new Error(`export cut off after ${String(lines)} lines, ${mb(bytes)} MB`, {
      cause: error,
    });
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const records = lines - 1;
  if (records !== expected) throw new Error(`exported ${String(records)} of ${String(expected)}`);
  const growth = peak - before;
  const rate = records / seconds;
  console.log(
    `export: ${String(records)} records, ${mb(bytes)} MB in ${seconds.toFixed(1)} s: ` +
      `${rate.toFixed(0)} records/s (target ≥ 50000: ${rate >= 50_000 ? 'PASS' : 'FAIL'}); ` +
      `RSS ${mb(before)} → peak ${mb(peak)} MB, growth ${mb(growth)} MB ` +
      `(target < 20: ${growth < 20 * 1024 * 1024 ? 'PASS' : 'FAIL'})`,
  );
}

async function measureFilters(baseUrl: string, cookie: string) {
  console.log(
    `\nfirst page of each filter over ${String(filterRows)} records, ${String(filterRuns)} runs:`,
  );
  console.log(`${pad('filter', 52)} ${pad('p50 ms', 8)} ${pad('p95 ms', 8)} ${pad('max ms', 8)}`);
  for (const [name, query] of filters) {
    const times = new Float64Array(filterRuns);
    for (let run = -2; run < filterRuns; run++) {
      const started = performance.now();
      const response = await fetch(`${baseUrl}/admin/reports?${query}`, { headers: { cookie } });
      const text = await response.text();
      if (response.status !== 200 || !text.includes('<tbody>')) {
        throw new Error(`${name}: ${String(response.status)}, no records`);
      }
      if (run >= 0) times[run] = performance.now() - started;
    }
    times.sort();
    const p95 = percentile(times, 95);
    console.log(
      `${pad(name, 52)} ${pad(ms(percentile(times, 50)), 8)} ${pad(ms(p95), 8)} ` +
        `${pad(ms(times[times.length - 1] ?? 0), 8)} ${p95 < 100 ? 'PASS' : 'FAIL'}`,
    );
  }
}

const dir = mkdtempSync(join(tmpdir(), 'mfa-bench-audit-'));
let portal: RunningServer | undefined;
try {
  portal = await startServer(
    loadConfig({
      env: { ...benchPortalEnv(dir), LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent' },
    }),
  );
  const { services } = portal;
  // Writing the records takes longer than the keep-alive: the client's idle connection must
  // not be closed under it.
  portal.server.keepAliveTimeout = 3_600_000;
  const { db } = services.database;
  const baseUrl = `http://127.0.0.1:${String(portal.address)}`;
  const created = await services.mfa.administration.createUser(cliContext, {
    username: 'bench-admin',
    displayName: 'Bench Admin',
    email: null,
    password,
    role: 'admin',
  });
  if (created.outcome !== 'created') throw new Error('no administrator');
  const adminId = created.account.id;
  for (const permission of adminPermissions) {
    await services.mfa.administration.grant(cliContext, {
      userId: adminId,
      permission,
      group: null,
    });
  }
  await sql`
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${sql.lit(users)})
    INSERT INTO users (id, username, display_name, role, user_group, created_at, updated_at)
    SELECT 'bench-user-' || i, 'user-' || i, 'User ' || i, 'user', 'group-' || (i % ${sql.lit(groups)}),
      ${end}, ${end} FROM n`.execute(db);
  await services.mfa.administration.changeSetting(cliContext, {
    key: 'trustedIps',
    value: '127.0.0.1',
  });
  const cookie = await signIn(baseUrl, 'bench-admin');
  // Only the records written here: the set-up's own are moved out of the way.
  await db.deleteFrom('audit_events').execute();

  let filled = performance.now();
  await fillAudit(db, 0, exportRows, adminId);
  console.log(
    `${String(exportRows)} records written in ${((performance.now() - filled) / 1000).toFixed(1)} s`,
  );
  await measureExport(baseUrl, cookie, exportRows);

  filled = performance.now();
  await fillAudit(db, exportRows, filterRows, adminId);
  await sql`ANALYZE`.execute(db);
  console.log(
    `\n${String(filterRows)} records in ${((performance.now() - filled) / 1000).toFixed(1)} s more`,
  );
  await measureFilters(baseUrl, cookie);
} finally {
  await portal?.stop();
  rmSync(dir, { recursive: true, force: true });
}
