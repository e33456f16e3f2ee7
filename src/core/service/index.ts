import type { MfaService } from '../mfa-service.ts';
import { createSignInService, type SignInServiceDependencies } from './sign-in.ts';

export type MfaServiceDependencies = SignInServiceDependencies;

/** The in-process MFA core behind the one interface (SPEC §2). */
export function createMfaService(deps: MfaServiceDependencies): MfaService {
  return { signIn: createSignInService(deps) };
}
