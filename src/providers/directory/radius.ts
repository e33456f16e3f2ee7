import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { DirectoryUnavailableError } from './errors.ts';

/**
 * SPEC D2: PAP against RADIUS servers (RFC 2865), written here rather than taken from the
 * `radius` package, whose reply check compares decoded strings. Every request carries a
 * Message-Authenticator as its first attribute and every reply must carry a valid one
 * (BlastRADIUS, CVE-2024-3596); both authenticators are compared in constant time. A reply that
 * fails any check is dropped as if it never came, and the wait goes on.
 */

export const radiusCodes = {
  accessRequest: 1,
  accessAccept: 2,
  accessReject: 3,
  accessChallenge: 11,
} as const;

const attributeTypes = {
  userName: 1,
  userPassword: 2,
  nasIdentifier: 32,
  messageAuthenticator: 80,
} as const;

export interface RadiusOptions {
  servers: { host: string; port: number }[];
  secret: string;
  timeoutMs: number;
  /** Sends of the same request after the first, per server, before the next server. */
  retries: number;
  nasIdentifier: string;
  /**
   * How long a server that gave no valid answer is asked only after the others (60 s when
   * absent), so that a dead first server does not cost every sign-in its timeouts.
   */
  quietMs?: number;
}

export type RadiusAnswer = 'accept' | 'reject' | 'challenge';

function attribute(type: number, value: Buffer): Buffer {
  if (value.length > 253) throw new RangeError('RADIUS attribute too long');
  return Buffer.concat([Buffer.from([type, value.length + 2]), value]);
}

/** RFC 2865 §5.2: the password padded to 16-byte blocks, each XORed with a chained MD5. */
export function hidePassword(password: string, secret: Buffer, authenticator: Buffer): Buffer {
  const plain = Buffer.from(password, 'utf8');
  const padded = Buffer.alloc(Math.max(16, Math.ceil(plain.length / 16) * 16));
  plain.copy(padded);
  const hidden = Buffer.alloc(padded.length);
  let previous = authenticator;
  for (let offset = 0; offset < padded.length; offset += 16) {
    const mask = createHash('md5').update(secret).update(previous).digest();
    for (let i = 0; i < 16; i += 1) hidden[offset + i] = (padded[offset + i] ?? 0) ^ (mask[i] ?? 0);
    previous = hidden.subarray(offset, offset + 16);
  }
  return hidden;
}

/** An Access-Request with the Message-Authenticator first and filled in (RFC 3579 §3.2). */
export function encodeAccessRequest(input: {
  identifier: number;
  authenticator: Buffer;
  secret: Buffer;
  username: string;
  password: string;
  nasIdentifier: string;
}): Buffer {
  const attributes = Buffer.concat([
    attribute(attributeTypes.messageAuthenticator, Buffer.alloc(16)),
    attribute(attributeTypes.userName, Buffer.from(input.username, 'utf8')),
    attribute(
      attributeTypes.userPassword,
      hidePassword(input.password, input.secret, input.authenticator),
    ),
    attribute(attributeTypes.nasIdentifier, Buffer.from(input.nasIdentifier, 'utf8')),
  ]);
  const packet = Buffer.concat([Buffer.alloc(4), input.authenticator, attributes]);
  packet[0] = radiusCodes.accessRequest;
  packet[1] = input.identifier;
  packet.writeUInt16BE(packet.length, 2);
  const signature = createHmac('md5', input.secret).update(packet).digest();
  signature.copy(packet, 20 + 2);
  return packet;
}

/** The attributes of a packet as [type, offset of the value, length], or undefined if malformed. */
function attributesOf(packet: Buffer, length: number): [number, number, number][] | undefined {
  const found: [number, number, number][] = [];
  for (let offset = 20; offset < length;) {
    const type = packet[offset];
    const size = packet[offset + 1];
    if (type === undefined || size === undefined || size < 2 || offset + size > length) {
      return undefined;
    }
    found.push([type, offset + 2, size - 2]);
    offset += size;
  }
  return found;
}

/**
 * The answer in a reply to `request`, or undefined for a reply to drop: another identifier, a
 * malformed packet, a wrong Response Authenticator, a missing or wrong Message-Authenticator.
 */
export function readReply(
  reply: Buffer,
  request: Buffer,
  secret: Buffer,
): RadiusAnswer | undefined {
  if (reply.length < 20) return undefined;
  const length = reply.readUInt16BE(2);
  if (length < 20 || length > reply.length || length > 4096) return undefined;
  if (reply[1] !== request[1]) return undefined;
  const packet = reply.subarray(0, length);
  const requestAuthenticator = request.subarray(4, 20);
  // Response Authenticator = MD5(Code + Identifier + Length + Request Authenticator + Attributes + Secret).
  const expected = createHash('md5')
    .update(packet.subarray(0, 4))
    .update(requestAuthenticator)
    .update(packet.subarray(20))
    .update(secret)
    .digest();
  if (!timingSafeEqual(expected, packet.subarray(4, 20))) return undefined;
  const attributes = attributesOf(packet, length);
  const signatures = attributes?.filter(([type]) => type === attributeTypes.messageAuthenticator);
  const signature = signatures?.length === 1 ? signatures[0] : undefined;
  if (!signature || signature[2] !== 16) return undefined;
  // HMAC-MD5 over the reply with the Request Authenticator in its place and the signature zeroed.
  const signed = Buffer.from(packet);
  requestAuthenticator.copy(signed, 4);
  signed.fill(0, signature[1], signature[1] + 16);
  const expectedSignature = createHmac('md5', secret).update(signed).digest();
  if (!timingSafeEqual(expectedSignature, packet.subarray(signature[1], signature[1] + 16))) {
    return undefined;
  }
  switch (packet[0]) {
    case radiusCodes.accessAccept:
      return 'accept';
    case radiusCodes.accessReject:
      return 'reject';
    case radiusCodes.accessChallenge:
      return 'challenge';
    default:
      return undefined;
  }
}

/** One exchange with one server: sent `1 + retries` times, each waiting `timeoutMs`. */
async function exchange(
  server: { host: string; port: number },
  request: Buffer,
  options: RadiusOptions,
  secret: Buffer,
): Promise<RadiusAnswer | undefined> {
  const { address, family } = await lookup(server.host);
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    return await new Promise<RadiusAnswer | undefined>((resolve, reject) => {
      let sends = 0;
      let timer: NodeJS.Timeout | undefined;
      const send = () => {
        if (sends > options.retries) {
          resolve(undefined);
          return;
        }
        sends += 1;
        socket.send(request, server.port, address, (error) => {
          if (error) reject(error);
        });
        timer = setTimeout(send, options.timeoutMs);
      };
      socket.on('message', (reply: Buffer, from: RemoteInfo) => {
        // Only the server asked, from the port asked: anything else is dropped unread.
        if (from.address !== address || from.port !== server.port) return;
        const answer = readReply(reply, request, secret);
        if (answer === undefined) return;
        clearTimeout(timer);
        resolve(answer);
      });
      socket.on('error', reject);
      send();
    });
  } finally {
    socket.close();
  }
}

export function createRadiusClient(options: RadiusOptions) {
  const secret = Buffer.from(options.secret, 'utf8');
  const quietMs = options.quietMs ?? 60_000;
  /** Each server that last gave no valid answer, and until when it is asked last. */
  const quietUntil = new Map<{ host: string; port: number }, number>();
  const isQuiet = (server: { host: string; port: number }) =>
    (quietUntil.get(server) ?? 0) > Date.now();
  return {
    /**
     * Asks the servers in order whether `password` is `username`'s, those that lately gave no
     * answer last. Undefined from every server (nothing valid came back in time) is a
     * DirectoryUnavailableError.
     */
    async authenticate(username: string, password: string): Promise<RadiusAnswer> {
      const problems: string[] = [];
      const order = [
        ...options.servers.filter((server) => !isQuiet(server)),
        ...options.servers.filter(isQuiet),
      ];
      for (const server of order) {
        const request = encodeAccessRequest({
          identifier: randomInt(256),
          authenticator: randomBytes(16),
          secret,
          username,
          password,
          nasIdentifier: options.nasIdentifier,
        });
        try {
          const answer = await exchange(server, request, options, secret);
          if (answer !== undefined) {
            quietUntil.delete(server);
            return answer;
          }
          quietUntil.set(server, Date.now() + quietMs);
          problems.push(`${server.host}:${server.port}: no valid answer in time`);
        } catch (error) {
          quietUntil.set(server, Date.now() + quietMs);
          problems.push(
            `${server.host}:${server.port}: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
      throw new DirectoryUnavailableError(`no RADIUS server answered: ${problems.join('; ')}`);
    },
  };
}

export type RadiusClient = ReturnType<typeof createRadiusClient>;
