import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { FieldError } from './mfa-service.ts';

/** Countries offered first in the phone forms; any number typed with +country code works. */
export const phoneCountries = ['NL', 'BE', 'FR', 'LU', 'DE', 'GB', 'IE', 'US', 'CA'] as const;
export type PhoneCountry = (typeof phoneCountries)[number];

export function isPhoneCountry(value: string): value is PhoneCountry {
  return (phoneCountries as readonly string[]).includes(value);
}

/** A number as people type it, national or international, to E.164; undefined if not valid. */
export function parsePhone(number: string, country: CountryCode): string | undefined {
  if (number.trim() === '' || number.length > 40) return undefined;
  const parsed = parsePhoneNumberFromString(number, country);
  return parsed?.isValid() ? parsed.number : undefined;
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
  const phone = parsePhone(number, typed.country);
  if (!phone) errors.push({ field: `${prefix}Number`, message: 'phone.errors.invalid' });
  if (extension !== '' && !isExtension(extension)) {
    errors.push({ field: `${prefix}Extension`, message: 'phone.errors.extension' });
  }
  return { phone: phone ?? null, extension: extension === '' ? null : extension, errors };
}
