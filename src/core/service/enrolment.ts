import type { MfaServiceDependencies } from './index.ts';

/** To be filled in: the enrolment operations of the MfaService (SPEC §2). */
export type EnrolmentService = Record<string, never>;

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- a stub until its area is built
export function createEnrolmentService(_deps: MfaServiceDependencies): EnrolmentService {
  return {};
}
