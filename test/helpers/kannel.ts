import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Debian's Kannel (`apt-get install kannel`), started by the test: bearerbox with a fake SMSC,
 * smsbox with `sendsms` and an sms-service that passes every incoming text to the portal, and
 * Kannel's own `fakesmsc` as the phone network: it prints each text Kannel delivers and sends
 * the phone's replies. Kannel's fake SMSC reports each text delivered (DLR type 1).
 */

export const bearerbox = '/usr/sbin/bearerbox';
export const smsbox = '/usr/sbin/smsbox';
export const fakesmsc = '/usr/lib/kannel/test/fakesmsc';

export function kannelMissing(): Promise<string | undefined> {
  const missing = [bearerbox, smsbox, fakesmsc].filter((path) => !existsSync(path));
  return Promise.resolve(
    missing.length === 0 ? undefined : `${missing.join(', ')} not found (apt-get install kannel)`,
  );
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Kannel: ${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A text as fakesmsc printed it: "Got message N: <from to text body>". */
export interface DeliveredText {
  from: string;
  to: string;
  body: string;
}

export async function startKannel(options: { inboundUrl: string }) {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-kannel-'));
  const [admin, boxes, smsc, sendsms] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const username = 'portal';
  const password = randomBytes(8).toString('hex');
  const config = join(dir, 'kannel.conf');
  writeFileSync(
    config,
    [
      'group = core',
      `admin-port = ${String(admin)}`,
      `admin-password = ${randomBytes(8).toString('hex')}`,
      `smsbox-port = ${String(boxes)}`,
      'box-allow-ip = 127.0.0.1',
      'admin-allow-ip = 127.0.0.1',
      'dlr-storage = internal',
      `log-file = "${join(dir, 'bearerbox.log')}"`,
      'log-level = 1',
      '',
      'group = smsc',
      'smsc = fake',
      'smsc-id = fake',
      `port = ${String(smsc)}`,
      'connect-allow-ip = 127.0.0.1',
      '',
      'group = smsbox',
      'bearerbox-host = 127.0.0.1',
      `sendsms-port = ${String(sendsms)}`,
      `log-file = "${join(dir, 'smsbox.log')}"`,
      'log-level = 1',
      '',
      'group = sendsms-user',
      `username = ${username}`,
      `password = ${password}`,
      '',
      'group = sms-service',
      'keyword = default',
      'catch-all = true',
      // The portal answers nothing to a reply: no text goes back.
      'max-messages = 0',
      `get-url = "${options.inboundUrl}&from=%p&text=%a"`,
      '',
    ].join('\n'),
  );

  const processes: ChildProcess[] = [];
  const delivered: DeliveredText[] = [];
  function run(program: string, args: string[]) {
    const child = spawn(program, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    processes.push(child);
    let pending = '';
    const read = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const got = /Got message \d+: <(\S+) (\S+) text (.*)>$/.exec(line);
        if (got) delivered.push({ from: got[1] ?? '', to: got[2] ?? '', body: got[3] ?? '' });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    return child;
  }
  const stop = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };

  const reachable = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        resolve(false);
      });
    });

  /** The phone network: a fakesmsc connected to the fake SMSC, sending `send` first, if any. */
  let network: ChildProcess | undefined;
  async function connectNetwork(send?: string) {
    if (network) await stop(network);
    network = run(fakesmsc, [
      '-H',
      '127.0.0.1',
      '-r',
      String(smsc),
      '-i',
      '0',
      '-m',
      send === undefined ? '0' : '1',
      send ?? '0 0 text nothing',
    ]);
  }

  run(bearerbox, [config]);
  await until('bearerbox listening', () => reachable(smsc));
  await connectNetwork();
  run(smsbox, [config]);
  await until('smsbox listening', () => reachable(sendsms));

  return {
    username,
    password,
    sendsmsUrl: `http://127.0.0.1:${String(sendsms)}/cgi-bin/sendsms`,
    delivered,
    /** Waits for the n-th text Kannel delivers to the network. */
    async nthDelivered(n: number): Promise<DeliveredText> {
      await until(`text ${String(n)} delivered`, () => delivered.length >= n);
      return delivered[n - 1] as DeliveredText;
    },
    /** A text from a phone to the portal's number, through the network into Kannel. */
    async reply(from: string, to: string, body: string) {
      await connectNetwork(`${from} ${to} text ${body}`);
    },
    async close() {
      for (const child of [...processes].reverse()) await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Kannel = Awaited<ReturnType<typeof startKannel>>;
