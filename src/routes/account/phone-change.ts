import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { isPhoneCountry } from '../../core/phone-numbers.ts';

/**
 * A stored number as the phone form shows it: its country chosen and the national format, or the
 * international format when its country is not one the form lists.
 */
export function numberValues(
  prefix: string,
  e164: string | null,
  extension: string | null = null,
): Record<string, string> {
  if (!e164) return {};
  const parsed = parsePhoneNumberFromString(e164);
  const country = parsed?.country ?? '';
  const listed = isPhoneCountry(country);
  return {
    ...(listed ? { [`${prefix}Country`]: country } : {}),
    [`${prefix}Number`]: parsed
      ? listed
        ? parsed.formatNational()
        : parsed.formatInternational()
      : e164,
    ...(extension ? { [`${prefix}Extension`]: extension } : {}),
  };
}
