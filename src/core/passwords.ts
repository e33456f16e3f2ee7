import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Argon2Parameters {
  memoryKib: number;
  passes: number;
  parallelism: number;
}

/** OWASP's Argon2id minimum: 19 MiB, 2 passes, 1 lane. */
export const defaultArgon2: Argon2Parameters = { memoryKib: 19456, passes: 2, parallelism: 1 };

const tagLength = 32;

function derive(secret: string, salt: Buffer, params: Argon2Parameters): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2(
      'argon2id',
      {
        message: Buffer.from(secret.normalize('NFC'), 'utf8'),
        nonce: salt,
        memory: params.memoryKib,
        passes: params.passes,
        parallelism: params.parallelism,
        tagLength,
      },
      (error, key) => {
        if (error) reject(error);
        else resolve(key);
      },
    );
  });
}

const phc = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Hashes a secret (password, PIN, answer, bypass code) into a PHC string. */
export async function hashSecret(secret: string, params: Argon2Parameters): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, params);
  const b64 = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '');
  return `$argon2id$v=19$m=${params.memoryKib},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(key)}`;
}

/** Verifies against the parameters stored in the hash, in constant time. */
export async function verifySecret(secret: string, hash: string): Promise<boolean> {
  const parts = phc.exec(hash);
  if (!parts) return false;
  const [, m, t, p, salt, expected] = parts;
  const expectedKey = Buffer.from(expected ?? '', 'base64');
  const key = await derive(secret, Buffer.from(salt ?? '', 'base64'), {
    memoryKib: Number(m),
    passes: Number(t),
    parallelism: Number(p),
  });
  return key.length === expectedKey.length && timingSafeEqual(key, expectedKey);
}
