import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { projectRoot } from '../../src/config/index.ts';

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Kills a server the test started, as a crash would, and waits until it is gone. */
export async function killProcess(running: ChildProcess | undefined): Promise<void> {
  if (!running || running.exitCode !== null) return;
  const exited = once(running, 'exit');
  running.kill('SIGKILL');
  await exited;
}

/** A reason to skip when there is no redis-server to start (see `needs`). */
export function redisServerMissing(): Promise<string | undefined> {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return Promise.resolve(
    probe.error ? `redis-server cannot be run (${probe.error.message})` : undefined,
  );
}

export interface RedisServer {
  url: string;
  port: number;
  /** Kills the server, as a crash would; what it held is gone (nothing is saved). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

/**
 * A Redis of the test's own on a free port, which the test can stop and start: the shared one
 * on 6379 must stay up for the other test files.
 */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  const listenOn = port ?? (await freePort());
  let child: ChildProcess | undefined;
  const start = async () => {
    const started = spawn(
      'redis-server',
      ['--port', String(listenOn), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child = started;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      started.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      });
      started.once('exit', (code) => {
        reject(new Error(`redis-server exited with ${String(code)}: ${output}`));
      });
    });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    await killProcess(running);
  };
  await start();
  return { url: `redis://127.0.0.1:${String(listenOn)}`, port: listenOn, stop, start };
}

export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones, as a database that went away. */
  cut(): Promise<void>;
  /**
   * Passes nothing on, on open connections or new ones, as a network that drops packets; what
   * was sent meanwhile arrives once it flows again.
   */
  stall(): void;
  /** Accepts connections again on the same port, and lets stalled ones flow. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A node:net proxy on a free port in front of `target`, which the test can cut and restore. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let stalled = false;
  const flow = ([client, upstream]: [net.Socket, net.Socket]) => {
    client.pipe(upstream).pipe(client);
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    for (const socket of pair) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      });
    }
    if (stalled) {
      client.pause();
      upstream.pause();
    } else flow(pair);
  });
  const listen = async (port: number) => {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  };
  await listen(0);
  const { port } = server.address() as net.AddressInfo;
  const cut = async () => {
    if (!server.listening) return;
    const closed = once(server, 'close');
    server.close();
    for (const pair of pairs) for (const socket of pair) socket.destroy();
    await closed;
  };
  return {
    port,
    cut,
    stall: () => {
      stalled = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    restore: async () => {
      if (stalled) {
        stalled = false;
        for (const pair of pairs) flow(pair);
      }
      if (!server.listening) await listen(port);
    },
    close: cut,
  };
}

export interface PortalProcess {
  url: string;
  child: ChildProcess;
  /** Everything it wrote to stdout so far (JSON log lines and the first-admin hint). */
  output(): string;
  /** The JSON log lines so far. */
  logs(): { level: number; msg: string; err?: { code?: unknown } }[];
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * `src/server.ts` as its own process on a free port, as npm start runs it; resolves once it
 * listens. A portal that fails to start rejects with what it wrote.
 */
export async function startPortalProcess(env: Record<string, string>): Promise<PortalProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/server.ts'], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      LOG_LEVEL: 'info',
      BASE_PATH: '',
      SSL_REQUIRED: 'false',
      PORTAL_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('"msg":"MFA Portal listening"')) resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`the portal exited with ${String(code)}: ${stderr}${stdout}`));
    });
  });
  return {
    url: `http://127.0.0.1:${String(port)}`,
    child,
    output: () => stdout,
    logs: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string }),
    kill: async (signal) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

/** Asks `check` again every 100 ms until it holds, for at most `withinMs`. */
export async function eventually(check: () => Promise<boolean>, withinMs = 10_000): Promise<void> {
  const until = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not so within ${String(withinMs)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
