import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseEncryptionKey } from './secret-box.ts';

/**
 * The key that seals OTP seeds (SPEC S7). It never lives in the database, so a stolen database
 * file yields no seeds. ENCRYPTION_KEY wins; otherwise the key file is read, and created once
 * (readable by this account only) for the embedded single-host default. Hosts sharing one
 * PostgreSQL database must share the key: set ENCRYPTION_KEY or copy the file.
 */
export function loadEncryptionKey(
  configured: string,
  keyFile: string,
  createIfMissing: boolean,
): Buffer {
  if (configured) return parseEncryptionKey(configured);
  if (existsSync(keyFile)) return parseEncryptionKey(readFileSync(keyFile, 'utf8'));
  if (!createIfMissing) {
    throw new Error(
      `No encryption key: set ENCRYPTION_KEY (64 hex characters) or create ${keyFile}; every instance sharing the database needs the same key`,
    );
  }
  mkdirSync(dirname(keyFile), { recursive: true });
  const key = randomBytes(32);
  try {
    writeFileSync(keyFile, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch {
    // Another process created it first: use theirs.
    return parseEncryptionKey(readFileSync(keyFile, 'utf8'));
  }
  return key;
}

/**
 * Names a key without revealing anything of it (HMAC-SHA256 of a fixed label): a backup records
 * it, and a restore compares it with the key it would run with.
 */
export function keyFingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('mfa-portal encryption key fingerprint').digest('hex');
}
