// The full metadata: it knows each number's type, so that premium-rate numbers are refused.
import {
  parsePhoneNumberFromString,
  type CountryCode,
  type PhoneNumberType,
} from 'libphonenumber-js/max';
import type { FieldError } from './mfa-service.ts';

/**
 * The countries of the phone forms, and the only ones a number may belong to, typed nationally or
 * with +country code: calls and texts cost money, and an attacker with one password would
 * otherwise ring premium lines anywhere (toll fraud, SMS pumping; SPEC S5).
 */
export const phoneCountries = ['NL', 'BE', 'FR', 'LU', 'DE', 'GB', 'IE', 'US', 'CA'] as const;
export type PhoneCountry = (typeof phoneCountries)[number];

export function isPhoneCountry(value: string): value is PhoneCountry {
  return (phoneCountries as readonly string[]).includes(value);
}

/** Numbers whose calls cost the caller more, or that reach no one person: never called. */
const refusedTypes: readonly (PhoneNumberType | undefined)[] = [
  'PREMIUM_RATE',
  'SHARED_COST',
  'PERSONAL_NUMBER',
  'UAN',
  'PAGER',
  'VOICEMAIL',
];

/**
 * A number as people type it, national or international, to E.164: `invalid` when it is no
 * number, `not-allowed` when it is one the portal does not call (another country, premium rate).
 */
export function parsePhone(
  number: string,
  country: CountryCode,
): { phone: string } | { refused: 'invalid' | 'not-allowed' } {
  if (number.trim() === '' || number.length > 40) return { refused: 'invalid' };
  const parsed = parsePhoneNumberFromString(number, country);
  if (!parsed?.isValid()) return { refused: 'invalid' };
  if (!isPhoneCountry(parsed.country ?? '') || refusedTypes.includes(parsed.getType())) {
    return { refused: 'not-allowed' };
  }
  return { phone: parsed.number };
}

/** Extensions are digits, with commas for pauses before dialling them (SPEC M1). */
export function isExtension(value: string): boolean {
  return /^[0-9,]{1,16}$/.test(value);
}

/** For pages, reports and audit: the last digits only (SPEC A4). */
export function maskPhone(e164: string): string {
  return `${e164.slice(0, 3)} ••• ${e164.slice(-2)}`;
}

/** A number as a person typed it into a form: the country chosen, the number, an extension. */
export interface TypedNumber {
  country: string;
  number: string;
  extension?: string;
}

/** A typed number read, in E.164, or the errors of its fields. */
export interface ReadNumber {
  phone: string | null;
  extension: string | null;
  errors: FieldError[];
}

/**
 * One typed number, validated and brought to E.164 (SPEC J2, M1): its errors name the form's
 * fields after `prefix` (`phoneNumber`, `backupCountry`, `mobileNumber`, …). An empty number is
 * no number, or an error when one is required.
 */
export function readNumber(
  typed: TypedNumber,
  prefix: string,
  options: { required: boolean },
): ReadNumber {
  const number = typed.number.trim();
  const extension = (typed.extension ?? '').trim();
  const errors: FieldError[] = [];
  if (number === '') {
    if (options.required) {
      errors.push({ field: `${prefix}Number`, message: 'phone.errors.missing' });
    }
    return { phone: null, extension: null, errors };
  }
  if (!isPhoneCountry(typed.country)) {
    errors.push({ field: `${prefix}Country`, message: 'phone.errors.country' });
    return { phone: null, extension: null, errors };
  }
  const parsed = parsePhone(number, typed.country);
  const phone = 'phone' in parsed ? parsed.phone : undefined;
  if ('refused' in parsed) {
    const message =
      parsed.refused === 'invalid' ? 'phone.errors.invalid' : 'phone.errors.notAllowed';
    errors.push({ field: `${prefix}Number`, message });
  }
  if (extension !== '' && !isExtension(extension)) {
    errors.push({ field: `${prefix}Extension`, message: 'phone.errors.extension' });
  }
  return { phone: phone ?? null, extension: extension === '' ? null : extension, errors };
}
