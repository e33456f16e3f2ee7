import type { MfaServiceDependencies } from './index.ts';

/** To be filled in: the phone operations of the MfaService (SPEC §2). */
export type PhoneService = Record<string, never>;

export function createPhoneService(deps: MfaServiceDependencies): PhoneService {
  void deps;
  return {};
}
