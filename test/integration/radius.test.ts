import { createHash, createHmac } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryUnavailableError } from '../../src/providers/directory/errors.ts';
import { createRadiusClient, type RadiusOptions } from '../../src/providers/directory/radius.ts';
import { browserAgent, createTestPortal, signIn, type TestPortal } from '../helpers/app.ts';
import {
  freeradiusMissing,
  freeUdpPort,
  radiusSecret,
  radiusUsers,
  startFreeRadius,
  type FreeRadius,
} from '../helpers/freeradius.ts';
import { needs } from '../helpers/services.ts';

/**
 * SPEC D2 against a real FreeRADIUS (test/helpers/freeradius.ts), and against a server of the
 * test's own that forges replies: every reply must carry a right Response Authenticator and a
 * right Message-Authenticator (BlastRADIUS), come from the server asked and answer the request
 * sent, or it is dropped as if it never came.
 */
const skip = await needs('FreeRADIUS', freeradiusMissing);

let radius: FreeRadius;
beforeAll(async () => {
  if (!skip) radius = await startFreeRadius();
});
afterAll(async () => {
  if (!skip) await radius.close();
});

function client(overrides: Partial<RadiusOptions> = {}) {
  return createRadiusClient({
    servers: [{ host: '127.0.0.1', port: radius.port }],
    secret: radiusSecret,
    timeoutMs: 500,
    retries: 1,
    nasIdentifier: 'mfa-portal-test',
    ...overrides,
  });
}

/** A reply signed as a server with `secret` signs it, with or without a Message-Authenticator. */
function reply(
  request: Buffer,
  code: number,
  secret: string,
  { signed = true, identifier = request[1] ?? 0 } = {},
): Buffer {
  const attributes = signed ? Buffer.from([80, 18, ...Buffer.alloc(16)]) : Buffer.alloc(0);
  const packet = Buffer.concat([
    Buffer.from([code, identifier, 0, 0]),
    request.subarray(4, 20),
    attributes,
  ]);
  packet.writeUInt16BE(packet.length, 2);
  if (signed) createHmac('md5', secret).update(packet).digest().copy(packet, 22);
  createHash('md5').update(packet).update(secret).digest().copy(packet, 4);
  return packet;
}

/** A RADIUS server of the test's own: `answer` says what to send back for each request. */
async function forgingServer(
  answer: (request: Buffer, socket: Socket, from: { address: string; port: number }) => void,
) {
  const socket = createSocket('udp4');
  socket.on('message', (request, from) => {
    answer(request, socket, from);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { port: socket.address().port, close: () => socket.close() };
}

describe.skipIf(skip)('RADIUS PAP on FreeRADIUS (SPEC D2)', () => {
  it('accepts the right password and rejects a wrong one or an unknown user, with Message-Authenticator both ways', async () => {
    expect(await client().authenticate('alice', radiusUsers.alice)).toBe('accept');
    expect(await client().authenticate('alice', 'wrong')).toBe('reject');
    expect(await client().authenticate('nobody', radiusUsers.alice)).toBe('reject');
    // Passwords longer than one 16-byte block are hidden block by block (RFC 2865 5.2).
    expect(await client().authenticate('a.long.name', radiusUsers['a.long.name'])).toBe('accept');
  });

  it('reports an Access-Challenge as such', async () => {
    expect(await client().authenticate('challenger', 'anything')).toBe('challenge');
  });

  it('refuses to trust a reply signed with another secret: FreeRADIUS with our wrong secret never counts as an answer', async () => {
    const error = await client({ secret: 'not the shared secret' })
      .authenticate('alice', radiusUsers.alice)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DirectoryUnavailableError);
  });

  it('fails over to the next server, and is unavailable when none answers', async () => {
    const dead = await freeUdpPort();
    const failover = client({
      servers: [
        { host: '127.0.0.1', port: dead },
        { host: '127.0.0.1', port: radius.port },
      ],
    });
    expect(await failover.authenticate('alice', radiusUsers.alice)).toBe('accept');
    const started = Date.now();
    const error = await client({ servers: [{ host: '127.0.0.1', port: dead }] })
      .authenticate('alice', radiusUsers.alice)
      .catch((e: unknown) => e);
    expect(String(error)).toContain(`127.0.0.1:${String(dead)}`);
    // Two sends of 500 ms each (one retry), then it gives up.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('asks a server that gave no answer only after the others for a while, then first again', async () => {
    const dead = await freeUdpPort();
    const timed = async (ask: () => Promise<string>) => {
      const started = performance.now();
      expect(await ask()).toBe('accept');
      return performance.now() - started;
    };
    const failover = client({
      servers: [
        { host: '127.0.0.1', port: dead },
        { host: '127.0.0.1', port: radius.port },
      ],
      quietMs: 1500,
    });
    const ask = () => failover.authenticate('alice', radiusUsers.alice);
    // The first sign-in waits for the dead server: two sends of 500 ms.
    expect(await timed(ask)).toBeGreaterThanOrEqual(1000);
    // The next ones go to the live server first, without waiting.
    expect(await timed(ask)).toBeLessThan(900);
    expect(await timed(ask)).toBeLessThan(900);
    // Once its quiet time is over, the first server is asked first again.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(await timed(ask)).toBeGreaterThanOrEqual(1000);
  });

  it('drops forged replies silently: a wrong Response Authenticator, no Message-Authenticator, a wrong identifier, another source port; only the genuine one counts', async () => {
    const other = createSocket('udp4');
    other.bind(0, '127.0.0.1');
    await once(other, 'listening');
    const server = await forgingServer((request, socket, from) => {
      const send = (packet: Buffer, via = socket) => {
        via.send(packet, from.port, from.address);
      };
      // An Access-Accept an attacker would like the portal to believe, in every wrong form.
      send(reply(request, 2, 'guessed secret'));
      send(reply(request, 2, radiusSecret, { signed: false }));
      send(reply(request, 2, radiusSecret, { identifier: ((request[1] ?? 0) + 1) % 256 }));
      send(reply(request, 2, radiusSecret), other);
      send(Buffer.from([2, request[1] ?? 0, 0, 20]));
      // Then the genuine answer, a rejection.
      setTimeout(() => {
        send(reply(request, 3, radiusSecret));
      }, 50);
    });
    try {
      const answer = await client({
        servers: [{ host: '127.0.0.1', port: server.port }],
      }).authenticate('alice', radiusUsers.alice);
      expect(answer).toBe('reject');
    } finally {
      server.close();
      other.close();
    }
  });

  it('treats a server that only ever forges as no answer at all', async () => {
    const server = await forgingServer((request, socket, from) => {
      socket.send(reply(request, 2, radiusSecret, { signed: false }), from.port, from.address);
    });
    try {
      const error = await client({ servers: [{ host: '127.0.0.1', port: server.port }] })
        .authenticate('alice', radiusUsers.alice)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DirectoryUnavailableError);
    } finally {
      server.close();
    }
  });

  it('never sends the password typed for a disabled account to the server, not even under another name', async () => {
    /** The User-Name and the User-Password as the server reads them (RFC 2865 §5.2). */
    const read = (request: Buffer) => {
      const found: Record<number, Buffer> = {};
      for (let offset = 20; offset < request.length; offset += request[offset + 1] ?? 255) {
        found[request[offset] ?? 0] = request.subarray(
          offset + 2,
          offset + (request[offset + 1] ?? 0),
        );
      }
      const hidden = found[2] ?? Buffer.alloc(0);
      const plain = Buffer.alloc(hidden.length);
      for (let block = 0; block < hidden.length; block += 16) {
        const previous = block === 0 ? request.subarray(4, 20) : hidden.subarray(block - 16, block);
        const mask = createHash('md5').update(radiusSecret).update(previous).digest();
        for (let i = 0; i < 16; i += 1)
          plain[block + i] = (hidden[block + i] ?? 0) ^ (mask[i] ?? 0);
      }
      return { username: found[1]?.toString(), password: plain.toString().replace(/\0+$/, '') };
    };
    const asked: { username: string | undefined; password: string }[] = [];
    const server = await forgingServer((request, socket, from) => {
      const { username, password } = read(request);
      asked.push({ username, password });
      const accept = username === 'alice' && password === radiusUsers.alice;
      socket.send(reply(request, accept ? 2 : 3, radiusSecret), from.port, from.address);
    });
    const portal = await createTestPortal({
      PRIMARY_AUTHENTICATION: 'radius',
      RADIUS_SERVERS: `127.0.0.1:${String(server.port)}`,
      RADIUS_SECRET: radiusSecret,
    });
    try {
      expect((await signIn(browserAgent(portal), 'alice', radiusUsers.alice)).status).toBe(303);
      await portal.services.database.db.updateTable('users').set({ disabled: 1 }).execute();
      asked.length = 0;
      expect((await signIn(browserAgent(portal), 'alice', radiusUsers.alice)).status).toBe(400);
      // The refusal still asks the server once, for the time it takes, but not with her password.
      expect(asked).toHaveLength(1);
      expect(asked[0]?.username).not.toBe('alice');
      expect(asked[0]?.password).not.toBe(radiusUsers.alice);
      expect(asked[0]?.password).toHaveLength(radiusUsers.alice.length);
    } finally {
      await portal.close();
      server.close();
    }
  });

  describe('through the portal (SPEC J1)', () => {
    let portal: TestPortal;
    beforeAll(async () => {
      portal = await createTestPortal({
        RATE_LIMIT_SIGNIN_MAX: '1000',
        PRIMARY_AUTHENTICATION: 'radius',
        RADIUS_SERVERS: `127.0.0.1:${String(radius.port)}`,
        RADIUS_SECRET: radiusSecret,
        RADIUS_TIMEOUT_SECONDS: '1',
        RADIUS_RETRIES: '0',
        RADIUS_DOMAINS: 'CONTOSO,contoso.com',
      });
    });
    afterAll(async () => {
      await portal.close();
    });

    it('signs a RADIUS user in, with an account made once the server accepts them, then User Setup', async () => {
      expect((await signIn(browserAgent(portal), 'alice', 'wrong')).status).toBe(400);
      expect(await portal.services.users.findByUsername('alice')).toBeUndefined();
      const response = await signIn(browserAgent(portal), 'alice', radiusUsers.alice);
      expect(response.status).toBe(303);
      expect(response.headers.location).toBe('/setup');
      expect((await portal.services.users.findByUsername('alice'))?.directory).toBe('radius');
    });

    it('makes one account of CONTOSO\\alice, alice@contoso.com and alice, and refuses another domain', async () => {
      // FreeRADIUS knows only "alice": it accepts these only when the portal sends that name.
      for (const typed of ['CONTOSO\\alice', 'alice@Contoso.com', ' alice ']) {
        const response = await signIn(browserAgent(portal), typed, radiusUsers.alice);
        expect(response.status, typed).toBe(303);
      }
      for (const typed of ['EVIL\\alice', 'alice@evil.example', 'CONTOSO\\']) {
        const response = await signIn(browserAgent(portal), typed, radiusUsers.alice);
        expect(response.status, typed).toBe(400);
      }
      const accounts = await portal.services.database.db
        .selectFrom('users')
        .select('username')
        .where('username', 'like', '%alice%')
        .execute();
      expect(accounts.map((account) => account.username)).toEqual(['alice']);
    });

    it('refuses an Access-Challenge with the same page as a wrong password', async () => {
      const challenged = await signIn(browserAgent(portal), 'challenger', 'anything');
      const wrong = await signIn(browserAgent(portal), 'alice', 'wrong');
      expect(challenged.status).toBe(400);
      const strip = (html: string) => html.replace(/ value="[^"]*"/g, '');
      expect(strip(challenged.text)).toBe(strip(wrong.text));
    });

    it('answers "temporarily unavailable" while no RADIUS server answers', async () => {
      await radius.stop();
      const response = await signIn(browserAgent(portal), 'alice', radiusUsers.alice);
      expect(response.status).toBe(503);
    });
  });
});
