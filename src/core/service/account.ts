import type { MfaServiceDependencies } from './index.ts';

/** To be filled in: the account operations of the MfaService (SPEC §2). */
export type AccountService = Record<string, never>;

export function createAccountService(deps: MfaServiceDependencies): AccountService {
  void deps;
  return {};
}
