import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

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
