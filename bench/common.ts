/**
 * Pieces shared by the benchmarks in bench/: settings from the environment, the portal's
 * benchmark configuration, a worker in a forked child process (the load generator) and the
 * figures. See bench/README.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeBase32, totp } from '../src/core/otp.ts';
import type { Services } from '../src/services.ts';
import { cliContext } from '../test/helpers/context.ts';

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

  constructor(moduleUrl: string, flag: string, name: string, env: NodeJS.ProcessEnv = process.env) {
    this.name = name;
    this.child = fork(fileURLToPath(moduleUrl), [flag], {
      env,
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

// ---------------------------------------------------------------------------------------------
// Users with the mobile app, and a browser's sign-in over HTTP.

export interface BenchUser {
  username: string;
  displayName: string;
  /** The mobile app's seed, hex. */
  secret: string;
}

/** The mobile app's parameters the benchmark users have. */
export const appParams = { algorithm: 'SHA1', digits: 6, period: 30 } as const;

/**
 * A new user with `passwordHash` and the mobile app, set up through the same interface User
 * Setup calls, without the walk through its pages (security questions must be switched off).
 * The app is proven with the previous time step's code, so that this step's code is still free.
 */
export async function enrolledUser(
  services: Services,
  username: string,
  displayName: string,
  passwordHash: string,
): Promise<BenchUser> {
  const user = await services.users.create({ username, displayName, passwordHash, role: 'user' });
  const context = { ...cliContext, actor: { kind: 'user', userId: user.id } } as const;
  const { enrolment } = services.mfa;
  const { draftId } = await enrolment.generateAppSeed(context, { userId: user.id });
  const setup = await enrolment.appSetup(context, { userId: user.id, draftId, issuer: 'bench' });
  const secret = decodeBase32(setup.activation?.secret ?? '');
  // On a busy machine a time step may end between the code and its check: then once more.
  let proven = { outcome: '' };
  for (let attempt = 0; attempt < 3 && proven.outcome !== 'proven'; attempt++) {
    const code = totp(secret, Date.now() - appParams.period * 1000, appParams);
    proven = await enrolment.proveApp(context, { userId: user.id, draftId, code });
  }
  const saved =
    proven.outcome === 'proven' &&
    (await enrolment.complete(context, { userId: user.id, draftId, answers: [] }));
  if (!saved || saved.outcome !== 'enrolled') throw new Error(`${user.username} not set up`);
  return {
    username: user.username,
    displayName: user.display_name,
    secret: secret.toString('hex'),
  };
}

export interface HttpResponse {
  status: number;
  location: string | undefined;
  setCookie: string[];
  body: string;
}

export function send(
  agent: http.Agent,
  url: string,
  method: 'GET' | 'POST',
  cookies: Map<string, string>,
  form?: Record<string, string>,
): Promise<HttpResponse> {
  const body = form ? new URLSearchParams(form).toString() : undefined;
  const headers: Record<string, string> = { 'accept-language': 'en' };
  if (cookies.size > 0) {
    headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const setCookie = response.headers['set-cookie'] ?? [];
        for (const cookie of setCookie) {
          const pair = cookie.split(';')[0] ?? '';
          const equals = pair.indexOf('=');
          if (equals > 0) cookies.set(pair.slice(0, equals), pair.slice(equals + 1));
        }
        resolve({
          status: response.statusCode ?? 0,
          location: response.headers.location,
          setCookie,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    request.on('error', reject);
    request.setTimeout(30_000, () => request.destroy(new Error('no answer within 30 s')));
    request.end(body);
  });
}

/** Throws, saying which step of whose sign-in went wrong and how, unless `ok`. */
export function expectStep(
  ok: boolean,
  step: string,
  user: BenchUser,
  response: HttpResponse,
): void {
  if (ok) return;
  const text = response.body
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  throw new Error(
    `${step} for ${user.username}: answered ${response.status}` +
      (response.location ? ` → ${response.location}` : '') +
      `: ${text.slice(0, 300)}`,
  );
}

export const csrfToken = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

/**
 * One complete sign-in, as a browser makes it from a fresh cookie jar, every answer checked:
 * the sign-in page, the password, the second step with the app's code (`code` gets the time it
 * is sent) and the landing page. Returns the cookies, signed in.
 */
export async function signInAs(
  agent: http.Agent,
  baseUrl: string,
  user: BenchUser,
  password: string,
  code: (now: number) => string,
): Promise<Map<string, string>> {
  const url = (path: string) => `${baseUrl}${path}`;
  const cookies = new Map<string, string>(); // a fresh browser

  const page = await send(agent, url('/sign-in'), 'GET', cookies);
  const pageToken = csrfToken(page.body);
  expectStep(
    page.status === 200 && pageToken !== undefined && page.body.includes('name="password"'),
    'GET /sign-in',
    user,
    page,
  );
  const passwordStep = await send(agent, url('/sign-in'), 'POST', cookies, {
    _csrf: pageToken ?? '',
    username: user.username,
    password: password,
  });
  expectStep(
    passwordStep.status === 303 && passwordStep.location === '/verify',
    'POST /sign-in',
    user,
    passwordStep,
  );

  const verify = await send(agent, url('/verify'), 'GET', cookies);
  const verifyToken = csrfToken(verify.body);
  expectStep(
    verify.status === 200 && verifyToken !== undefined && verify.body.includes('name="code"'),
    'GET /verify',
    user,
    verify,
  );
  const codeStep = await send(agent, url('/verify'), 'POST', cookies, {
    _csrf: verifyToken ?? '',
    method: 'app',
    code: code(Date.now()),
  });
  expectStep(
    codeStep.status === 303 && codeStep.location === '/account',
    'POST /verify',
    user,
    codeStep,
  );

  const account = await send(agent, url('/account'), 'GET', cookies);
  expectStep(
    account.status === 200 &&
      account.body.includes('<html lang="en">') &&
      account.body.includes(user.displayName) &&
      account.body.includes('Mobile app'),
    'GET /account',
    user,
    account,
  );
  return cookies;
}
