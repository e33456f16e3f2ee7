import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../src/config/index.ts';
import { startServer } from '../../src/http-server.ts';
import { createTestPortal, csrfTokenFrom } from '../helpers/app.ts';
import { cliContext } from '../helpers/context.ts';
import {
  createTemporaryPostgresDatabase,
  needs,
  postgresUnavailable,
} from '../helpers/services.ts';

const skipPostgres = await needs('PostgreSQL', postgresUnavailable);

function getOverSocket(socketPath: string, path: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    http
      .get({ socketPath, path }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, body });
        });
      })
      .on('error', reject);
  });
}

/** Runs a node process; sends SIGTERM once its stdout shows `stopWhen`. */
function runNode(args: string[], env: Record<string, string>, stopWhen?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stopWhen && stdout.includes(stopWhen)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe('serving (SPEC C3, C4, O1, O5)', () => {
  it('listens on a socket path given as PORT, as iisnode hands over a named pipe', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfa-sock-'));
    const socketPath = join(dir, 'portal.sock');
    const config = loadConfig({
      env: {
        PORT: socketPath,
        DATABASE_URL: `sqlite:${join(dir, 'mfa.sqlite')}`,
        ENCRYPTION_KEY_FILE: join(dir, 'encryption.key'),
        LOG_LEVEL: 'silent',
      },
    });
    const running = await startServer(config);
    try {
      expect(running.address).toBe(socketPath);
      const page = await getOverSocket(socketPath, '/sign-in?lng=nl');
      expect(page.status).toBe(200);
      expect(page.body).toContain('<html lang="nl">');
      expect((await getOverSocket(socketPath, '/healthz')).body).toBe('{"status":"ok"}');
    } finally {
      await running.stop();
    }
  });

  it('records an IPv4 client of the dual-stack listener in plain form, not as ::ffff:', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfa-ip-'));
    const running = await startServer(
      loadConfig({
        env: {
          PORT: '0',
          DATABASE_URL: `sqlite:${join(dir, 'mfa.sqlite')}`,
          ENCRYPTION_KEY_FILE: join(dir, 'encryption.key'),
          LOG_LEVEL: 'silent',
        },
      }),
    );
    try {
      const agent = supertest.agent(`http://127.0.0.1:${String(running.address)}`);
      const token = csrfTokenFrom((await agent.get('/sign-in')).text);
      await agent
        .post('/sign-in')
        .type('form')
        .send({ _csrf: token, username: 'nobody', password: 'wrong' })
        .expect(400);
      const attempts = await running.services.mfa.administration.auditEvents(cliContext, {
        type: 'sign-in.password',
      });
      expect(attempts.find((e) => e.username === 'nobody')?.clientIp).toBe('127.0.0.1');
    } finally {
      await running.stop();
    }
  });

  it('trusts only the X-Forwarded-For entry iisnode appended, so forged ones change nothing', async () => {
    const portal = await createTestPortal({
      IISNODE_VERSION: '0.2.26',
      RATE_LIMIT_SIGNIN_MAX: '2',
    });
    try {
      const agent = supertest.agent(portal.app);
      const token = csrfTokenFrom((await agent.get('/sign-in')).text);
      const attempt = (forged: string) =>
        agent
          .post('/sign-in')
          .set('X-Forwarded-For', `${forged}, 203.0.113.7`)
          .type('form')
          .send({ _csrf: token, username: 'x', password: 'y' });
      expect((await attempt('198.51.100.1')).status).toBe(400);
      expect((await attempt('198.51.100.2')).status).toBe(400);
      expect((await attempt('198.51.100.3')).status).toBe(429);
      // Another client, as iisnode reports it, has its own allowance.
      const other = await agent
        .post('/sign-in')
        .set('X-Forwarded-For', '203.0.113.8')
        .type('form')
        .send({ _csrf: token, username: 'x', password: 'y' });
      expect(other.status).toBe(400);
    } finally {
      await portal.close();
    }
  });

  it('ignores X-Forwarded-For entirely when no proxy is trusted', async () => {
    const portal = await createTestPortal({ RATE_LIMIT_SIGNIN_MAX: '1' });
    try {
      const agent = supertest.agent(portal.app);
      const token = csrfTokenFrom((await agent.get('/sign-in')).text);
      const attempt = (forwarded: string) =>
        agent
          .post('/sign-in')
          .set('X-Forwarded-For', forwarded)
          .type('form')
          .send({ _csrf: token, username: 'x', password: 'y' });
      expect((await attempt('203.0.113.1')).status).toBe(400);
      expect((await attempt('203.0.113.2')).status).toBe(429);
    } finally {
      await portal.close();
    }
  });

  it.skipIf(skipPostgres)(
    'reports readiness, and a lost database gives the unavailable page, not a 500',
    async () => {
      const temporary = await createTemporaryPostgresDatabase();
      const portal = await createTestPortal({ DATABASE_URL: temporary.url });
      try {
        const ready = await supertest(portal.app).get('/readyz').expect(200);
        expect(ready.body).toEqual({ status: 'ready', checks: { database: 'ok' } });
        const agent = supertest.agent(portal.app);
        const form = await agent.get('/sign-in?lng=fr').expect(200);

        await temporary.drop();
        const down = await supertest(portal.app).get('/readyz').expect(503);
        expect(down.body).toEqual({ status: 'unavailable', checks: { database: 'failed' } });
        const signIn = await agent
          .post('/sign-in')
          .type('form')
          .send({ _csrf: csrfTokenFrom(form.text), username: 'x', password: 'y' });
        expect(signIn.status).toBe(503);
        expect(signIn.headers['retry-after']).toBe('30');
        expect(signIn.text).toContain('Le service est temporairement indisponible');
      } finally {
        await portal.close().catch(() => undefined);
      }
    },
  );

  it('stops at start-up with one line naming a wrong key', async () => {
    const result = await runNode(['src/server.ts'], { SESSION_IDLE_MINUTES: 'soon' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'Invalid configuration: SESSION_IDLE_MINUTES must be a whole number from 1 to 1440 (got "soon")',
    ]);
  });

  it('tells how to create the first admin, and shuts down cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfa-proc-'));
    const result = await runNode(
      ['src/server.ts'],
      {
        PORT: '0',
        DATABASE_URL: `sqlite:${join(dir, 'mfa.sqlite')}`,
        ENCRYPTION_KEY_FILE: join(dir, 'encryption.key'),
      },
      '/sign-in\n',
    );
    expect(result.stdout).toContain('npx mfa-portal create-admin --username admin');
    expect(result.stdout).toContain('"msg":"shutting down"');
    expect(result.code).toBe(0);
  });
});

describe('under iisnode (SPEC C3, D3)', () => {
  it('takes HTTPS from the server variable IIS promoted, not from X-Forwarded-Proto', async () => {
    const portal = await createTestPortal({
      IISNODE_VERSION: '0.2.26',
      SSL_REQUIRED: 'true',
      PORTAL_URL: 'https://mfa.example.org',
    });
    try {
      const app = supertest(portal.app);
      const secure = await app
        .get('/sign-in')
        .set('X-iisnode-HTTPS', 'on')
        .set('X-Forwarded-For', '203.0.113.9')
        .expect(200);
      expect(String(secure.headers['set-cookie'])).toContain('__Host-mfa.csrf=');
      const forged = await app
        .get('/sign-in')
        .set('X-iisnode-HTTPS', 'off')
        .set('X-Forwarded-Proto', 'https')
        .expect(301);
      expect(forged.headers.location).toBe('https://mfa.example.org/sign-in');
    } finally {
      await portal.close();
    }
  });

  it('refuses a request whose X-iisnode header was sent twice (forged plus IIS)', async () => {
    const portal = await createTestPortal({ IISNODE_VERSION: '0.2.26' });
    try {
      const response = await supertest(portal.app)
        .get('/sign-in?lng=nl')
        .set('X-iisnode-HTTPS', 'on, off') // Node joins a repeated header into this one value
        .expect(400);
      expect(response.text).toContain('Het verzoek kon niet worden verwerkt');
    } finally {
      await portal.close();
    }
  });
});
