import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, parseEncryptionKey, seal } from '../../src/core/secret-box.ts';

const key = randomBytes(32);
const seed = Buffer.from('12345678901234567890');
const row = 'user:42/device:7';

/** Flips one bit of the decoded part at index (1 iv, 2 tag, 3 ciphertext) and re-encodes it. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index] ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('seal and open (AES-256-GCM)', () => {
  it('round-trips a seed', () => {
    const sealed = seal(seed, key, row);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{27}$/);
    expect(open(sealed, key, row)).toEqual(seed);
  });

  it('round-trips without associated data and with an empty plaintext', () => {
    expect(open(seal(seed, key), key)).toEqual(seed);
    expect(open(seal(Buffer.alloc(0), key, row), key, row)).toEqual(Buffer.alloc(0));
  });

  it('uses a new IV each time, so equal seeds do not look equal', () => {
    const first = seal(seed, key, row);
    const second = seal(seed, key, row);
    expect(first.split('.')[1]).not.toBe(second.split('.')[1]);
    expect(first).not.toBe(second);
  });

  it('never shows the plaintext in the sealed string', () => {
    const sealed = seal(seed, key, row);
    for (const encoding of ['utf8', 'hex', 'base64', 'base64url'] as const) {
      expect(sealed).not.toContain(seed.toString(encoding));
    }
  });

  it.each([
    ['IV', 1],
    ['tag', 2],
    ['ciphertext', 3],
  ])('refuses a tampered %s', (_name, index) => {
    const sealed = seal(seed, key, row);
    expect(() => open(tamper(sealed, index), key, row)).toThrow(/failed authentication/);
  });

  it('refuses the wrong key', () => {
    const sealed = seal(seed, key, row);
    expect(() => open(sealed, randomBytes(32), row)).toThrow(/failed authentication/);
  });

  it('refuses a seed copied onto another row (wrong associated data)', () => {
    const sealed = seal(seed, key, row);
    expect(() => open(sealed, key, 'user:43/device:7')).toThrow(/failed authentication/);
    expect(() => open(sealed, key)).toThrow(/failed authentication/);
  });

  it('refuses a truncated tag', () => {
    const parts = seal(seed, key, row).split('.');
    const shortTag = Buffer.from(parts[2] ?? '', 'base64url')
      .subarray(0, 4)
      .toString('base64url');
    expect(() => open([parts[0], parts[1], shortTag, parts[3]].join('.'), key, row)).toThrow(
      /Not a sealed secret/,
    );
  });

  it.each([
    '',
    'v1',
    'v1.a.b',
    'v2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA',
    'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA.AAAA',
    'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AA=A',
    'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAB.AAAA',
  ])('refuses the malformed string %j', (sealed) => {
    expect(() => open(sealed, key, row)).toThrow(/Not a sealed secret in the v1 format/);
  });
});

describe('parseEncryptionKey', () => {
  it('accepts 64 hexadecimal characters', () => {
    expect(parseEncryptionKey(key.toString('hex'))).toEqual(key);
    expect(parseEncryptionKey(key.toString('hex').toUpperCase())).toEqual(key);
  });

  it('accepts base64 and base64url, padded or not, with surrounding whitespace', () => {
    expect(parseEncryptionKey(key.toString('base64'))).toEqual(key);
    expect(parseEncryptionKey(key.toString('base64url'))).toEqual(key);
    expect(parseEncryptionKey(`${key.toString('base64')}\n`)).toEqual(key);
  });

  it('rejects an empty key', () => {
    expect(() => parseEncryptionKey('')).toThrow(/must be 32 random bytes/);
  });

  it.each([
    ['too short in hex', randomBytes(16).toString('hex')],
    ['too long in hex', randomBytes(33).toString('hex')],
    ['too short in base64', randomBytes(31).toString('base64')],
    ['too long in base64', randomBytes(33).toString('base64')],
    ['neither hex nor base64', 'g'.repeat(64)],
    ['a passphrase', 'correct horse battery staple'],
  ])('rejects a key that is %s, without repeating it', (_name, text) => {
    let message = '';
    try {
      parseEncryptionKey(text);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/must be 32 random bytes/);
    expect(message).not.toContain(text);
  });
});
