import type { MfaServiceDependencies } from './index.ts';

/** To be filled in: the second-step operations of the MfaService (SPEC §2). */
export type SecondStepService = Record<string, never>;

export function createSecondStepService(deps: MfaServiceDependencies): SecondStepService {
  void deps;
  return {};
}
