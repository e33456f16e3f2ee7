import { networkInterfaces } from 'node:os';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPortal, type TestPortal } from '../helpers/app.ts';
import { startUpWarnings } from '../helpers/logs.ts';
import { listen, sendRaw, type Listening } from '../helpers/raw-http.ts';
import { needs } from '../helpers/services.ts';

/*
 * The simulator (SIMULATOR_ENABLED) shows every user's texts and answers their calls: it answers
 * only a browser on this machine, is refused in production and is announced at start-up.
 */

/** An address of this machine that is not loopback, to be a client from elsewhere. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry?.family === 'IPv4' && !entry.internal)?.address;
const noOutsideAddress = await needs('A non-loopback IPv4 address', () =>
  Promise.resolve(outsideAddress ? undefined : 'this machine has none'),
);

let portal: TestPortal;
beforeAll(async () => {
  portal = await createTestPortal({ SIMULATOR_ENABLED: 'true', TRUST_PROXY: 'true' });
});
afterAll(async () => {
  await portal.close();
});

describe('the simulator page', () => {
  it('answers a browser on this machine', async () => {
    await supertest(portal.app).get('/simulator').expect(200);
  });

  it('is not found through a proxy, whatever address the proxy forwards', async () => {
    for (const forwarded of ['203.0.113.7', '127.0.0.1']) {
      await supertest(portal.app).get('/simulator').set('X-Forwarded-For', forwarded).expect(404);
    }
    await supertest(portal.app).get('/simulator').set('Forwarded', 'for=127.0.0.1').expect(404);
  });

  describe.skipIf(noOutsideAddress)('from another machine', () => {
    let server: Listening;
    beforeAll(async () => {
      server = await listen(portal.app, '0.0.0.0');
    });
    afterAll(async () => {
      await server.close();
    });

    it('is not found, even when a trusted header says the client is loopback', async () => {
      const forwardings: Record<string, string>[] = [{}, { 'X-Forwarded-For': '127.0.0.1' }];
      for (const headers of forwardings) {
        const response = await sendRaw(
          server.port,
          'GET /simulator HTTP/1.1',
          headers,
          outsideAddress,
        );
        expect(response.status).toBe(404);
        expect(response.body).toContain('Page not found');
      }
      const signIn = await sendRaw(server.port, 'GET /sign-in HTTP/1.1', {}, outsideAddress);
      expect(signIn.status).toBe(200);
    });
  });
});

describe('SIMULATOR_ENABLED', () => {
  it('warns at start-up that the simulator is on', async () => {
    expect(await startUpWarnings({ SIMULATOR_ENABLED: 'true' })).toEqual([
      expect.stringMatching(/^SIMULATOR_ENABLED is true/),
    ]);
  });
});
