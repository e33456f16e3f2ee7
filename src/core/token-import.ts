/*
 * OATH token seed files (SPEC M4), as hardware-token vendors ship them and MFA Server imported
 * them: a CSV of serials and secrets, or a PSKC document (RFC 6030). Each token is read into one
 * shape and checked against what the portal's tokens can be; the file's lines that cannot be
 * imported say why.
 */
import { headerKey, parseCsv } from './csv.ts';
import type { OtpDevice } from './devices.ts';
import { decodeBase32 } from './otp.ts';
import { readPskc, type PskcKey } from './pskc.ts';

/** A token as an imported file describes it, ready to be sealed and stored unassigned. */
export interface ImportedToken {
  serial: string;
  secret: Buffer;
  params: OtpDevice;
  /** HOTP: the next counter the token will show; null for TOTP. */
  counter: number | null;
}

/** One token of the file: its line (CSV) or position (PSKC KeyPackage), and the token or why not. */
export type TokenLine =
  | { line: number; serial: string; token: ImportedToken; problem?: undefined }
  | { line: number; serial: string; token?: undefined; problem: string };

export interface TokenFile {
  format: 'pskc' | 'csv';
  lines: TokenLine[];
}

/** What a token file names each field, compared with `headerKey`. */
const columns = {
  serial: ['serial', 'serialnumber', 'serialno', 'sn', 'tokenserial', 'tokenserialnumber'],
  secret: ['secret', 'secretkey', 'seed', 'key', 'secretbase32', 'seedbase32'],
  hexSecret: ['secrethex', 'hexsecret', 'seedhex', 'hexseed', 'secretkeyhex', 'hexkey'],
  otpType: ['type', 'otptype', 'tokentype', 'mode', 'algorithmtype'],
  digits: ['digits', 'length', 'otplength', 'codelength'],
  period: ['period', 'timeinterval', 'interval', 'timestep', 'step', 'timeperiod'],
  counter: ['counter', 'eventcounter', 'movingfactor'],
  algorithm: ['algorithm', 'hash', 'hashalgorithm', 'hmac'],
} as const;

type Column = keyof typeof columns;

const serialPattern = /^[\w.-]{1,64}$/;

function readAlgorithm(text: string): OtpDevice['algorithm'] | undefined {
  const key = headerKey(text).replace(/^hmac/, '');
  if (key === '' || key === 'sha1') return 'SHA1';
  if (key === 'sha256') return 'SHA256';
  if (key === 'sha512') return 'SHA512';
  return undefined;
}

/**
 * A secret in Base32 (as on a token's sleeve) or hexadecimal (as many seed files have it): a
 * value with 0, 1, 8 or 9 in it, or a `0x` in front, can only be hexadecimal.
 */
function readSecret(text: string, hex: boolean): Buffer | undefined {
  const compact = text.replace(/[\s-]/g, '');
  const asHex = compact.replace(/^0x/i, '');
  if (hex || /^0x/i.test(compact) || (/[0189]/.test(compact) && /^[0-9a-f]+$/i.test(compact))) {
    return /^(?:[0-9a-f]{2})+$/i.test(asHex) ? Buffer.from(asHex, 'hex') : undefined;
  }
  try {
    return decodeBase32(compact);
  } catch {
    return undefined;
  }
}

/** The token, or what keeps it out: the same limits as a token typed in on My account. */
function checkImported(input: {
  serial: string;
  secret: Buffer | null | undefined;
  otpType: string | null | undefined;
  digits: number | null;
  period: number | null;
  counter: number | null;
  algorithm: OtpDevice['algorithm'] | undefined;
}): { token: ImportedToken } | { problem: string } {
  const { serial, secret, digits, period, counter, algorithm } = input;
  if (serial === '') return { problem: 'no serial number' };
  if (!serialPattern.test(serial)) {
    return { problem: 'the serial number has characters other than letters, digits, . - _' };
  }
  if (!secret) return { problem: 'no secret, or one that is neither Base32 nor hexadecimal' };
  if (secret.length < 16 || secret.length > 64) {
    return { problem: `the secret has ${secret.length * 8} bits; 128 to 512 are accepted` };
  }
  const otpType = input.otpType?.toLowerCase();
  if (otpType !== 'totp' && otpType !== 'hotp') return { problem: 'neither HOTP nor TOTP' };
  if (digits !== 6 && digits !== 8) return { problem: 'codes of 6 or 8 digits only' };
  if (!algorithm) return { problem: 'an algorithm other than SHA1, SHA256 or SHA512' };
  if (otpType === 'totp' && period !== 30 && period !== 60) {
    return { problem: 'a time step other than 30 or 60 seconds' };
  }
  if (otpType === 'hotp' && (counter === null || !Number.isSafeInteger(counter) || counter < 0)) {
    return { problem: 'a malformed counter' };
  }
  return {
    token: {
      serial,
      secret,
      params: { otpType, digits, period: period === 60 ? 60 : 30, algorithm },
      counter: otpType === 'hotp' ? counter : null,
    },
  };
}

const wholeNumber = (text: string | undefined): number | null => {
  const trimmed = text?.trim() ?? '';
  if (trimmed === '') return null;
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : NaN;
};

function readSeedCsv(text: string): TokenLine[] {
  const [header, ...records] = parseCsv(text);
  if (!header) return [];
  const keys = header.fields.map(headerKey);
  const at = (name: Column) =>
    keys.findIndex((key) => (columns[name] as readonly string[]).includes(key));
  const index = Object.fromEntries(
    (Object.keys(columns) as Column[]).map((name) => [name, at(name)]),
  ) as Record<Column, number>;
  if (index.serial < 0 || (index.secret < 0 && index.hexSecret < 0)) {
    return [
      {
        line: header.line,
        serial: '',
        problem: 'the header names no serial number and secret column',
      },
    ];
  }
  return records.map(({ line, fields }) => {
    const cell = (name: Column) => (index[name] < 0 ? undefined : fields[index[name]]?.trim());
    const serial = (cell('serial') ?? '').toUpperCase();
    const hex = index.secret < 0;
    const period = wholeNumber(cell('period'));
    const counter = wholeNumber(cell('counter'));
    // Vendor files without a type column: a time step makes a TOTP token, a counter an HOTP one.
    const typed = cell('otpType');
    const otpType = typed ? typed : counter !== null && period === null ? 'hotp' : 'totp';
    const checked = checkImported({
      serial,
      secret: readSecret(cell(hex ? 'hexSecret' : 'secret') ?? '', hex),
      otpType,
      digits: wholeNumber(cell('digits')) ?? 6,
      period: period ?? 30,
      counter: counter ?? 0,
      algorithm: readAlgorithm(cell('algorithm') ?? ''),
    });
    return { line, serial, ...checked };
  });
}

function readPskcTokens(text: string, given: PskcKey): TokenLine[] {
  return readPskc(text, given).map((key) => {
    const serial = key.serial.toUpperCase();
    const base = { line: key.position, serial };
    if (key.problem !== null) return { ...base, problem: key.problem };
    return {
      ...base,
      ...checkImported({
        serial,
        secret: key.secret,
        otpType: key.otpType,
        digits: key.digits,
        period: key.period,
        counter: key.counter,
        algorithm: readAlgorithm(key.suite ?? ''),
      }),
    };
  });
}

/**
 * The tokens of a seed file, PSKC when it is XML and CSV otherwise. A serial that comes twice in
 * one file is refused each time after the first. A PSKC file that cannot be read or decrypted
 * throws a `PskcError`, and a CSV with an unclosed quote a `CsvError`.
 */
export function readTokenFile(text: string, given: PskcKey = {}): TokenFile {
  const isXml = text
    .replace(/^\uFEFF/, '')
    .trimStart()
    .startsWith('<');
  const lines = isXml ? readPskcTokens(text, given) : readSeedCsv(text);
  const seen = new Set<string>();
  return {
    format: isXml ? 'pskc' : 'csv',
    lines: lines.map((line): TokenLine => {
      if (!line.token) return line;
      const key = line.serial;
      if (seen.has(key))
        return {
          line: line.line,
          serial: line.serial,
          problem: 'serial number repeated in the file',
        };
      seen.add(key);
      return line;
    }),
  };
}
