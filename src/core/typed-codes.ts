import type { FieldError } from './mfa-service.ts';

/** A code as people type it: spaces allowed, then exactly the expected number of digits. */
export function readCode(raw: string, digits: readonly number[]): string | undefined {
  const code = raw.replace(/\s/g, '');
  return /^\d+$/.test(code) && digits.includes(code.length) ? code : undefined;
}

/** Why a typed code cannot be checked at all: missing, or not the expected digits. */
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
