import type { MfaServiceDependencies } from './index.ts';

/** To be filled in: the phone operations of the MfaService (SPEC §2). */
export type PhoneService = Record<string, never>;

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- a stub until its area is built
export function createPhoneService(_deps: MfaServiceDependencies): PhoneService {
  return {};
}
