/*
 * HOTP (RFC 4226) and TOTP (RFC 6238) for the mobile app (M3) and OATH tokens (M4).
 *
 * otplib computes each code: HMAC, dynamic truncation, and its refusal of secrets shorter than
 * 128 bits (RFC 4226 R6). Which codes to accept stays here, because otplib's verify throws where a
 * sign-in form must simply refuse (a mistyped code, a last accepted step ahead of this instance's
 * clock) and caps its window at 99 counters, short of the resynchronisation look-ahead.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ScureBase32Plugin, generateSync, type HashAlgorithm } from 'otplib';

export type OtpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

export interface HotpParameters {
  algorithm: OtpAlgorithm;
  digits: 6 | 8;
}

export interface TotpParameters extends HotpParameters {
  period: 30 | 60;
}

const hashAlgorithms: Record<OtpAlgorithm, HashAlgorithm> = {
  SHA1: 'sha1',
  SHA256: 'sha256',
  SHA512: 'sha512',
};

const base32 = new ScureBase32Plugin();

/** A new random seed; 20 bytes is the HMAC-SHA1 block output RFC 4226 recommends. */
export function generateOtpSecret(bytes = 20): Buffer {
  return randomBytes(bytes);
}

/** RFC 4648 Base32 without padding, as authenticator apps expect in `otpauth://` URIs. */
export function encodeBase32(secret: Buffer): string {
  return base32.encode(secret);
}

/** Reads a secret as people type or paste it: any case, with spaces, dashes or padding. */
export function decodeBase32(text: string): Buffer {
  const normalised = text.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
  const invalid = /[^A-Z2-7]/.exec(normalised);
  if (invalid) {
    throw new Error(
      `Invalid Base32 secret: "${invalid[0]}" is not one of the letters A–Z or digits 2–7`,
    );
  }
  try {
    return Buffer.from(base32.decode(normalised));
  } catch (cause) {
    throw new Error(
      'Invalid Base32 secret: a character is missing or extra, or the last one is mistyped',
      {
        cause,
      },
    );
  }
}

/** Groups of four, so that a person copying the secret by hand does not lose their place. */
export function formatSecretForReading(base32Secret: string): string {
  return base32Secret.replace(/(.{4})(?=.)/g, '$1 ');
}

export function hotp(secret: Buffer, counter: number, params: HotpParameters): string {
  return generateSync({
    strategy: 'hotp',
    secret,
    counter,
    algorithm: hashAlgorithms[params.algorithm],
    digits: params.digits,
  });
}

export function totpStep(timeMs: number, period: number): number {
  return Math.floor(timeMs / (period * 1000));
}

/** RFC 6238 defines TOTP as HOTP over the time step, so both share one code path. */
export function totp(secret: Buffer, timeMs: number, params: TotpParameters): string {
  return hotp(secret, totpStep(timeMs, params.period), params);
}

/** The code without the spaces people type to read it more easily, or undefined if malformed. */
function normaliseCode(code: string, digits: number): string | undefined {
  const typed = code.replace(/\s/g, '');
  return typed.length === digits && /^[0-9]+$/.test(typed) ? typed : undefined;
}

/**
 * Every counter in from..to whose code matches. All candidates are compared, in constant time,
 * so the time taken does not tell which counter (if any) matched.
 */
function matchingCounters(
  typed: string,
  from: number,
  to: number,
  codeAt: (counter: number) => string,
): number[] {
  const expected = Buffer.from(typed);
  const matches: number[] = [];
  for (let counter = from; counter <= to; counter++) {
    if (timingSafeEqual(Buffer.from(codeAt(counter)), expected)) matches.push(counter);
  }
  return matches;
}

/**
 * Time step whose code matches, within ±window steps (default 1), compared in constant time;
 * undefined if none. The caller stores the step to refuse replays (S6): steps at or before
 * `lastAcceptedStep` are never accepted.
 */
export function verifyTotp(
  secret: Buffer,
  code: string,
  timeMs: number,
  params: TotpParameters,
  options: { window?: number; lastAcceptedStep?: number } = {},
): number | undefined {
  const typed = normaliseCode(code, params.digits);
  if (typed === undefined) return undefined;
  const { window = 1, lastAcceptedStep = -1 } = options;
  const current = totpStep(timeMs, params.period);
  const from = Math.max(current - window, lastAcceptedStep + 1, 0);
  return matchingCounters(typed, from, current + window, (step) => hotp(secret, step, params))[0];
}

/**
 * Counter value whose code matches among counter .. counter+lookAhead (default 10), compared in
 * constant time; the caller then stores matched + 1 so that no code is accepted twice.
 */
export function verifyHotp(
  secret: Buffer,
  code: string,
  counter: number,
  params: HotpParameters,
  options: { lookAhead?: number } = {},
): number | undefined {
  const typed = normaliseCode(code, params.digits);
  if (typed === undefined) return undefined;
  const { lookAhead = 10 } = options;
  return matchingCounters(typed, counter, counter + lookAhead, (c) => hotp(secret, c, params))[0];
}

/**
 * M4 resynchronisation of a token pressed many times away from the portal: two consecutive codes
 * at c and c + 1 within counter .. counter+lookAhead (default 100). Returns the next counter to
 * use (c + 2), or undefined. Asking for two codes keeps a wide window from accepting a guess.
 */
export function resyncHotp(
  secret: Buffer,
  first: string,
  second: string,
  counter: number,
  params: HotpParameters,
  options: { lookAhead?: number } = {},
): number | undefined {
  const typedFirst = normaliseCode(first, params.digits);
  const typedSecond = normaliseCode(second, params.digits);
  if (typedFirst === undefined || typedSecond === undefined) return undefined;
  const { lookAhead = 100 } = options;
  const codeAt = (c: number) => hotp(secret, c, params);
  const last = counter + lookAhead;
  const seconds = new Set(matchingCounters(typedSecond, counter + 1, last, codeAt));
  const matched = matchingCounters(typedFirst, counter, last - 1, codeAt).find((c) =>
    seconds.has(c + 1),
  );
  return matched === undefined ? undefined : matched + 2;
}

/**
 * Google's Key Uri Format. The issuer goes both in the label and as a parameter, as that format
 * recommends, so that old and new authenticator apps show it.
 */
export function otpauthUri(input: {
  type: 'totp' | 'hotp';
  issuer: string;
  account: string;
  secret: Buffer;
  params: TotpParameters | HotpParameters;
  counter?: number;
}): string {
  const parameters: [string, string][] = [
    ['secret', encodeBase32(input.secret)],
    ['issuer', input.issuer],
    ['algorithm', input.params.algorithm],
    ['digits', String(input.params.digits)],
  ];
  if (input.type === 'totp' && 'period' in input.params) {
    parameters.push(['period', String(input.params.period)]);
  }
  if (input.type === 'hotp') parameters.push(['counter', String(input.counter ?? 0)]);
  const label = `${encodeURIComponent(input.issuer)}:${encodeURIComponent(input.account)}`;
  const query = parameters.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
  return `otpauth://${input.type}/${label}?${query}`;
}
