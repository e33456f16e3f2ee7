import type { CountryCode } from 'libphonenumber-js';
import { phoneCountries, type TypedNumber } from '../../core/phone-numbers.ts';

/** The country preselected in phone forms, from the page language. */
export function defaultCountry(language: string): CountryCode {
  return language === 'nl' ? 'NL' : language === 'fr' ? 'FR' : 'GB';
}

export { phoneCountries };

/**
 * One number's fields of a phone form, as typed: `phoneCountry`, `phoneNumber` and, where the
 * form has one, `phoneExtension` for the prefix `phone`. The core validates them.
 */
export function typedNumber(form: Partial<Record<string, string>>, prefix: string): TypedNumber {
  const extension = form[`${prefix}Extension`];
  return {
    country: form[`${prefix}Country`] ?? '',
    number: form[`${prefix}Number`] ?? '',
    ...(extension === undefined ? {} : { extension }),
  };
}
