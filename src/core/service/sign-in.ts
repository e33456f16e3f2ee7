import type { SettingsRepository } from '../../data/settings-repository.ts';
import type { UsersRepository } from '../../data/users-repository.ts';
import type { Accounts } from '../accounts.ts';
import { accountPermissions, type Channels } from '../method-policy.ts';
import type { Journey, SignInService } from '../mfa-service.ts';
import { enrolmentFrom } from '../second-factor.ts';
import { secondStepOptions } from './second-step.ts';
import { toAccount } from './views.ts';

export interface SignInServiceDependencies {
  users: UsersRepository;
  settings: SettingsRepository;
  accounts: Accounts;
  telephony: Channels;
  now?: () => number;
}

export function createSignInService(deps: SignInServiceDependencies): SignInService {
  const { users, settings, accounts, telephony } = deps;
  const now = deps.now ?? Date.now;
  return {
    async signIn(context, { username, password }) {
      return accounts.signIn(username, password, context);
    },

    async signInWindows(context, { identity }) {
      return accounts.signInWindows(identity, context);
    },

    /**
     * SPEC S10: the stage follows from the account and the settings now, never from an earlier
     * step: signed in; second step (a way to sign in exists); User Setup (none yet, enrolment
     * allowed, not locked); or the session ends.
     */
    async journey(_context, { userId, pendingUserId }): Promise<Journey> {
      const id = userId ?? pendingUserId;
      if (id === undefined) return { stage: 'anonymous' };
      // One statement for all of it: the row with its answer count and its devices.
      const [found, policy] = await Promise.all([users.findWithDevices(id), settings.read()]);
      if (!found || found.disabled) return { stage: 'anonymous' };
      const { answered_questions: answered, devices: userDevices, ...user } = found;
      const admin = user.role === 'admin';
      // "Allow users to log in" off: only administrators still sign in (SPEC §5, as the original).
      if (!policy.allowUserLogin && !admin) return { stage: 'ended', reason: 'signInOff' };
      const enrolment = enrolmentFrom(user, userDevices, answered);
      const account = toAccount(user, enrolment);
      const loaded = {
        account,
        admin,
        settings: policy,
        telephony,
        can: accountPermissions(policy, enrolment, telephony),
        secondStep: secondStepOptions(user, enrolment, policy, telephony),
      };
      if (userId !== undefined) return { stage: 'signed-in', ...loaded };
      if (enrolment.methods.length > 0) return { stage: 'second-step', ...loaded };
      if (!policy.allowEnrollment || !user.may_enrol)
        return { stage: 'ended', reason: 'notEnrolled' };
      // A locked account enrols nothing: it waits, like every other way in (SPEC M8).
      if (user.locked_until !== null && user.locked_until > now()) return { stage: 'anonymous' };
      return { stage: 'enrolling', ...loaded };
    },

    async settings() {
      return settings.read();
    },
  };
}
