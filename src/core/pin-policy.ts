/*
 * M5: the PIN a caller enters after answering a call, or after a texted or app code. It is short by
 * nature, so the policy refuses the PINs an attacker would try first.
 */
import { randomInt } from 'node:crypto';
import type { FieldError } from './mfa-service.ts';

export interface PinPolicy {
  /** Between pinLengthLimits.min and pinLengthLimits.max. */
  minLength: number;
}

export const pinLengthLimits = { min: 4, max: 10 } as const;

export const defaultPinPolicy: PinPolicy = { minLength: pinLengthLimits.min };

export type PinProblem =
  'notDigits' | 'tooShort' | 'tooLong' | 'allSame' | 'sequence' | 'inPhoneNumber';

function requireValidPolicy(policy: PinPolicy): void {
  const { minLength } = policy;
  if (
    !Number.isInteger(minLength) ||
    minLength < pinLengthLimits.min ||
    minLength > pinLengthLimits.max
  ) {
    throw new RangeError(
      `PIN minimum length must be a whole number from ${pinLengthLimits.min} to ${pinLengthLimits.max}`,
    );
  }
}

/**
 * Each digit one more (or each one less) than the one before. 0 follows 9 (7890, 8901, 0987),
 * because keyboards and phone keypads put 0 after 9, so people type those as runs too.
 */
function isSequence(pin: string): boolean {
  const steps = new Set<number>();
  for (let i = 1; i < pin.length; i++) steps.add((Number(pin[i]) - Number(pin[i - 1]) + 10) % 10);
  return steps.size === 1 && (steps.has(1) || steps.has(9));
}

function isInPhoneNumber(pin: string, phoneNumbers: readonly string[]): boolean {
  return phoneNumbers.some((phone) => phone.replace(/[^0-9]/g, '').includes(pin));
}

/**
 * Every problem with the PIN, or an empty list. The patterns are judged only once the PIN is
 * digits of an allowed length, so the first problem a person is shown is the one to fix first.
 */
export function checkPin(
  pin: string,
  policy: PinPolicy,
  phoneNumbers: readonly string[],
): PinProblem[] {
  requireValidPolicy(policy);
  const problems: PinProblem[] = [];
  if (!/^[0-9]*$/.test(pin)) problems.push('notDigits');
  if (pin.length < policy.minLength) problems.push('tooShort');
  if (pin.length > pinLengthLimits.max) problems.push('tooLong');
  if (problems.length > 0) return problems;

  if (/^(.)\1*$/.test(pin)) problems.push('allSame');
  if (isSequence(pin)) problems.push('sequence');
  if (isInPhoneNumber(pin, phoneNumbers)) problems.push('inPhoneNumber');
  return problems;
}

const pinMessages: Record<PinProblem, string> = {
  notDigits: 'pin.errors.notDigits',
  tooShort: 'pin.errors.tooShort',
  tooLong: 'pin.errors.tooLong',
  allSame: 'pin.errors.allSame',
  sequence: 'pin.errors.sequence',
  inPhoneNumber: 'pin.errors.inPhoneNumber',
};

/** A new PIN typed twice, as a form shows its problems: the policy first, then the match. */
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

/**
 * A random PIN of the minimum length that passes checkPin. With a few real phone numbers an
 * attempt fails less than 1 % of the time; the bound on attempts is only reached when the "phone
 * numbers" are long digit strings that cover almost every PIN.
 */
export function generatePin(policy: PinPolicy, phoneNumbers: readonly string[]): string {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const pin = Array.from({ length: policy.minLength }, () => randomInt(10)).join('');
    if (checkPin(pin, policy, phoneNumbers).length === 0) return pin;
  }
  throw new Error('Could not generate a PIN that avoids the phone numbers given');
}
