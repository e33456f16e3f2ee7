import type { MfaServiceDependencies } from './index.ts';

/** To be filled in: the account operations of the MfaService (SPEC §2). */
export type AccountService = Record<string, never>;

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- a stub until its area is built
export function createAccountService(_deps: MfaServiceDependencies): AccountService {
  return {};
}
