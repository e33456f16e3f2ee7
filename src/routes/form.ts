import createError from 'http-errors';

export type { FieldError } from '../core/mfa-service.ts';

/**
 * Reads a urlencoded form: every field must be a single string and no other field may be
 * present. Anything else was not sent by our page, so it is a 400 that changes nothing (S9).
 */
export function readForm<K extends string>(body: unknown, fields: readonly K[]): Record<K, string> {
  const source = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const allowed = new Set<string>([...fields, '_csrf']);
  for (const key of Object.keys(source)) {
    if (!allowed.has(key)) throw createError(400, `Unexpected field ${key}`);
  }
  const form = {} as Record<K, string>;
  for (const field of fields) {
    const value = source[field] ?? '';
    if (typeof value !== 'string') throw createError(400, `Field ${field} must be one value`);
    form[field] = value;
  }
  return form;
}
