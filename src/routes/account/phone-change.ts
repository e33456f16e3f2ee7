import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { isPhoneCountry } from '../../core/phone-numbers.ts';
import type { Method, PortalSettings } from '../../core/settings.ts';
import type { UserRow } from '../../data/users-repository.ts';
import type { Services } from '../../services.ts';
import { nextDefaultMethod } from '../../core/method-policy.ts';

/** The numbers a phone-call change would save (SPEC J3): what `req.session.phoneChange` holds. */
export interface PhoneLines {
  phone: string;
  extension: string | null;
  backupPhone: string | null;
  backupExtension: string | null;
}

/** A number that may be called, and the form field it came from. */
export interface Line {
  phone: string;
  extension: string | null;
  field: 'phoneNumber' | 'backupNumber';
}

/**
 * A number with its extension: what a call actually reaches, and so what is proven. E.164 has no
 * `x`, extensions only digits and commas, so the key is unambiguous.
 */
export function lineKey(phone: string, extension: string | null): string {
  return extension ? `${phone}x${extension}` : phone;
}

/**
 * The lines of a change that are new to the account, in the order they are called: each must
 * answer before anything is saved. A line already on the account (primary or backup) is not
 * called again, so clearing or swapping numbers needs no call.
 */
export function newLines(change: PhoneLines, user: UserRow): Line[] {
  const known = new Set<string>();
  if (user.phone) known.add(lineKey(user.phone, user.phone_extension));
  if (user.backup_phone) known.add(lineKey(user.backup_phone, user.backup_extension));
  const lines: Line[] = [
    { phone: change.phone, extension: change.extension, field: 'phoneNumber' },
  ];
  if (change.backupPhone) {
    lines.push({
      phone: change.backupPhone,
      extension: change.backupExtension,
      field: 'backupNumber',
    });
  }
  const fresh: Line[] = [];
  for (const line of lines) {
    const key = lineKey(line.phone, line.extension);
    if (known.has(key)) continue;
    known.add(key);
    fresh.push(line);
  }
  return fresh;
}

export function sameLines(change: PhoneLines, user: UserRow): boolean {
  return (
    change.phone === user.phone &&
    change.extension === user.phone_extension &&
    change.backupPhone === user.backup_phone &&
    change.backupExtension === user.backup_extension
  );
}

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

/**
 * Clears a phone method's numbers; a default method that pointed at it moves to the portal's
 * default when the user has that, else to another method they keep.
 */
export async function stopUsingMethod(
  services: Services,
  user: UserRow,
  method: Extract<Method, 'phone' | 'sms'>,
  left: readonly Method[],
  settings: PortalSettings,
): Promise<void> {
  const numbers =
    method === 'phone'
      ? { phone: null, phone_extension: null, backup_phone: null, backup_extension: null }
      : { mobile_phone: null };
  const fallback = nextDefaultMethod(left, settings);
  await services.users.updateAccount(user.id, {
    ...numbers,
    ...(user.default_method === method && fallback ? { default_method: fallback } : {}),
  });
}
