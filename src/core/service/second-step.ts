import { randomInt } from 'node:crypto';
import type { UserRow } from '../../data/users-repository.ts';
import type { Context } from '../context.ts';
import { pinRequired, type Channels } from '../method-policy.ts';
import { commitChange, type Change } from '../changes.ts';
import { MfaError, type FieldError } from '../mfa-service.ts';
import { hashSecret, verifySecret } from '../passwords.ts';
import { newPinErrors } from '../pin-policy.ts';
import { maskPhone } from '../phone-numbers.ts';
import type { CheckOutcome, CheckPurpose, Enrolment } from '../second-factor.ts';
import type { Method, PortalSettings } from '../settings.ts';
import type { MfaServiceDependencies } from './index.ts';

export type CodeMethod = Extract<Method, 'app' | 'token'>;

/** The ways a user can prove the second step now (SPEC J1), or prove a factor again (J3). */
export interface SecondStepOptions {
  /** Every method usable now: calls and texts first (only with a provider), then app and token. */
  methods: Method[];
  /** The one to offer first: the default method when it is usable, else the first; none left. */
  preferred: Method | null;
  /** Security questions are open as a fallback: switched on, and enough of them answered (M6). */
  questions: boolean;
  /** The lengths a code may have for each method: 6 for the app, those of the user's tokens. */
  codeDigits: Record<CodeMethod, number[]>;
  /** A code from the app is followed by the PIN (app mode "PIN", M3, M5). */
  appPin: boolean;
  /** The numbers a call or text goes to, masked for the page (M1, M2). */
  maskedNumbers: Record<Extract<Method, 'phone' | 'sms'>, string | null>;
}

/** A security question to ask, in the language it was answered in (WCAG 3.1.2). */
export interface AskedQuestion {
  id: string;
  text: string;
  language: string;
}

/** A counted check: `locked` when the account was locked already or this failure locked it. */
export type SecondStepOutcome =
  { outcome: 'success' } | { outcome: 'invalid' } | { outcome: 'locked'; until: number };

/**
 * The second step of sign-in and proving a factor again before a change (SPEC J1, J3, M6, M8).
 * `purpose` says which, for the audit. Every check is counted before any hash is computed (S5),
 * and a success clears the account's failure counters.
 */
export interface SecondStepService {
  /** A code from the app or the token, with the PIN when the app mode asks for it (M3, M4, S6). */
  checkCode(
    context: Context,
    input: {
      userId: string;
      purpose: CheckPurpose;
      method: CodeMethod;
      code: string;
      pin?: string;
    },
  ): Promise<SecondStepOutcome>;
  /**
   * SPEC M5 "PIN change required": the new PIN of a user whose PIN an administrator reset,
   * chosen once the second step was proven with the old one; under the PIN policy, audited,
   * and the user told by email. `conflict` when no change is required.
   */
  chooseRequiredPin(
    context: Context,
    input: { userId: string; pin: string; pinConfirmation: string },
  ): Promise<{ outcome: 'saved' } | { outcome: 'invalid'; errors: FieldError[] }>;
  /**
   * The questions to ask (M6): a random pick kept on the account until it is answered, so that
   * neither a reload nor a new sign-in re-rolls them. `not-found` when questions are closed.
   */
  questionsToAsk(context: Context, input: { userId: string }): Promise<AskedQuestion[]>;
  /**
   * The answers to the asked questions, all of them right (M6); answers to any other questions
   * count as wrong. `not-found` as above.
   */
  checkAnswers(
    context: Context,
    input: {
      userId: string;
      purpose: CheckPurpose;
      answers: { questionId: string; answer: string }[];
    },
  ): Promise<SecondStepOutcome>;
}

type SecondStepDependencies = Pick<
  MfaServiceDependencies,
  | 'db'
  | 'users'
  | 'settings'
  | 'questions'
  | 'secondFactor'
  | 'phoneVerification'
  | 'changes'
  | 'argon2'
  | 'now'
>;

const questionsOpen = (settings: PortalSettings, answered: number) =>
  settings.useSecurityQuestions && answered >= settings.questionsToAnswer;

/**
 * What the second-step pages offer a user now (J1): worked out with the journey from what it has
 * loaded, so that no page of the second step loads the user again.
 */
export function secondStepOptions(
  user: Pick<UserRow, 'default_method' | 'phone' | 'mobile_phone'>,
  enrolment: Enrolment,
  settings: PortalSettings,
  telephony: Channels,
): SecondStepOptions {
  const usable = (m: Method) => m === 'app' || m === 'token' || telephony[m];
  const ordered: Method[] = ['phone', 'sms', 'app', 'token'];
  const methods = ordered.filter((m) => enrolment.methods.includes(m) && usable(m));
  const tokenDigits = enrolment.devices.filter((d) => d.kind === 'token').map((d) => d.digits);
  return {
    methods,
    preferred: methods.find((m) => m === user.default_method) ?? methods[0] ?? null,
    questions: questionsOpen(settings, enrolment.answeredQuestions),
    codeDigits: { app: [6], token: [...new Set(tokenDigits)] },
    appPin: pinRequired('app', settings),
    maskedNumbers: {
      phone: user.phone === null ? null : maskPhone(user.phone),
      sms: user.mobile_phone === null ? null : maskPhone(user.mobile_phone),
    },
  };
}

/** The device that matched stays in the core: the caller learns only the outcome. */
const outcomeOf = (checked: CheckOutcome): SecondStepOutcome =>
  checked.outcome === 'locked' ? checked : { outcome: checked.outcome };

export function createSecondStepService(deps: SecondStepDependencies): SecondStepService {
  const { users, settings: settingsRepository, questions, secondFactor } = deps;
  const now = deps.now ?? Date.now;

  async function userOf(userId: string): Promise<UserRow & { answered_questions: number }> {
    const user = await users.findWithAnswerCount(userId);
    if (!user) throw new MfaError('not-found', 'No such user');
    return user;
  }

  /** The user's answered questions in a random order, for a random pick (M6). */
  async function shuffledQuestions(userId: string): Promise<AskedQuestion[]> {
    const answered = (await questions.answersOf(userId)).map((a) => ({
      id: a.question_id,
      text: a.text,
      language: a.language,
    }));
    for (let i = answered.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [answered[i], answered[j]] = [answered[j] as AskedQuestion, answered[i] as AskedQuestion];
    }
    return answered;
  }

  /** The questions picked for the account and not yet answered (M6). */
  function pickedOf(user: UserRow): string[] {
    const ids: unknown = user.asked_questions === null ? [] : JSON.parse(user.asked_questions);
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
  }

  function requireQuestionsOpen(settings: PortalSettings, answered: number): void {
    if (!questionsOpen(settings, answered)) {
      throw new MfaError('not-found', 'Security questions are not a way in for this user');
    }
  }

  return {
    async checkCode(context, { userId, purpose, method, code, pin }) {
      // The user and their devices in one statement: the check reads no row again.
      const [found, settings] = await Promise.all([
        users.findWithDevices(userId),
        settingsRepository.read(),
      ]);
      if (!found) throw new MfaError('not-found', 'No such user');
      const { devices: userDevices, ...user } = found;
      const withPin = method === 'app' && pinRequired('app', settings) ? (pin ?? '') : undefined;
      const checked = await secondFactor.checkDeviceCode(
        user,
        method,
        userDevices.filter((d) => d.kind === method),
        code,
        withPin,
        context,
        purpose,
      );
      return outcomeOf(checked);
    },

    async chooseRequiredPin(context, { userId, pin, pinConfirmation }) {
      const [user, { pinMinLength }] = await Promise.all([
        userOf(userId),
        settingsRepository.read(),
      ]);
      if (user.pin_change_required === 0) throw new MfaError('conflict', 'No PIN change required');
      const phones = [user.phone, user.backup_phone, user.mobile_phone].filter((p) => p !== null);
      const errors = newPinErrors(pin, pinConfirmation, pinMinLength, phones);
      // The PIN the helpdesk set, typed again, is one the helpdesk still knows (SPEC M5).
      if (
        errors.length === 0 &&
        user.pin_hash !== null &&
        (await verifySecret(pin, user.pin_hash))
      ) {
        errors.push({ field: 'pin', message: 'verify.newPin.errors.same' });
      }
      if (errors.length > 0) return { outcome: 'invalid', errors };
      const pinHash = await hashSecret(pin, deps.argon2);
      const change: Change = {
        type: 'change.pin',
        reason: 'required change',
        notice: 'factorChanged',
        what: 'pin',
      };
      await commitChange(deps.db, now(), { user, change, context }, async (trx, time) => {
        await trx
          .updateTable('users')
          .set({ pin_hash: pinHash, pin_change_required: 0, updated_at: time })
          .where('id', '=', user.id)
          .execute();
      });
      void deps.changes.notify(user, change, context);
      return { outcome: 'saved' };
    },

    async questionsToAsk(_context, { userId }) {
      const [user, answered, settings] = await Promise.all([
        userOf(userId),
        shuffledQuestions(userId),
        settingsRepository.read(),
      ]);
      requireQuestionsOpen(settings, answered.length);
      const kept = pickedOf(user)
        .map((id) => answered.find((q) => q.id === id))
        .filter((q) => q !== undefined);
      if (kept.length === settings.questionsToAnswer) return kept;
      const picked = answered.slice(0, settings.questionsToAnswer);
      await users.setAskedQuestions(
        userId,
        picked.map((q) => q.id),
      );
      return picked;
    },

    async checkAnswers(context, { userId, purpose, answers }) {
      const [user, settings] = await Promise.all([userOf(userId), settingsRepository.read()]);
      requireQuestionsOpen(settings, user.answered_questions);
      // Exactly the questions picked for the account, each once, or the check fails (counted).
      const picked = new Set(pickedOf(user));
      const given = new Set(answers.map((a) => a.questionId));
      const complete =
        given.size === answers.length &&
        given.size === settings.questionsToAnswer &&
        picked.size === given.size &&
        [...given].every((id) => picked.has(id));
      const outcome = await secondFactor.checkAnswers(
        user,
        complete ? answers : [],
        context,
        purpose,
      );
      // Answered: the next time asks a fresh pick.
      if (outcome.outcome === 'success') await users.setAskedQuestions(userId, null);
      return outcomeOf(outcome);
    },
  };
}
