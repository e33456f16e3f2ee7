import type { Request } from 'express';
import { isTrustedIp, parseTrustedIps } from '../../core/trusted-ips.ts';
import type { UserRow } from '../../data/users-repository.ts';
import { startPendingSession, startSignedInSession } from '../../middleware/session.ts';
import type { Services } from '../../services.ts';

/**
 * Where a user goes once their password is proven (SPEC J1, J2): nowhere when users may not
 * sign in (administrators still may), straight in from a trusted IP or with a pending bypass, to
 * the second step when they have a method, to User Setup when they may enrol. A server session
 * starts only on the way in (SPEC S11).
 */
export async function nextStepAfterPassword(
  services: Services,
  req: Request,
  user: UserRow,
): Promise<'/account' | '/verify' | '/setup' | '/not-enrolled' | 'sign-in switched off'> {
  const settings = await services.settings.read();
  if (!settings.allowUserLogin && user.role !== 'admin') return 'sign-in switched off';
  if (isTrustedIp(parseTrustedIps(settings.trustedIps), req.ip)) {
    if (user.failed_count > 0 || user.locked_until !== null) {
      await services.users.clearFailures(user.id);
    }
    await startSignedInSession(req, user.id, services.config.SESSION_ABSOLUTE_HOURS * 3_600_000);
    return '/account';
  }
  // A pending one-time bypass skips the second step for this one sign-in (SPEC J1, M7).
  if (await services.bypasses.consume(user, { clientIp: req.ip })) {
    await startSignedInSession(req, user.id, services.config.SESSION_ABSOLUTE_HOURS * 3_600_000);
    return '/account';
  }
  const enrolment = await services.secondFactor.enrolmentOf(user);
  if (enrolment.methods.length === 0 && !settings.allowEnrollment) return '/not-enrolled';
  await startPendingSession(req, user.id);
  return enrolment.methods.length > 0 ? '/verify' : '/setup';
}
