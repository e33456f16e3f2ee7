/*
 * PSKC, the Portable Symmetric Key Container (RFC 6030) that token vendors ship seeds in: plain
 * secrets (section 5), secrets encrypted with a pre-shared AES key (6.1) or with a key derived
 * from a password by PBKDF2 (6.2), each encrypted value checked against its HMAC-SHA1 MAC
 * before it is decrypted.
 */
import { createDecipheriv, createHmac, pbkdf2, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { child, childrenNamed, descend, parseXml, XmlError, type XmlElement } from './xml.ts';

const pskcNamespace = 'urn:ietf:params:xml:ns:keyprov:pskc';
const aesCbc: Record<string, number> = {
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc': 16,
  'http://www.w3.org/2001/04/xmlenc#aes192-cbc': 24,
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc': 32,
};
const hmacs: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#hmac-sha1': 'sha1',
  'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#hmac-sha512': 'sha512',
};
const pbkdf2Uri = 'http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2';
/** Iterations beyond this are refused: a file must not keep the server busy for minutes. */
const maxIterations = 10_000_000;

/**
 * How the administrator unlocks an encrypted file: its pre-shared key, or its password (or the
 * key `unlockPskc` derived from it).
 */
export type PskcKey =
  { key: Buffer } | { password: string } | { derivedKey: Buffer } | Record<string, never>;

/** One key of the file, as far as it could be read; `problem` says why it cannot be imported. */
export interface PskcKeyPackage {
  /** The index of the KeyPackage in the file, from 1. */
  position: number;
  serial: string;
  algorithm: string;
  /** The HMAC the codes use, as AlgorithmParameters/Suite names it (`HMAC-SHA256`), if at all. */
  suite: string | null;
  otpType: 'hotp' | 'totp' | null;
  digits: number | null;
  period: number | null;
  counter: number | null;
  secret: Buffer | null;
  problem: string | null;
}

export class PskcError extends Error {
  override name = 'PskcError';
}

function base64(element: XmlElement | undefined): Buffer | undefined {
  const text = element?.text.replace(/\s+/g, '') ?? '';
  if (text === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** AES-CBC with the IV in front of the ciphertext (XML Encryption), PKCS#7 padding. */
function decryptCbc(encrypted: XmlElement | undefined, key: Buffer): Buffer {
  const algorithm = child(encrypted, 'EncryptionMethod')?.attributes.Algorithm ?? '';
  const keyLength = aesCbc[algorithm];
  if (keyLength === undefined) throw new PskcError(`Unsupported encryption "${algorithm}"`);
  if (key.length !== keyLength) {
    throw new PskcError(
      `The file needs a ${keyLength * 8}-bit key; the key given has ${key.length * 8}`,
    );
  }
  const value = base64(descend(encrypted, 'CipherData', 'CipherValue'));
  if (!value || value.length < 32 || value.length % 16 !== 0) {
    throw new PskcError('An encrypted value is malformed');
  }
  const decipher = createDecipheriv(`aes-${keyLength * 8}-cbc`, key, value.subarray(0, 16));
  try {
    return Buffer.concat([decipher.update(value.subarray(16)), decipher.final()]);
  } catch {
    throw new PskcError('The key or password does not decrypt this file');
  }
}

/** The key that encrypts the file's secrets, from what the administrator gave. */
/** The PBKDF2 parameters of a DerivedKey (RFC 6030 section 6.2), or a `PskcError`. */
function pbkdf2ParamsOf(derived: XmlElement) {
  const method = child(derived, 'KeyDerivationMethod');
  if (method?.attributes.Algorithm !== pbkdf2Uri) {
    throw new PskcError('Unsupported key derivation');
  }
  const params = child(method, 'PBKDF2-params');
  const salt = base64(descend(params, 'Salt', 'Specified'));
  const iterations = Number(child(params, 'IterationCount')?.text.trim());
  const length = Number(child(params, 'KeyLength')?.text.trim());
  const prf = child(params, 'PRF')?.attributes.Algorithm;
  const digest = prf === undefined ? 'sha1' : hmacs[prf];
  if (
    !salt ||
    !Number.isInteger(iterations) ||
    iterations < 1 ||
    iterations > maxIterations ||
    ![16, 24, 32].includes(length) ||
    digest === undefined
  ) {
    throw new PskcError('Unsupported PBKDF2 parameters');
  }
  return { salt, iterations, length, digest };
}

function encryptionKeyOf(container: XmlElement, given: PskcKey): Buffer | null {
  const encryptionKey = child(container, 'EncryptionKey');
  if (!encryptionKey) return null;
  const derived = child(encryptionKey, 'DerivedKey');
  if (derived) {
    if ('derivedKey' in given) return given.derivedKey;
    if (!('password' in given)) throw new PskcError('This file is encrypted with a password');
    const { salt, iterations, length, digest } = pbkdf2ParamsOf(derived);
    return pbkdf2Sync(given.password, salt, iterations, length, digest);
  }
  if (!('key' in given)) throw new PskcError('This file is encrypted with a pre-shared key');
  return given.key;
}

const pbkdf2Async = promisify(pbkdf2);

/**
 * For a server: the key of a file encrypted with a password, derived off the event loop (up to
 * `maxIterations` PBKDF2 rounds take seconds, which would stop every other request), as
 * `readPskc` then takes it. Anything else is given back as it was, for `readPskc` to read or
 * refuse.
 */
export async function unlockPskc(xml: string, given: PskcKey): Promise<PskcKey> {
  if (!('password' in given)) return given;
  try {
    const derived = child(child(parseXml(xml), 'EncryptionKey'), 'DerivedKey');
    if (!derived) return given;
    const { salt, iterations, length, digest } = pbkdf2ParamsOf(derived);
    return {
      derivedKey: await pbkdf2Async(given.password, salt, iterations, length, digest),
    };
  } catch (error) {
    if (error instanceof PskcError || error instanceof XmlError) return given;
    throw error;
  }
}

/** The MAC key, itself encrypted with the encryption key (RFC 6030 section 6.1.1). */
function macOf(container: XmlElement, key: Buffer | null) {
  const method = child(container, 'MACMethod');
  if (!method || !key) return null;
  const digest = hmacs[method.attributes.Algorithm ?? ''];
  if (digest === undefined) throw new PskcError('Unsupported MAC algorithm');
  const macKey = child(method, 'MACKey');
  if (!macKey) throw new PskcError('The file has no MAC key');
  return { digest, key: decryptCbc(macKey, key) };
}

function readData(
  data: XmlElement | undefined,
  name: string,
  key: Buffer | null,
  mac: { digest: string; key: Buffer } | null,
): Buffer | undefined {
  const holder = child(data, name);
  if (!holder) return undefined;
  const plain = child(holder, 'PlainValue');
  if (plain) {
    if (name !== 'Secret') return Buffer.from(plain.text.trim(), 'utf8');
    return base64(plain) ?? Buffer.alloc(0);
  }
  const encrypted = child(holder, 'EncryptedValue');
  if (!encrypted) return undefined;
  if (!key) throw new PskcError('An encrypted value, but the file names no encryption key');
  if (mac) {
    const cipherValue = base64(descend(encrypted, 'CipherData', 'CipherValue'));
    const expected = base64(child(holder, 'ValueMAC'));
    const actual = createHmac(mac.digest, mac.key)
      .update(cipherValue ?? Buffer.alloc(0))
      .digest();
    if (!expected || expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      throw new PskcError('A value fails its MAC: wrong key or password, or the file was altered');
    }
  }
  const value = decryptCbc(encrypted, key);
  return name === 'Secret' ? value : Buffer.from(value.toString('utf8').trim(), 'utf8');
}

function otpTypeOf(algorithm: string): 'hotp' | 'totp' | null {
  const kind = /^urn:ietf:params:xml:ns:keyprov:pskc[:#](hotp|totp)$/i.exec(algorithm)?.[1];
  return kind === undefined ? null : (kind.toLowerCase() as 'hotp' | 'totp');
}

const numberOf = (value: Buffer | undefined) => {
  if (value === undefined) return null;
  const text = value.toString('utf8');
  return /^\d{1,15}$/.test(text) ? Number(text) : NaN;
};

/**
 * The keys of a PSKC document, each with what stops it from being imported (an algorithm that
 * is no HOTP or TOTP, a missing secret). A file that cannot be read at all, or an encrypted one
 * without the right key or password, is a `PskcError`: nothing of it is imported.
 */
export function readPskc(xml: string, given: PskcKey = {}): PskcKeyPackage[] {
  let container: XmlElement;
  try {
    container = parseXml(xml);
  } catch (error) {
    if (error instanceof XmlError) throw new PskcError(`Not a readable XML file: ${error.message}`);
    throw error;
  }
  if (container.name !== 'KeyContainer' || container.namespace !== pskcNamespace) {
    throw new PskcError('Not a PSKC file (RFC 6030): no KeyContainer');
  }
  if (container.attributes.Version !== '1.0') throw new PskcError('Only PSKC version 1.0 is read');
  const key = encryptionKeyOf(container, given);
  const mac = macOf(container, key);
  return childrenNamed(container, 'KeyPackage').map((keyPackage, index) => {
    const keyElement = child(keyPackage, 'Key');
    const algorithm = keyElement?.attributes.Algorithm ?? '';
    const serial =
      descend(keyPackage, 'DeviceInfo', 'SerialNo')?.text.trim() ?? keyElement?.attributes.Id ?? '';
    const parameters = child(keyElement, 'AlgorithmParameters');
    const format = child(parameters, 'ResponseFormat');
    const data = child(keyElement, 'Data');
    const otpType = otpTypeOf(algorithm);
    const digits = format ? Number(format.attributes.Length) : 6;
    const secret = readData(data, 'Secret', key, mac) ?? null;
    const counter = numberOf(readData(data, 'Counter', key, mac));
    const period = numberOf(readData(data, 'TimeInterval', key, mac));
    let problem: string | null = null;
    if (otpType === null) problem = `not an HOTP or TOTP key (${algorithm || 'no algorithm'})`;
    else if (format && format.attributes.Encoding !== 'DECIMAL') problem = 'codes are not decimal';
    else if (secret === null) problem = 'no secret in the file';
    else if (Number.isNaN(counter) || Number.isNaN(period))
      problem = 'a malformed counter or time step';
    return {
      position: index + 1,
      serial,
      algorithm,
      suite: child(parameters, 'Suite')?.text.trim() ?? null,
      otpType,
      digits: Number.isInteger(digits) ? digits : null,
      period: otpType === 'totp' ? (period ?? 30) : null,
      counter: otpType === 'hotp' ? (counter ?? 0) : null,
      secret,
      problem,
    };
  });
}
