import { proveNewDevice, type OtpDevice } from '../core/devices.ts';
import { decodeBase32 } from '../core/otp.ts';
import type { FieldError } from './form.ts';
import { codeError, readCode } from './setup/validation.ts';

/** The choices of the OATH token form, as the token's sleeve or file states them (SPEC M4). */
export const tokenChoices = {
  otpType: ['totp', 'hotp'],
  digits: ['6', '8'],
  period: ['30', '60'],
  algorithm: ['SHA1', 'SHA256', 'SHA512'],
} as const;

export const tokenFields = [
  'serial',
  'secret',
  'otpType',
  'digits',
  'period',
  'algorithm',
  'code',
] as const;

export type TokenForm = Record<(typeof tokenFields)[number], string>;

export interface ProvenToken {
  serial: string;
  secret: Buffer;
  params: OtpDevice;
  proof: { lastStep: number | null; counter: number | null };
}

/**
 * The token form as User Setup checks it (SPEC M4): a serial, a Base32 secret of at least 128
 * bits, the token's kind, digits, time step and algorithm, and a code it shows now.
 */
export function checkToken(form: TokenForm): { errors: FieldError[]; token?: ProvenToken } {
  const errors: FieldError[] = [];
  const serial = form.serial.trim();
  if (serial === '') errors.push({ field: 'serial', message: 'setup.token.errors.serialMissing' });
  else if (!/^[\w.-]{1,64}$/.test(serial)) {
    errors.push({ field: 'serial', message: 'setup.token.errors.serialFormat' });
  }
  let secret: Buffer | undefined;
  try {
    secret = decodeBase32(form.secret);
  } catch {
    secret = undefined;
  }
  if (form.secret.trim() === '') {
    errors.push({ field: 'secret', message: 'setup.token.errors.secretMissing' });
  } else if (!secret || secret.length < 16 || secret.length > 64) {
    errors.push({ field: 'secret', message: 'setup.token.errors.secretFormat' });
  }
  const choose = <K extends keyof typeof tokenChoices>(
    key: K,
  ): (typeof tokenChoices)[K][number] | undefined => {
    const value = tokenChoices[key].find((choice) => choice === form[key]);
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
  errors.push(...codeError('code', form.code, [codeDigits]));
  const code = readCode(form.code, [codeDigits]);
  if (errors.length > 0 || !secret || !code || !otpType || !digits || !period || !algorithm) {
    return { errors };
  }
  const params: OtpDevice = {
    otpType,
    algorithm,
    digits: codeDigits,
    period: period === '60' ? 60 : 30,
  };
  const proof = proveNewDevice(secret, params, code, Date.now());
  if (!proof) return { errors: [{ field: 'code', message: 'codes.errors.wrong' }] };
  return { errors, token: { serial, secret, params, proof } };
}
