/**
 * Pieces shared by the benchmarks in bench/: settings from the environment, the portal's
 * benchmark configuration, a worker in a forked child process (the load generator) and the
 * figures. See bench/README.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// Settings.

/** A numeric setting from the environment, with its default and its least allowed value. */
export function setting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`${name} must be a number ≥ ${min} (got "${raw}")`);
  }
  return value;
}

/**
 * The portal's configuration keys that make it a benchmark. The checkout's config files and
 * web.config apply as they would in production, except for these: a fresh SQLite database in
 * `tempDir`, plain HTTP on a free port, no Redis (sessions go to the database), the portal at
 * the root, and no log output.
 */
export function benchPortalEnv(tempDir: string): Record<string, string> {
  return {
    DATABASE_URL: `sqlite:${join(tempDir, 'mfa.sqlite')}`,
    PORT: '0',
    LOG_LEVEL: 'silent',
    BASE_PATH: '',
    SSL_REQUIRED: 'false',
    TLS_CERT_FILE: '',
    TLS_KEY_FILE: '',
    REDIS_URL: '',
  };
}

// ---------------------------------------------------------------------------------------------
// A worker in a forked child process: the parent sends jobs, the child answers each with its
// result. The load generators run this way so that they run on their own core, not on the
// servers' event loop.

/** What the child sends back. */
type WorkerMessage<Result> =
  { ready: true } | { ok: true; result: Result } | { ok: false; error: string };

/**
 * The child's side: run each job the parent sends, answer with the result. The job arrives as
 * the parent's ChildWorker sent it, so `handle` may take it as that worker's job type.
 */
export function serveJobs<Result>(handle: (job: never) => Promise<Result>): void {
  process.on('disconnect', () => {
    process.exit(0);
  });
  const reply = (message: WorkerMessage<Result>) => {
    // The parent may be gone already (it failed, or was stopped): nobody to answer then.
    if (process.connected) process.send?.(message, undefined, {}, () => undefined);
  };
  process.on('message', (job: unknown) => {
    handle(job as never).then(
      (result) => {
        reply({ ok: true, result });
      },
      (error: unknown) => {
        reply({ ok: false, error: String(error) });
      },
    );
  });
  reply({ ready: true });
}

/**
 * The parent's side: `moduleUrl` (an `import.meta.url`) forked with `flag`, which makes that
 * module call serveJobs instead of its main. `name` is what error messages call it.
 */
export class ChildWorker<Job, Result> {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private readonly name: string;

  constructor(moduleUrl: string, flag: string, name: string) {
    this.name = name;
    this.child = fork(fileURLToPath(moduleUrl), [flag], {
      execArgv: [], // not --cpu-prof and the like: those are meant for the servers
      serialization: 'advanced', // typed arrays (latencies) cross as they are
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('message', () => {
        resolve();
      });
      this.child.once('error', reject);
      this.child.once('exit', (code) => {
        reject(new Error(`${name} exited early (code ${String(code)})`));
      });
    });
    this.ready.catch(() => undefined); // reported by run(), if there is one
  }

  async run(job: Job): Promise<Result> {
    await this.ready;
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => {
        reject(new Error(`${this.name} exited during a run (code ${String(code)})`));
      };
      this.child.once('exit', onExit);
      this.child.once('message', (message: WorkerMessage<Result>) => {
        this.child.off('exit', onExit);
        if ('ready' in message) reject(new Error(`unexpected message from the ${this.name}`));
        else if (message.ok) resolve(message.result);
        else reject(new Error(`${this.name}: ${message.error}`));
      });
      this.child.send(job as object);
    });
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Figures.

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length); // nearest rank
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? NaN;
}

/** All values of several arrays in one, sorted. */
export function sortedConcat(parts: Float64Array[]): Float64Array {
  const all = new Float64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all.sort();
}

export const pad = (value: string, width: number) => value.padStart(width);
export const ms = (value: number) => value.toFixed(2);
/** A share of one core (1 is one core fully busy) as a percentage; – when unknown. */
export const percent = (share: number) =>
  Number.isNaN(share) ? '–' : `${(share * 100).toFixed(0)}%`;
