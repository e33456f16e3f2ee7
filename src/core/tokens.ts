import { proveNewDevice, type OtpDevice } from './devices.ts';
import type { FieldError } from './mfa-service.ts';
import { decodeBase32 } from './otp.ts';
import { codeError, readCode } from './typed-codes.ts';

/** The kinds of OATH token the portal takes, as a token's sleeve or file states them (SPEC M4). */
export const tokenChoices = {
  otpType: ['totp', 'hotp'],
  digits: ['6', '8'],
  period: ['30', '60'],
  algorithm: ['SHA1', 'SHA256', 'SHA512'],
} as const;

/** A token as the user typed it in: every field as text, the choices among `tokenChoices`. */
export interface TokenInput {
  serial: string;
  /** Base32, in any case, with spaces or dashes. */
  secret: string;
  otpType: string;
  digits: string;
  period: string;
  algorithm: string;
  /** A code the token shows now. */
  code: string;
}

export interface ProvenToken {
  serial: string;
  secret: Buffer;
  params: OtpDevice;
  /** What to store with the device: the TOTP step or the next HOTP counter. */
  proof: { lastStep: number | null; counter: number | null };
}

/**
 * SPEC M4: a serial, a Base32 secret of 128 to 512 bits, the token's kind, digits, time step and
 * algorithm, and a code it shows now that proves them all. The token, or what is wrong.
 */
export function checkToken(
  input: TokenInput,
  now = Date.now(),
): { errors: FieldError[]; token?: ProvenToken } {
  const errors: FieldError[] = [];
  const serial = input.serial.trim();
  if (serial === '') errors.push({ field: 'serial', message: 'setup.token.errors.serialMissing' });
  else if (!/^[\w.-]{1,64}$/.test(serial)) {
    errors.push({ field: 'serial', message: 'setup.token.errors.serialFormat' });
  }
  let secret: Buffer | undefined;
  try {
    secret = decodeBase32(input.secret);
  } catch {
    secret = undefined;
  }
  if (input.secret.trim() === '') {
    errors.push({ field: 'secret', message: 'setup.token.errors.secretMissing' });
  } else if (!secret || secret.length < 16 || secret.length > 64) {
    errors.push({ field: 'secret', message: 'setup.token.errors.secretFormat' });
  }
  const choose = <K extends keyof typeof tokenChoices>(
    key: K,
  ): (typeof tokenChoices)[K][number] | undefined => {
    const value = tokenChoices[key].find((choice) => choice === input[key]);
    if (value === undefined) {
      errors.push({ field: `${key}-0`, message: 'setup.token.errors.choose' });
    }
    return value;
  };
  const otpType = choose('otpType');
  const digits = choose('digits');
  const period = choose('period');
  const algorithm = choose('algorithm');
  const codeDigits = digits === '8' ? 8 : 6;
  errors.push(...codeError('code', input.code, [codeDigits]));
  const code = readCode(input.code, [codeDigits]);
  if (errors.length > 0 || !secret || !code || !otpType || !digits || !period || !algorithm) {
    return { errors };
  }
  const params: OtpDevice = {
    otpType,
    algorithm,
    digits: codeDigits,
    period: period === '60' ? 60 : 30,
  };
  const proof = proveNewDevice(secret, params, code, now);
  if (!proof) return { errors: [{ field: 'code', message: 'codes.errors.wrong' }] };
  return { errors, token: { serial, secret, params, proof } };
}
