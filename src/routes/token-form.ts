import type { TokenInput } from '../core/tokens.ts';

export { tokenChoices } from '../core/tokens.ts';

/** The fields of the OATH token form (SPEC M4); the core checks what they hold. */
export const tokenFields = [
  'serial',
  'secret',
  'otpType',
  'digits',
  'period',
  'algorithm',
  'code',
] as const satisfies readonly (keyof TokenInput)[];

export type TokenForm = Record<(typeof tokenFields)[number], string>;
