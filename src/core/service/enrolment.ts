import type { MfaServiceDependencies } from './index.ts';

/** To be filled in: the enrolment operations of the MfaService (SPEC §2). */
export type EnrolmentService = Record<string, never>;

export function createEnrolmentService(deps: MfaServiceDependencies): EnrolmentService {
  void deps;
  return {};
}
