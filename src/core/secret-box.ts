/*
 * S7: OTP seeds are stored encrypted with AES-256-GCM, so a copy of the database yields no seeds.
 * The associated data names the row a seed belongs to: a seed moved onto another row no longer
 * decrypts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const cipherName = 'aes-256-gcm';
const format = 'v1';
const ivLength = 12;
const tagLength = 16;

/** The configured key: 64 hexadecimal characters, or base64 / base64url of exactly 32 bytes. */
export function parseEncryptionKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) return Buffer.from(trimmed, 'base64');
  // The message never repeats the value: it is a secret even when malformed.
  throw new Error(
    'The encryption key must be 32 random bytes written as 64 hexadecimal characters or as base64 ' +
      '(for example the output of `openssl rand -base64 32`)',
  );
}

/** "v1.<iv>.<tag>.<ciphertext>", each part base64url, with a fresh random 12-byte IV. */
export function seal(plaintext: Buffer, key: Buffer, associatedData = ''): string {
  const iv = randomBytes(ivLength);
  const cipher = createCipheriv(cipherName, key, iv, { authTagLength: tagLength });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [
    format,
    ...[iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url')),
  ].join('.');
}

/** Only the canonical encoding is accepted, so that no two sealed strings hold the same bytes. */
function decodePart(part: string): Buffer | undefined {
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}

/** The plaintext, or an Error if the string was altered or the key or associated data differ. */
export function open(sealed: string, key: Buffer, associatedData = ''): Buffer {
  const [version, ...encoded] = sealed.split('.');
  const [iv, tag, ciphertext] = encoded.map(decodePart);
  if (
    version !== format ||
    encoded.length !== 3 ||
    iv?.length !== ivLength ||
    tag?.length !== tagLength ||
    ciphertext === undefined
  ) {
    throw new Error(`Not a sealed secret in the ${format} format`);
  }
  // authTagLength stops GCM from accepting a truncated tag, which would be easier to forge.
  const decipher = createDecipheriv(cipherName, key, iv, { authTagLength: tagLength });
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw new Error(
      'The sealed secret failed authentication: wrong key, wrong associated data, or altered',
      { cause },
    );
  }
}
