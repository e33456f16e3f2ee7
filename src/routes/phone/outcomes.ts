import createError from 'http-errors';
import type { PhoneVerification } from '../../core/phone-verification.ts';
import type { Services } from '../../services.ts';

/** Why a call or text did not prove the number, as the user is told (SPEC M1, M2). */
const denialMessages: Record<string, string> = {
  'no answer': 'wait.denied.noAnswer',
  'unexpected keys': 'wait.denied.unexpectedKeys',
  'wrong pin': 'wait.denied.wrongPin',
  fraud: 'wait.denied.fraud',
  'wrong reply': 'wait.denied.wrongReply',
  expired: 'wait.denied.expired',
};

export function denialMessage(reason: string | null | undefined): string {
  return denialMessages[reason ?? ''] ?? 'wait.denied.expired';
}

/** Calls and texts exist only with a provider: without one their pages are not found. */
export function requirePhoneVerification(services: Services): PhoneVerification {
  if (!services.phoneVerification) throw createError(404);
  return services.phoneVerification;
}
