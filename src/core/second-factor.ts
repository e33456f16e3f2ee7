import type { AuditRepository, NewAuditEvent } from '../data/audit-repository.ts';
import type { DeviceRow, DevicesRepository } from '../data/devices-repository.ts';
import type { QuestionsRepository } from '../data/questions-repository.ts';
import type { UserRow } from '../data/users-repository.ts';
import { adminOf, type Context } from './context.ts';
import { normaliseAnswer } from './answers.ts';
import { acceptDeviceCode, resyncHotpDevice } from './devices.ts';
import type { CountedAttempt, Lockout } from './lockout.ts';
import { hashSecret, verifySecret, type Argon2Parameters } from './passwords.ts';
import type { Method } from './settings.ts';

/** A second-factor check either completes a sign-in or proves the user again before a change. */
export type CheckPurpose = 'sign-in.second-step' | 'proof';

export type CheckOutcome =
  | { outcome: 'success'; device?: DeviceRow }
  | { outcome: 'invalid' }
  | { outcome: 'locked'; until: number };

/** What a user has set up, and so which ways of proving it are open to them. */
export interface Enrolment {
  methods: Method[];
  devices: DeviceRow[];
  answeredQuestions: number;
}

/** The numbers a phone call goes to (SPEC M1), in E.164. */
export interface PhoneNumbers {
  phone: string;
  extension: string | null;
  backupPhone: string | null;
  backupExtension: string | null;
}

export interface SecondFactorDependencies {
  devices: DevicesRepository;
  questions: QuestionsRepository;
  lockout: Lockout;
  audit: AuditRepository;
  encryptionKey: Buffer;
  argon2: Argon2Parameters;
  now?: () => number;
}

function userFields(user: UserRow, context: Context) {
  return {
    user_id: user.id,
    username: user.username,
    display_name: user.display_name,
    email: user.email,
    client_ip: context.clientIp ?? null,
    admin_id: adminOf(context),
  };
}

/** What the pages need to know of a counted check: a failure that locked reads as locked. */
function outcomeOf(attempt: CountedAttempt<{ ok: boolean; device?: DeviceRow }>): CheckOutcome {
  switch (attempt.outcome) {
    case 'success':
      return attempt.result.device
        ? { outcome: 'success', device: attempt.result.device }
        : { outcome: 'success' };
    case 'locked':
      return attempt;
    case 'failure':
      return attempt.lockedUntil === null
        ? { outcome: 'invalid' }
        : { outcome: 'locked', until: attempt.lockedUntil };
  }
}

/** The methods a user has set up, from their numbers and devices. */
export function enrolmentFrom(
  user: Pick<UserRow, 'phone' | 'mobile_phone'>,
  userDevices: DeviceRow[],
  answeredQuestions: number,
): Enrolment {
  const methods = new Set<Method>();
  if (userDevices.some((d) => d.kind === 'app')) methods.add('app');
  if (userDevices.some((d) => d.kind === 'token')) methods.add('token');
  if (user.phone) methods.add('phone');
  if (user.mobile_phone) methods.add('sms');
  return { methods: [...methods], devices: userDevices, answeredQuestions };
}

/** The second step of sign-in (SPEC J1, M3, M4, M6, M8). */
export function createSecondFactor(deps: SecondFactorDependencies) {
  const { devices, questions, lockout, audit, encryptionKey, argon2 } = deps;
  const now = deps.now ?? Date.now;

  /** Runs a check counted before it runs (SPEC S5) and audits it, whatever its outcome. */
  async function guarded(
    user: UserRow,
    event: Pick<NewAuditEvent, 'type' | 'method'>,
    context: Context,
    check: () => Promise<{ ok: boolean; device?: DeviceRow }>,
  ): Promise<CheckOutcome> {
    const attempt = await lockout.attempt(user, context, 'all failures', check);
    const result = outcomeOf(attempt);
    await audit.record({
      ...userFields(user, context),
      ...event,
      result: attempt.outcome === 'success' ? 'success' : 'failure',
      // For the administrator: a wrong answer that was checked, or an attempt refused unchecked.
      reason: { success: null, failure: 'invalid', locked: 'locked' }[attempt.outcome],
      phone: null,
      device: result.outcome === 'success' ? (result.device?.name ?? null) : null,
    });
    return result;
  }

  return {
    /** Any other check (a typed text code, an approved call or reply) counted the same way. */
    checkWithLockout: guarded,

    hashPin: (pin: string) => hashSecret(pin, argon2),

    /** The methods a user has set up (their numbers and devices): the answers are not read. */
    async methodsOf(user: UserRow): Promise<Method[]> {
      return enrolmentFrom(user, await devices.forUser(user.id), 0).methods;
    },

    async enrolmentOf(user: UserRow): Promise<Enrolment> {
      const userDevices = await devices.forUser(user.id);
      const answers = await questions.answersOf(user.id);
      return enrolmentFrom(user, userDevices, answers.length);
    },

    /**
     * A code from the user's app activations or from their tokens (`candidates`, which the caller
     * has read), and the PIN when the mode asks for one.
     */
    async checkDeviceCode(
      user: UserRow,
      method: 'app' | 'token',
      candidates: readonly DeviceRow[],
      code: string,
      pin: string | undefined,
      context: Context,
      type: CheckPurpose = 'sign-in.second-step',
    ): Promise<CheckOutcome> {
      return guarded(user, { type, method }, context, async () => {
        if (pin !== undefined && !(user.pin_hash && (await verifySecret(pin, user.pin_hash)))) {
          return { ok: false };
        }
        const device = await acceptDeviceCode(devices, candidates, code, encryptionKey, now());
        return device ? { ok: true, device } : { ok: false };
      });
    },

    /**
     * Two consecutive codes bring the user's HOTP token back in step (SPEC M4). Wrong codes count
     * towards the lockout like any other (M8), and the attempt is audited either way.
     */
    async resyncToken(
      user: UserRow,
      codes: readonly [string, string],
      context: Context,
    ): Promise<CheckOutcome> {
      return guarded(user, { type: 'token.resync', method: 'token' }, context, async () => {
        const token = (await devices.forUser(user.id)).find((d) => d.kind === 'token');
        if (!token) return { ok: false };
        const ok = await resyncHotpDevice(devices, token, codes, encryptionKey);
        return ok ? { ok, device: token } : { ok };
      });
    },

    async checkAnswers(
      user: UserRow,
      answers: { questionId: string; answer: string }[],
      context: Context,
      type: CheckPurpose = 'sign-in.second-step',
    ): Promise<CheckOutcome> {
      return guarded(user, { type, method: 'questions' }, context, async () => {
        const stored = new Map(
          (await questions.answersOf(user.id)).map((a) => [a.question_id, a.answer_hash]),
        );
        let ok = answers.length > 0;
        // Every answer is verified, right or wrong, so the time taken tells nothing.
        for (const { questionId, answer } of answers) {
          const hash = stored.get(questionId);
          const matches = hash ? await verifySecret(normaliseAnswer(answer), hash) : false;
          ok &&= matches;
        }
        return { ok };
      });
    },
  };
}

export type SecondFactor = ReturnType<typeof createSecondFactor>;
