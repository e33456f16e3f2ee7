import { checkPin, type PinProblem } from '../../core/pin-policy.ts';
import type { FieldError } from '../form.ts';

/** A code as people type it: spaces allowed, then exactly the expected number of digits. */
export function readCode(raw: string, digits: readonly number[]): string | undefined {
  const code = raw.replace(/\s/g, '');
  return /^\d+$/.test(code) && digits.includes(code.length) ? code : undefined;
}

export function codeError(field: string, raw: string, digits: readonly number[]): FieldError[] {
  if (raw.trim() === '') return [{ field, message: 'codes.errors.missing' }];
  if (readCode(raw, digits) === undefined) {
    return [
      {
        field,
        message: 'codes.errors.format',
        values: { digits: digits.join(' / ') },
      },
    ];
  }
  return [];
}

const pinMessages: Record<PinProblem, string> = {
  notDigits: 'pin.errors.notDigits',
  tooShort: 'pin.errors.tooShort',
  tooLong: 'pin.errors.tooLong',
  allSame: 'pin.errors.allSame',
  sequence: 'pin.errors.sequence',
  inPhoneNumber: 'pin.errors.inPhoneNumber',
};

/** SPEC M5 for a new PIN typed twice. */
export function newPinErrors(
  pin: string,
  confirmation: string,
  minLength: number,
  phones: readonly string[],
): FieldError[] {
  if (pin === '') return [{ field: 'pin', message: 'pin.errors.missing' }];
  const problems = checkPin(pin, { minLength }, phones);
  if (problems.length > 0) {
    return problems.map((problem) => ({
      field: 'pin',
      message: pinMessages[problem],
      values: { min: minLength },
    }));
  }
  if (pin !== confirmation) return [{ field: 'pinConfirmation', message: 'pin.errors.mismatch' }];
  return [];
}
