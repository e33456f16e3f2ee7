import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';
import { csrfTokenFrom } from '../helpers/app.ts';

/*
 * iisnode's own files, unchanged (test/fixtures/iisnode/NOTICE): the interceptor that iisnode
 * puts in front of the entry, and the schema IIS checks web.config against (an attribute it does
 * not declare is error 500.19 and nothing starts).
 */
const fixtures = join(projectRoot, 'test', 'fixtures', 'iisnode');
const webConfig = readFileSync(join(projectRoot, 'web.config'), 'utf8').replace(
  /<!--[\s\S]*?-->/g,
  '',
);

function attributesOf(element: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [, name = '', value = ''] of element.matchAll(/([\w:.-]+)="([^"]*)"/g)) {
    attributes[name] = value.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  }
  return attributes;
}

const iisnode = attributesOf(/<iisnode\b([^>]*)\/>/.exec(webConfig)?.[1] ?? '');

/** The `name → type` of every attribute of `system.webServer/iisnode` in iisnode's schema. */
function schemaAttributes(): Map<string, string> {
  const schema = readFileSync(join(fixtures, 'iisnode_schema.xml'), 'utf8');
  const section =
    /<sectionSchema name="system.webServer\/iisnode">([\s\S]*?)<\/sectionSchema>/.exec(schema)?.[1];
  const attributes = new Map<string, string>();
  for (const [, element = ''] of (section ?? '').matchAll(/<attribute\b([^>]*)\/>/g)) {
    const { name, type } = attributesOf(element);
    if (name && type) attributes.set(name, type);
  }
  return attributes;
}

function filesIn(dir: string): string[] {
  return readdirSync(join(projectRoot, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? filesIn(join(dir, entry.name))
      : [join(dir, entry.name).replaceAll('\\', '/')],
  );
}

/** A watchedFiles entry as iisnode reads it: a folder relative to the entry, then a wildcard. */
function matches(pattern: string, file: string): boolean {
  const slash = pattern.lastIndexOf('\\');
  const folder = slash === -1 ? '' : `${pattern.slice(0, slash).replaceAll('\\', '/')}/`;
  const name = pattern.slice(slash + 1);
  if (!file.startsWith(folder) || file.slice(folder.length).includes('/')) return false;
  const wildcard = name
    .replace(/[.+^${}()|[\]]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${wildcard}$`, 'i').test(file.slice(folder.length));
}

describe('web.config for iisnode (SPEC C3)', () => {
  it("uses only attributes iisnode's schema declares, with values of their type", () => {
    const schema = schemaAttributes();
    expect(schema.size).toBeGreaterThan(30);
    expect(Object.keys(iisnode).filter((name) => !schema.has(name))).toEqual([]);
    for (const [name, value] of Object.entries(iisnode)) {
      if (schema.get(name) === 'bool')
        expect([name, value]).toEqual([name, expect.stringMatching(/^(true|false)$/)]);
      if (schema.get(name) === 'uint')
        expect([name, value]).toEqual([name, expect.stringMatching(/^\d+$/)]);
    }
  });

  it('has the production-safe values of SPEC C3', () => {
    expect(iisnode).toMatchObject({
      node_env: 'production',
      devErrorsEnabled: 'false',
      debuggingEnabled: 'false',
      enableXFF: 'true',
      promoteServerVars: 'HTTPS,AUTH_USER',
      nodeProcessCommandLine: '"%ProgramFiles%\\nodejs\\node.exe"',
    });
  });

  it('hands every request to start.cjs, the entry iisnode can require()', () => {
    expect(/<add name="iisnode" path="([^"]+)"/.exec(webConfig)?.[1]).toBe('start.cjs');
    expect(/<action type="Rewrite" url="([^"]+)"/.exec(webConfig)?.[1]).toBe('start.cjs');
    expect(existsSync(join(projectRoot, 'start.cjs'))).toBe(true);
  });

  it('watches every file the running portal has read, each entry matching files that exist', () => {
    const patterns = (iisnode.watchedFiles ?? '').split(';');
    // iisnode watches each folder alone, not its subfolders, relative to start.cjs's folder.
    const files = ['start.cjs', 'cli.cjs', 'package.json', 'package-lock.json'].concat(
      ...['src', 'config', 'locales', 'views'].map(filesIn),
    );
    // Type declarations and notes (locales/GLOSSARY.md) are not loaded.
    const loaded = files.filter((file) => !file.endsWith('.d.ts') && !file.endsWith('.md'));
    expect(loaded.filter((file) => !patterns.some((pattern) => matches(pattern, file)))).toEqual(
      [],
    );
    expect(patterns.filter((pattern) => !files.some((file) => matches(pattern, file)))).toEqual([]);
  });
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  socketPath: string,
  path: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      { socketPath, path, method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

describe("under iisnode's own interceptor, on a pipe as iisnode hands over (SPEC C3, D3)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-iisnode-'));
  const socketPath = join(dir, 'iisnode.sock');
  let stopped: Promise<{ code: number | null; output: string }>;
  let stop: () => void;

  beforeAll(async () => {
    // As iisnode starts it: node.exe interceptor.js "<site folder>\start.cjs", in that folder,
    // with PORT the pipe and IISNODE_VERSION set (cnodeprocess.cpp, cmoduleconfiguration.cpp).
    const child = spawn(
      process.execPath,
      [join(fixtures, 'interceptor.js'), join(projectRoot, 'start.cjs')],
      {
        cwd: projectRoot,
        env: {
          PATH: process.env.PATH,
          PORT: socketPath,
          IISNODE_VERSION: '0.2.26',
          NODE_ENV: 'production',
          DATABASE_URL: `sqlite:${join(dir, 'mfa.sqlite')}`,
          ENCRYPTION_KEY_FILE: join(dir, 'encryption.key'),
          RATE_LIMIT_SIGNIN_MAX: '2',
          LOG_FILE_DIRECTORY: join(dir, 'logs'),
          PORTAL_URL: 'https://mfa.example.org/',
        },
      },
    );
    let output = '';
    const listening = new Promise<void>((resolve, reject) => {
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('"msg":"MFA Portal listening"')) resolve();
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('exit', () => {
        reject(new Error(`The portal stopped before it listened:\n${output}`));
      });
    });
    stopped = new Promise((resolve) => {
      child.on('close', (code) => {
        resolve({ code, output });
      });
    });
    stop = () => child.kill('SIGTERM');
    await listening;
  });

  afterAll(async () => {
    stop();
    await stopped;
  });

  it('serves the sign-in page over the pipe', async () => {
    const page = await request(socketPath, '/sign-in?lng=fr');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<html lang="fr">');
    expect(page.body).toContain('name="password"');
  });

  it('refuses an X-iisnode header sent twice, a forged one plus the one IIS adds', async () => {
    const refused = await request(socketPath, '/sign-in', {
      headers: { 'X-iisnode-HTTPS': ['on', 'off'] },
    });
    expect(refused.status).toBe(400);
  });

  it('counts sign-ins by the X-Forwarded-For entry iisnode appended, not forged ones', async () => {
    const form = await request(socketPath, '/sign-in', {
      headers: { 'X-Forwarded-For': '203.0.113.7' },
    });
    const cookie = (form.headers['set-cookie'] ?? [])
      .map((value) => value.split(';')[0])
      .join('; ');
    const attempt = (forwardedFor: string) =>
      request(socketPath, '/sign-in', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'X-Forwarded-For': forwardedFor,
          Cookie: cookie,
        },
        body: new URLSearchParams({
          _csrf: csrfTokenFrom(form.body),
          username: 'nobody',
          password: 'wrong',
        }).toString(),
      });
    expect((await attempt('198.51.100.1, 203.0.113.7')).status).toBe(400);
    expect((await attempt('198.51.100.2, 203.0.113.7')).status).toBe(400);
    expect((await attempt('198.51.100.3, 203.0.113.7')).status).toBe(429);
    expect((await attempt('203.0.113.8')).status).toBe(400);
  });

  it('writes its logs to files, since iisnode sends stdout nowhere', () => {
    const files = readdirSync(join(dir, 'logs'));
    expect(files).toHaveLength(1);
    const lines = readFileSync(join(dir, 'logs', files[0] ?? ''), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; signIn?: string });
    expect(lines.map((line) => line.msg)).toContain('MFA Portal listening');
    expect(lines.map((line) => line.msg)).toContain('request completed');
    // The first-admin hint names the address to open, not the pipe.
    expect(lines.find((line) => line.signIn)?.signIn).toBe('https://mfa.example.org/sign-in');
  });

  it('stops cleanly when iisnode recycles it', async () => {
    stop();
    const { code, output } = await stopped;
    expect(output).toContain('"msg":"shutting down"');
    expect(code).toBe(0);
  });
});
