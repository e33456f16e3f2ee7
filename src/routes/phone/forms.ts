import type { CountryCode } from 'libphonenumber-js';
import {
  isExtension,
  isPhoneCountry,
  parsePhone,
  phoneCountries,
} from '../../core/phone-numbers.ts';
import type { FieldError } from '../form.ts';

/** The country preselected in phone forms, from the page language. */
export function defaultCountry(language: string): CountryCode {
  return language === 'nl' ? 'NL' : language === 'fr' ? 'FR' : 'GB';
}

export { phoneCountries };

/**
 * One phone number from a form: country, number and (when asked) extension. Errors name the
 * field; the number comes back in E.164 (SPEC J2: validated and stored in E.164).
 */
export function readPhone(
  form: Record<string, string>,
  prefix: string,
  options: { required: boolean; withExtension: boolean },
): { phone: string | null; extension: string | null; errors: FieldError[] } {
  const country = form[`${prefix}Country`] ?? '';
  const number = (form[`${prefix}Number`] ?? '').trim();
  const extension = options.withExtension ? (form[`${prefix}Extension`] ?? '').trim() : '';
  const errors: FieldError[] = [];
  if (number === '') {
    if (options.required)
      errors.push({ field: `${prefix}Number`, message: 'phone.errors.missing' });
    return { phone: null, extension: null, errors };
  }
  if (!isPhoneCountry(country)) {
    errors.push({ field: `${prefix}Country`, message: 'phone.errors.country' });
    return { phone: null, extension: null, errors };
  }
  const phone = parsePhone(number, country);
  if (!phone) errors.push({ field: `${prefix}Number`, message: 'phone.errors.invalid' });
  if (extension !== '' && !isExtension(extension)) {
    errors.push({ field: `${prefix}Extension`, message: 'phone.errors.extension' });
  }
  return { phone: phone ?? null, extension: extension === '' ? null : extension, errors };
}
