import { createAuditRepository } from '../../data/audit-repository.ts';
import { createImportedTokensRepository } from '../../data/imported-tokens-repository.ts';
import type { Db } from '../../data/schema.ts';
import { answerErrors, normaliseAnswer } from '../answers.ts';
import type { Context } from '../context.ts';
import { adminOf } from '../context.ts';
import {
  appActivation,
  appDeviceParameters,
  newDeviceRow,
  proveNewDevice,
  type AppActivation,
} from '../devices.ts';
import type { EnrolmentDraft } from '../drafts.ts';
import { importedTokenParams, proveImportedSerial } from '../imported-tokens.ts';
import { noChannels, offeredMethods, pinRequired, type SetupMethod } from '../method-policy.ts';
import { MfaError, type FieldError } from '../mfa-service.ts';
import { generateOtpSecret } from '../otp.ts';
import { hashSecret } from '../passwords.ts';
import { newPinErrors } from '../pin-policy.ts';
import type { Method, PortalSettings } from '../settings.ts';
import { checkToken, type TokenInput } from '../tokens.ts';
import { codeError, readCode } from '../typed-codes.ts';
import type { MfaServiceDependencies } from './index.ts';

/** Where a User Setup stands, as its pages need to know. */
export interface EnrolmentProgress {
  method: Method;
  /** The user proved that the method works: the questions, or the saving, come next. */
  proven: boolean;
}

/** What the mobile app page of User Setup shows (SPEC M3, M5). */
export interface AppSetup {
  /** The new seed, once the user asked for one ("Generate activation code"). */
  activation: AppActivation | null;
  /** Whether the first code comes with a new PIN, and the PIN's minimum length. */
  pin: { required: boolean; minLength: number };
}

export type ProofOutcome =
  /** Proven: the draft holds the proof; `next` says whether the questions come first. */
  | { outcome: 'proven'; draftId: string; next: 'questions' | 'complete' }
  | { outcome: 'invalid'; errors: FieldError[] }
  /** Nothing to prove: no app activation in this setup, or its draft expired. */
  | { outcome: 'not-started' };

export type CompletionOutcome =
  | { outcome: 'enrolled' }
  | { outcome: 'invalid'; errors: FieldError[] }
  /** No proven setup behind this draft id (never proven, expired or cancelled). */
  | { outcome: 'not-started' };

/**
 * User Setup (SPEC J2) for a user with no way to sign in yet: choose a method, prove it works,
 * answer the security questions, and only then is anything saved. The setup in progress is a
 * core draft (kind 'enrolment') referred to by its id; the phone and text steps (the phone
 * service) fill the same draft. Operations on a method that is not offered throw
 * `MfaError('not-found')`; a user acting on another user's setup, `MfaError('not-allowed')`.
 */
export interface EnrolmentService {
  /** SPEC J2, §5: the methods User Setup offers the user now, in the order shown. */
  offeredMethods(context: Context, input: { userId: string }): Promise<SetupMethod[]>;
  /**
   * SPEC J2: starts a setup with the method the user chose, one of those offered; `draftId`, the
   * setup so far, is replaced.
   */
  begin(
    context: Context,
    input: { userId: string; method: string; draftId?: string | undefined },
  ): Promise<{ outcome: 'begun'; draftId: string } | { outcome: 'invalid'; errors: FieldError[] }>;
  /** Where the setup stands, or null when its draft is gone. */
  progress(
    context: Context,
    input: { userId: string; draftId: string },
  ): Promise<EnrolmentProgress | null>;
  /**
   * SPEC M3 "Generate activation code": a new seed for the mobile app, made and sealed in the
   * core, in the setup's draft (a new draft when there is none).
   */
  generateAppSeed(
    context: Context,
    input: { userId: string; draftId?: string | undefined },
  ): Promise<{ draftId: string }>;
  /**
   * SPEC M3, M5: what the mobile app page shows. `issuer` is the portal's name as the
   * authenticator will show it, in the page's language.
   */
  appSetup(
    context: Context,
    input: { userId: string; draftId?: string | undefined; issuer: string },
  ): Promise<AppSetup>;
  /**
   * SPEC M3, M5: the app proven with a code it shows now and, when the app's mode asks for one, a
   * new PIN typed twice that the PIN policy accepts (hashed here, kept in the draft).
   */
  proveApp(
    context: Context,
    input: {
      userId: string;
      draftId: string;
      code: string;
      pin?: string;
      pinConfirmation?: string;
    },
  ): Promise<ProofOutcome>;
  /**
   * SPEC M4: an OATH token proven with a code it shows now; the token goes in the setup's draft
   * (a new draft when there is none).
   */
  proveToken(
    context: Context,
    input: { userId: string; draftId?: string | undefined; token: TokenInput },
  ): Promise<Exclude<ProofOutcome, { outcome: 'not-started' }>>;
  /**
   * SPEC M4: a token an administrator imported, named by its serial and proven with a code it
   * shows now; counted towards the lockout (M8) and audited like any code. The token goes in the
   * setup's draft and is taken from the waiting ones when the setup is saved.
   */
  proveImportedToken(
    context: Context,
    input: { userId: string; draftId?: string | undefined; serial: string; code: string },
  ): Promise<
    Exclude<ProofOutcome, { outcome: 'not-started' }> | { outcome: 'locked'; until: number }
  >;
  /**
   * SPEC M6: the questions to choose from, in the context's language, and how many to answer
   * (none when the portal does not use security questions).
   */
  questions(
    context: Context,
    input: { userId: string },
  ): Promise<{ count: number; questions: { id: string; text: string }[] }>;
  /**
   * SPEC J2, M6, N2: saves the proven setup with the answers to the questions (checked and hashed
   * here): device, PIN, numbers, answers and audit in one transaction, then the "added" notice;
   * the draft ends. Throws `MfaError('conflict')` when the user has a way to sign in by now (a
   * setup finished in another tab): nothing is saved; `'not-allowed'` when User Setup is off.
   */
  complete(
    context: Context,
    input: {
      userId: string;
      draftId: string;
      answers: readonly { questionId: string; answer: string }[];
    },
  ): Promise<CompletionOutcome>;
  /** SPEC J2: the user left User Setup ("Cancel sign-in"): its draft ends, nothing is saved. */
  cancel(context: Context, input: { userId: string; draftId: string }): Promise<void>;
}

export function createEnrolmentService(deps: MfaServiceDependencies): EnrolmentService {
  const { db, users, settings, questions, drafts, changes, encryptionKey, argon2, translate } =
    deps;
  const importedTokens = createImportedTokensRepository(db);
  const now = deps.now ?? Date.now;
  const telephony = deps.phoneVerification?.channels ?? noChannels;

  /** A user sets up only their own account; an administrator or the command line may act for one. */
  function requireOwn(context: Context, userId: string) {
    if (context.actor.kind === 'user' && context.actor.userId !== userId) {
      throw new MfaError('not-allowed', 'A user sets up only their own account');
    }
  }

  const readDraft = (userId: string, draftId: string) =>
    drafts.read<EnrolmentDraft>(userId, 'enrolment', draftId);

  /** The setup's draft replaced by `data`, or a new draft when it is gone. */
  async function saveDraft(userId: string, draftId: string | undefined, data: EnrolmentDraft) {
    if (draftId !== undefined && (await drafts.update(userId, 'enrolment', draftId, data))) {
      return draftId;
    }
    return drafts.create(userId, 'enrolment', data);
  }

  async function requireOffered(method: SetupMethod): Promise<PortalSettings> {
    const policy = await settings.read();
    if (!offeredMethods(policy, telephony).includes(method)) {
      throw new MfaError('not-found', `User Setup does not offer ${method}`);
    }
    return policy;
  }

  const nextStep = (policy: PortalSettings) =>
    policy.useSecurityQuestions ? ('questions' as const) : ('complete' as const);

  const seedOf = (draft: EnrolmentDraft) =>
    draft.method === 'app' && draft.device ? Buffer.from(draft.device.secret, 'base64url') : null;

  /**
   * The user's row first: on PostgreSQL this locks it until the commit, so that two setups
   * finished at once (two tabs) take turns and the second finds the first one's method (J2,
   * S10); SQLite has one writer anyway. Nothing is saved for a user who has a way in by now.
   */
  async function lockUnenrolled(trx: Db, userId: string) {
    const locked = await trx
      .updateTable('users')
      .set({ updated_at: now() })
      .where('id', '=', userId)
      .executeTakeFirst();
    if (locked.numUpdatedRows === 0n) throw new MfaError('not-found', 'No such user');
    const user = await trx
      .selectFrom('users')
      .selectAll()
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    const device = await trx
      .selectFrom('devices')
      .select('id')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (user.phone !== null || user.mobile_phone !== null || device) {
      throw new MfaError('conflict', 'The user has a way to sign in already');
    }
    return user;
  }

  return {
    async offeredMethods(context, { userId }) {
      requireOwn(context, userId);
      return offeredMethods(await settings.read(), telephony);
    },

    async begin(context, { userId, method, draftId }) {
      requireOwn(context, userId);
      const chosen = offeredMethods(await settings.read(), telephony).find((m) => m === method);
      if (!chosen) {
        return {
          outcome: 'invalid',
          errors: [{ field: 'method-0', message: 'setup.errors.chooseMethod' }],
        };
      }
      return { outcome: 'begun', draftId: await saveDraft(userId, draftId, { method: chosen }) };
    },

    async progress(context, { userId, draftId }) {
      requireOwn(context, userId);
      const draft = await readDraft(userId, draftId);
      return draft ? { method: draft.method, proven: draft.proof !== undefined } : null;
    },

    async generateAppSeed(context, { userId, draftId }) {
      requireOwn(context, userId);
      await requireOffered('app');
      const draft: EnrolmentDraft = {
        method: 'app',
        device: {
          kind: 'app',
          // Named in the user's language, as My account names the next ones (SPEC L5).
          name: translate(context.language, 'devicesPage.defaultName', { number: 1 }),
          serial: null,
          params: appDeviceParameters,
          secret: generateOtpSecret().toString('base64url'),
        },
      };
      return { draftId: await saveDraft(userId, draftId, draft) };
    },

    async appSetup(context, { userId, draftId, issuer }) {
      requireOwn(context, userId);
      const policy = await requireOffered('app');
      const draft = draftId === undefined ? undefined : await readDraft(userId, draftId);
      const seed = draft ? seedOf(draft) : null;
      let activation: AppActivation | null = null;
      if (seed) {
        const user = await users.findById(userId);
        if (!user) throw new MfaError('not-found', 'No such user');
        activation = appActivation(seed, user.username, issuer);
      }
      return {
        activation,
        pin: { required: pinRequired('app', policy), minLength: policy.pinMinLength },
      };
    },

    async proveApp(context, { userId, draftId, code, pin = '', pinConfirmation = '' }) {
      requireOwn(context, userId);
      const policy = await requireOffered('app');
      const draft = await readDraft(userId, draftId);
      const seed = draft ? seedOf(draft) : null;
      if (!draft || !seed) return { outcome: 'not-started' };
      const withPin = pinRequired('app', policy);
      const errors = withPin ? newPinErrors(pin, pinConfirmation, policy.pinMinLength, []) : [];
      errors.push(...codeError('code', code, [6]));
      const typed = readCode(code, [6]);
      const proof =
        errors.length === 0 && typed
          ? proveNewDevice(seed, appDeviceParameters, typed, now())
          : undefined;
      if (!proof) {
        const wrong = errors.length === 0 ? [{ field: 'code', message: 'codes.errors.wrong' }] : [];
        return { outcome: 'invalid', errors: [...errors, ...wrong] };
      }
      const proven: EnrolmentDraft = {
        ...draft,
        proof,
        ...(withPin ? { pinHash: await hashSecret(pin, argon2) } : {}),
      };
      if (!(await drafts.update(userId, 'enrolment', draftId, proven))) {
        return { outcome: 'not-started' };
      }
      return { outcome: 'proven', draftId, next: nextStep(policy) };
    },

    async proveToken(context, { userId, draftId, token }) {
      requireOwn(context, userId);
      const policy = await requireOffered('token');
      const { errors, token: proven } = checkToken(token, now());
      if (!proven) return { outcome: 'invalid', errors };
      const draft: EnrolmentDraft = {
        method: 'token',
        device: {
          kind: 'token',
          name: proven.serial,
          serial: proven.serial,
          params: proven.params,
          secret: proven.secret.toString('base64url'),
        },
        proof: proven.proof,
      };
      return {
        outcome: 'proven',
        draftId: await saveDraft(userId, draftId, draft),
        next: nextStep(policy),
      };
    },

    async proveImportedToken(context, { userId, draftId, serial, code }) {
      requireOwn(context, userId);
      const policy = await requireOffered('token');
      const user = await users.findById(userId);
      if (!user) throw new MfaError('not-found', 'No such user');
      const proven = await proveImportedSerial(
        { secondFactor: deps.secondFactor, importedTokens, encryptionKey, now },
        user,
        { serial, code },
        context,
      );
      if (proven.outcome !== 'proven') return proven;
      const { row, proof } = proven;
      const draft: EnrolmentDraft = {
        method: 'token',
        device: {
          kind: 'token',
          name: row.serial,
          serial: row.serial,
          params: importedTokenParams(row),
          secret: proof.secret.toString('base64url'),
          importedTokenId: row.id,
        },
        proof: { lastStep: proof.lastStep, counter: proof.counter },
      };
      return {
        outcome: 'proven',
        draftId: await saveDraft(userId, draftId, draft),
        next: nextStep(policy),
      };
    },

    async questions(context, { userId }) {
      requireOwn(context, userId);
      const policy = await settings.read();
      if (!policy.useSecurityQuestions) return { count: 0, questions: [] };
      return {
        count: policy.questionsToEnrol,
        questions: await questions.forLanguage(context.language),
      };
    },

    async complete(context, { userId, draftId, answers }) {
      requireOwn(context, userId);
      const policy = await settings.read();
      if (!policy.allowEnrollment) throw new MfaError('not-allowed', 'User Setup is switched off');
      const draft = await readDraft(userId, draftId);
      if (!draft?.proof) return { outcome: 'not-started' };
      const count = policy.useSecurityQuestions ? policy.questionsToEnrol : 0;
      const given = Array.from(
        { length: count },
        (_, i) => answers[i] ?? { questionId: '', answer: '' },
      );
      const known =
        count > 0 ? (await questions.forLanguage(context.language)).map((q) => q.id) : [];
      const errors = answerErrors(given, known);
      if (errors.length > 0) return { outcome: 'invalid', errors };
      const answerRows = await Promise.all(
        given.map(async ({ questionId, answer }) => ({
          user_id: userId,
          question_id: questionId,
          answer_hash: await hashSecret(normaliseAnswer(answer), argon2),
        })),
      );
      const { device, proof, pinHash, phone, mobilePhone } = draft;
      const time = now();
      const user = await db.transaction().execute(async (trx) => {
        const user = await lockUnenrolled(trx, userId);
        // The same setup finished twice at once (a double submit): only one of them saves it.
        if (!(await drafts.remove(userId, 'enrolment', draftId, trx))) {
          throw new MfaError('conflict', 'This User Setup is saved already');
        }
        // An imported token is one user's: another setup may have taken it meanwhile.
        if (device?.importedTokenId && !(await importedTokens.claim(trx, device.importedTokenId))) {
          throw new MfaError('conflict', 'This token has been associated with another account');
        }
        if (device) {
          await trx
            .insertInto('devices')
            .values(
              newDeviceRow({
                userId,
                kind: device.kind,
                name: device.name,
                serial: device.serial,
                params: device.params,
                secret: Buffer.from(device.secret, 'base64url'),
                lastStep: proof.lastStep,
                counter: proof.counter,
                key: encryptionKey,
                now: time,
              }),
            )
            .execute();
        }
        if (answerRows.length > 0) {
          await trx.deleteFrom('security_answers').where('user_id', '=', userId).execute();
          await trx.insertInto('security_answers').values(answerRows).execute();
        }
        await trx
          .updateTable('users')
          .set({
            default_method: draft.method,
            enrolled_at: time,
            updated_at: time,
            ...(pinHash ? { pin_hash: pinHash, pin_change_required: 0 } : {}),
            ...(phone
              ? {
                  phone: phone.phone,
                  phone_extension: phone.extension,
                  backup_phone: phone.backupPhone,
                  backup_extension: phone.backupExtension,
                }
              : {}),
            ...(mobilePhone ? { mobile_phone: mobilePhone } : {}),
          })
          .where('id', '=', userId)
          .execute();
        await createAuditRepository(trx).record(
          {
            type: 'enrolment',
            result: 'success',
            reason: null,
            user_id: userId,
            username: user.username,
            display_name: user.display_name,
            email: user.email,
            phone: null,
            device: device?.name ?? null,
            method: draft.method,
            client_ip: context.clientIp ?? null,
            admin_id: adminOf(context),
          },
          time,
        );
        return user;
      });
      void changes.notify(
        user,
        {
          type: 'enrolment',
          notice: 'factorAdded',
          what: draft.method === 'sms' ? 'mobile' : draft.method,
          device: device?.serial ?? null,
        },
        context,
      );
      return { outcome: 'enrolled' };
    },

    async cancel(context, { userId, draftId }) {
      requireOwn(context, userId);
      await drafts.remove(userId, 'enrolment', draftId);
    },
  };
}
