import type { MfaServiceDependencies } from './index.ts';

/** To be filled in: the second-step operations of the MfaService (SPEC §2). */
export type SecondStepService = Record<string, never>;

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- a stub until its area is built
export function createSecondStepService(_deps: MfaServiceDependencies): SecondStepService {
  return {};
}
