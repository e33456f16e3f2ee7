import type { UserRow } from '../data/users-repository.ts';
import type { PhoneNumbers } from './second-factor.ts';

/** New numbers for a method of the account (SPEC J3): calls (with a backup) or texts. */
export type NumbersChange =
  { kind: 'phone'; numbers: PhoneNumbers } | { kind: 'mobile'; mobilePhone: string };

/**
 * A change of numbers waiting for each new number to answer (the core's draft of kind
 * 'phone-change'): nothing is saved until every new line has proven itself.
 */
export type PhoneChangeDraft = NumbersChange & {
  /** The lines proven so far in this change (see `lineKey`). */
  proven: string[];
  /** The line being called or texted now, and its call or text. */
  proving?: string;
  verificationId?: string;
};

/** A number that may be called or texted, and which of the change's numbers it is. */
export interface Line {
  phone: string;
  extension: string | null;
  which: 'phone' | 'backup' | 'mobile';
}

/**
 * A number with its extension: what a call actually reaches, and so what is proven. E.164 has no
 * `x`, extensions only digits and commas, so the key is unambiguous.
 */
export function lineKey(phone: string, extension: string | null): string {
  return extension ? `${phone}x${extension}` : phone;
}

/**
 * The lines of a change that are new to the account, in the order they are called or texted:
 * each must answer before anything is saved. A line already on the account (primary or backup)
 * is not called again, so clearing or swapping numbers needs no call.
 */
export function newLines(change: NumbersChange, user: UserRow): Line[] {
  if (change.kind === 'mobile') {
    return change.mobilePhone === user.mobile_phone
      ? []
      : [{ phone: change.mobilePhone, extension: null, which: 'mobile' }];
  }
  const { numbers } = change;
  const known = new Set<string>();
  if (user.phone) known.add(lineKey(user.phone, user.phone_extension));
  if (user.backup_phone) known.add(lineKey(user.backup_phone, user.backup_extension));
  const lines: Line[] = [{ phone: numbers.phone, extension: numbers.extension, which: 'phone' }];
  if (numbers.backupPhone) {
    lines.push({ phone: numbers.backupPhone, extension: numbers.backupExtension, which: 'backup' });
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

/** Whether the change would save what the account has already. */
export function changesNothing(change: NumbersChange, user: UserRow): boolean {
  if (change.kind === 'mobile') return change.mobilePhone === user.mobile_phone;
  const { numbers } = change;
  return (
    numbers.phone === user.phone &&
    numbers.extension === user.phone_extension &&
    numbers.backupPhone === user.backup_phone &&
    numbers.backupExtension === user.backup_extension
  );
}
