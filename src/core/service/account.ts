import { createAuditRepository } from '../../data/audit-repository.ts';
import { createImportedTokensRepository } from '../../data/imported-tokens-repository.ts';
import type { Db } from '../../data/schema.ts';
import type { UserRow } from '../../data/users-repository.ts';
import { answerErrors, normaliseAnswer } from '../answers.ts';
import { plainBypassSeconds, readBypassSeconds } from '../bypass.ts';
import {
  changeEvent,
  commitChange,
  toActivity,
  type ActivityEntry,
  type Change as AuditedChange,
} from '../changes.ts';
import { codeError, readCode } from '../typed-codes.ts';
import type { Context } from '../context.ts';
import {
  appActivation,
  appDeviceParameters,
  type AppActivation,
  newDeviceRow,
  proveNewDevice,
} from '../devices.ts';
import { importedTokenParams, proveImportedSerial } from '../imported-tokens.ts';
import { isLanguage } from '../languages.ts';
import {
  accountPermissions,
  defaultMethodChoices,
  pinRequired,
  type Change,
  noChannels,
} from '../method-policy.ts';
import { MfaError, type FieldError } from '../mfa-service.ts';
import { generateOtpSecret } from '../otp.ts';
import { hashSecret } from '../passwords.ts';
import { newPinErrors } from '../pin-policy.ts';
import { enrolmentFrom } from '../second-factor.ts';
import { checkToken, type TokenInput } from '../tokens.ts';
import type { MfaServiceDependencies } from './index.ts';
import { removeWayToSignIn } from './removal.ts';

/** The most characters, as people count them, of a device's name. */
export const deviceNameMaxLength = 40;

export type Invalid = { outcome: 'invalid'; errors: FieldError[] };
export type Saved = { outcome: 'saved' };

export type { ActivityEntry } from '../changes.ts';

/** A one-time bypass waiting for the next sign-in (SPEC M7). */
export interface PendingBypass {
  expiresAt: number;
  /** Who started it: `user`, `admin` or `cli`. */
  issuedBy: string;
}

/** What a person needs to add a new app activation to an authenticator (SPEC M3). */
export interface DeviceActivation extends AppActivation {
  name: string;
  /** The app's mode asks for a PIN and the user has none yet: one is chosen with the code. */
  pinRequired: boolean;
}

/**
 * My account (SPEC J3): the account page and every self-service change. Each change is one
 * operation: the settings' permission (src/core/method-policy.ts) checked, the writes and their
 * audit record in one transaction, the notice emailed after the commit (N2). The fresh proof a
 * change to a factor needs (ASVS 5 7.5.1) is the portal's to ask for before it calls. A change
 * the settings do not allow throws `MfaError('not-allowed')`; a device that is not the user's,
 * `MfaError('not-found')`.
 */
export interface AccountService {
  /** J3 "My account": the pending bypass and the last 20 sign-ins and changes. */
  overview(
    context: Context,
    input: { userId: string },
  ): Promise<{ bypass: PendingBypass | null; activity: ActivityEntry[] }>;

  /** J3: the method the second step starts with, one the user has and the portal offers. */
  setDefaultMethod(
    context: Context,
    input: { userId: string; method: string },
  ): Promise<Saved | Invalid>;

  /** J5: the language saved on the account, for pages, calls, texts and emails. */
  setLanguage(
    context: Context,
    input: { userId: string; language: string },
  ): Promise<Saved | Invalid>;

  /** M5: a new PIN typed twice, checked against the PIN policy and the user's numbers. */
  changePin(
    context: Context,
    input: { userId: string; pin: string; pinConfirmation: string },
  ): Promise<Saved | Invalid>;

  /** M6: how many questions to answer, and those to choose from, in the context's language. */
  securityQuestions(
    context: Context,
    input: { userId: string },
  ): Promise<{ count: number; questions: { id: string; text: string }[] }>;

  /**
   * M6: new answers replace all the old ones at once, so a fallback never asks a mix. Exactly
   * `count` answers; errors name `question<i>` and `answer<i>`.
   */
  replaceAnswers(
    context: Context,
    input: { userId: string; answers: { questionId: string; answer: string }[] },
  ): Promise<Saved | Invalid>;

  /** M3: starts an app activation under a name (new seed, in a draft); the device limit holds. */
  beginDevice(
    context: Context,
    input: { userId: string; name: string },
  ): Promise<{ outcome: 'started'; draftId: string } | Invalid | { outcome: 'limit-reached' }>;

  /** M3: what the activation page shows, with `issuer` as the authenticator names the portal. */
  deviceActivation(
    context: Context,
    input: { userId: string; draftId: string; issuer: string },
  ): Promise<DeviceActivation | null>;

  /**
   * M3: a code from the new activation (and a new PIN when the app needs one) saves it, with the
   * PIN, within the device limit. `not-found`: the draft is gone (finished or expired).
   */
  activateDevice(
    context: Context,
    input: { userId: string; draftId: string; code: string; pin: string; pinConfirmation: string },
  ): Promise<
    { outcome: 'activated' } | Invalid | { outcome: 'limit-reached' } | { outcome: 'not-found' }
  >;

  /** J3: a new name for one of the user's app activations. */
  renameDevice(
    context: Context,
    input: { userId: string; deviceId: string; name: string },
  ): Promise<Saved | Invalid>;

  /** J3: deactivates an app activation or removes the token, never the last way to sign in. */
  removeDevice(
    context: Context,
    input: { userId: string; deviceId: string },
  ): Promise<{ outcome: 'removed' } | { outcome: 'last-method' }>;

  /** M4: associates the user's one OATH token, proven with a code it shows now. */
  associateToken(
    context: Context,
    input: { userId: string; token: TokenInput },
  ): Promise<Saved | Invalid | { outcome: 'only-one' }>;

  /**
   * M4: associates a token an administrator imported, by its serial and a code it shows now;
   * counted towards the lockout (M8) and audited like any code, since the user never saw its
   * secret. An unknown serial and a wrong code get the same answer.
   */
  associateImportedToken(
    context: Context,
    input: { userId: string; serial: string; code: string },
  ): Promise<Saved | Invalid | { outcome: 'only-one' } | { outcome: 'locked'; until: number }>;

  /**
   * M4: two consecutive codes bring the user's HOTP token back in step. Counted towards the
   * lockout (M8); needs no permission, as it changes no factor.
   */
  resyncToken(
    context: Context,
    input: { userId: string; code1: string; code2: string },
  ): Promise<{ outcome: 'resynced' } | Invalid | { outcome: 'locked'; until: number }>;

  /** M7: the pending bypass, and whether starting one is announced to the user by email. */
  bypassStatus(
    context: Context,
    input: { userId: string },
  ): Promise<{ pending: PendingBypass | null; noticeByEmail: boolean }>;

  /**
   * M7: a bypass for the next sign-in: `seconds` as the user typed them when "prompt for bypass
   * seconds" is on (60 to the maximum), else the plain length. Replaces a pending one.
   */
  issueBypass(
    context: Context,
    input: { userId: string; seconds?: string },
  ): Promise<{ outcome: 'issued'; expiresAt: number } | Invalid>;

  /** M7: withdraws the pending bypass; `none` when there was none left. */
  cancelBypass(
    context: Context,
    input: { userId: string },
  ): Promise<{ outcome: 'cancelled' | 'none' }>;
}

/** An app activation waiting for its first code; its seed in base64url (drafts are sealed). */
interface DeviceDraft {
  name: string;
  secret: string;
}

/** A device name as typed (already trimmed): 1–40 printable characters, not one already used. */
function deviceNameErrors(name: string, takenNames: readonly string[]): FieldError[] {
  const error = (message: string): FieldError[] => [
    {
      field: 'name',
      message: `devicesPage.errors.${message}`,
      values: { max: deviceNameMaxLength },
    },
  ];
  if (name === '') return error('nameMissing');
  // Characters as people count them; a bound on code units keeps stacked accents in check.
  const characters = [...new Intl.Segmenter().segment(name)].length;
  if (characters > deviceNameMaxLength || name.length > deviceNameMaxLength * 4) {
    return error('nameTooLong');
  }
  if (/\p{C}/u.test(name)) return error('nameFormat');
  const folded = name.toLocaleLowerCase();
  if (takenNames.some((taken) => taken.toLocaleLowerCase() === folded)) return error('nameTaken');
  return [];
}

const phonesOf = (user: UserRow) =>
  [user.phone, user.backup_phone, user.mobile_phone].filter((p) => p !== null);

export function createAccountService(deps: MfaServiceDependencies): AccountService {
  const { db, users, settings, audit, questions, secondFactor, bypasses, changes, drafts } = deps;
  const now = deps.now ?? Date.now;
  const telephony = deps.phoneVerification?.channels ?? noChannels;
  const importedTokens = createImportedTokensRepository(db);

  /** The account, its enrolment and what the settings let it change; only for its own user. */
  async function load(context: Context, userId: string) {
    if (context.actor.kind === 'user' && context.actor.userId !== userId) {
      throw new MfaError('not-allowed', 'A user changes only their own account');
    }
    const [found, policy] = await Promise.all([users.findWithDevices(userId), settings.read()]);
    if (!found || found.disabled) throw new MfaError('not-found', 'No such user');
    const { answered_questions: answered, devices: userDevices, ...user } = found;
    const enrolment = enrolmentFrom(user, userDevices, answered);
    return { user, policy, enrolment, can: accountPermissions(policy, enrolment, telephony) };
  }

  async function allowed(context: Context, userId: string, change: Change) {
    const loaded = await load(context, userId);
    if (!loaded.can[change]) throw new MfaError('not-allowed', `Change not allowed: ${change}`);
    return loaded;
  }

  /** The writes of one change and its audit record, together or not at all; the notice after. */
  async function commit(
    context: Context,
    user: UserRow,
    change: AuditedChange,
    writes: (trx: Db, time: number) => Promise<void>,
  ): Promise<void> {
    await commitChange(db, now(), { user, change, context }, writes);
    void changes.notify(user, change, context);
  }

  /** Takes the user's row lock (PostgreSQL) so that checks of their devices are not raced. */
  async function lockUser(trx: Db, userId: string, time: number) {
    await trx.updateTable('users').set({ updated_at: time }).where('id', '=', userId).execute();
  }

  async function countDevices(trx: Db, userId: string, kind: 'app' | 'token') {
    const row = await trx
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('count'))
      .where('user_id', '=', userId)
      .where('kind', '=', kind)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  const appsOf = (enrolment: { devices: readonly { kind: string; name: string; id: string }[] }) =>
    enrolment.devices.filter((d) => d.kind === 'app');

  async function readDraft(userId: string, draftId: string) {
    return drafts.read<DeviceDraft>(userId, 'device', draftId);
  }

  return {
    async overview(context, { userId }) {
      // A user's own overview: their session's journey has just loaded the account, so it is not
      // loaded again (SPEC P2). Anyone else must name an account that exists.
      if (context.actor.kind !== 'user' || context.actor.userId !== userId) {
        await load(context, userId);
      }
      const [pending, events] = await Promise.all([
        bypasses.pending({ id: userId }),
        audit.recentForUser(userId),
      ]);
      return {
        bypass: pending ?? null,
        activity: events.map(toActivity),
      };
    },

    async setDefaultMethod(context, { userId, method }) {
      const { user, policy, enrolment } = await allowed(context, userId, 'method');
      const chosen = defaultMethodChoices(enrolment, policy, telephony).find((m) => m === method);
      if (!chosen) {
        return {
          outcome: 'invalid',
          errors: [{ field: 'method-0', message: 'preferences.method.errors.choose' }],
        };
      }
      await commit(context, user, { type: 'change.method', method: chosen }, async (trx, time) => {
        await trx
          .updateTable('users')
          .set({ default_method: chosen, updated_at: time })
          .where('id', '=', user.id)
          .execute();
      });
      return { outcome: 'saved' };
    },

    async setLanguage(context, { userId, language }) {
      const { user } = await allowed(context, userId, 'language');
      if (!isLanguage(language)) {
        return {
          outcome: 'invalid',
          errors: [{ field: 'language-0', message: 'preferences.language.errors.choose' }],
        };
      }
      await commit(context, user, { type: 'change.language' }, async (trx, time) => {
        await trx
          .updateTable('users')
          .set({ language, updated_at: time })
          .where('id', '=', user.id)
          .execute();
      });
      return { outcome: 'saved' };
    },

    async changePin(context, { userId, pin, pinConfirmation }) {
      const { user, policy } = await allowed(context, userId, 'pin');
      const errors = newPinErrors(pin, pinConfirmation, policy.pinMinLength, phonesOf(user));
      if (errors.length > 0) return { outcome: 'invalid', errors };
      const pinHash = await hashSecret(pin, deps.argon2);
      await commit(
        context,
        user,
        { type: 'change.pin', notice: 'factorChanged', what: 'pin' },
        async (trx, time) => {
          await trx
            .updateTable('users')
            .set({ pin_hash: pinHash, pin_change_required: 0, updated_at: time })
            .where('id', '=', user.id)
            .execute();
        },
      );
      return { outcome: 'saved' };
    },

    async securityQuestions(context, { userId }) {
      const { policy } = await allowed(context, userId, 'questions');
      const list = await questions.forLanguage(context.language);
      return {
        count: policy.questionsToEnrol,
        questions: list.map((q) => ({ id: q.id, text: q.text })),
      };
    },

    async replaceAnswers(context, { userId, answers }) {
      const { user, policy } = await allowed(context, userId, 'questions');
      if (answers.length !== policy.questionsToEnrol) {
        throw new MfaError('conflict', `Answer ${policy.questionsToEnrol} questions`);
      }
      const known = (await questions.forLanguage(context.language)).map((q) => q.id);
      const errors = answerErrors(answers, known);
      if (errors.length > 0) return { outcome: 'invalid', errors };
      const rows = await Promise.all(
        answers.map(async ({ questionId, answer }) => ({
          user_id: user.id,
          question_id: questionId,
          answer_hash: await hashSecret(normaliseAnswer(answer), deps.argon2),
        })),
      );
      await commit(
        context,
        user,
        {
          type: 'change.questions',
          method: 'questions',
          notice: 'factorChanged',
          what: 'questions',
        },
        async (trx, time) => {
          await trx.deleteFrom('security_answers').where('user_id', '=', user.id).execute();
          await trx.insertInto('security_answers').values(rows).execute();
          await trx
            .updateTable('users')
            .set({ updated_at: time })
            .where('id', '=', user.id)
            .execute();
        },
      );
      return { outcome: 'saved' };
    },

    async beginDevice(context, { userId, name }) {
      const { user, policy, enrolment } = await allowed(context, userId, 'app');
      const apps = appsOf(enrolment);
      if (apps.length >= policy.deviceLimit) return { outcome: 'limit-reached' };
      const trimmed = name.trim();
      const errors = deviceNameErrors(
        trimmed,
        apps.map((d) => d.name),
      );
      if (errors.length > 0) return { outcome: 'invalid', errors };
      const draft: DeviceDraft = {
        name: trimmed,
        secret: generateOtpSecret().toString('base64url'),
      };
      return { outcome: 'started', draftId: await drafts.create(user.id, 'device', draft) };
    },

    async deviceActivation(context, { userId, draftId, issuer }) {
      const { user, policy } = await allowed(context, userId, 'app');
      const draft = await readDraft(user.id, draftId);
      if (!draft) return null;
      return {
        name: draft.name,
        ...appActivation(Buffer.from(draft.secret, 'base64url'), user.username, issuer),
        pinRequired: pinRequired('app', policy) && user.pin_hash === null,
      };
    },

    async activateDevice(context, { userId, draftId, code, pin, pinConfirmation }) {
      const { user, policy } = await allowed(context, userId, 'app');
      const draft = await readDraft(user.id, draftId);
      if (!draft) return { outcome: 'not-found' };
      // The PIN is asked for only when the app's mode needs one and the user has none yet.
      const withPin = pinRequired('app', policy) && user.pin_hash === null;
      const errors = withPin
        ? newPinErrors(pin, pinConfirmation, policy.pinMinLength, phonesOf(user))
        : [];
      errors.push(...codeError('code', code, [6]));
      const typed = readCode(code, [6]);
      const secret = Buffer.from(draft.secret, 'base64url');
      const proof =
        errors.length === 0 && typed
          ? proveNewDevice(secret, appDeviceParameters, typed, now())
          : undefined;
      if (errors.length === 0 && !proof) {
        errors.push({ field: 'code', message: 'codes.errors.wrong' });
      }
      if (!proof || errors.length > 0) return { outcome: 'invalid', errors };
      const pinHash = withPin ? await hashSecret(pin, deps.argon2) : undefined;
      // Only one of two tabs finishing the same draft goes on.
      if (!(await drafts.remove(user.id, 'device', draftId))) return { outcome: 'not-found' };
      const change: AuditedChange = {
        type: 'device.added',
        method: 'app',
        device: draft.name,
        notice: 'factorAdded',
        what: 'app',
      };
      const time = now();
      const saved = await db.transaction().execute(async (trx) => {
        // Counted again under the row lock: another tab or instance may have added one.
        await lockUser(trx, user.id, time);
        if ((await countDevices(trx, user.id, 'app')) >= policy.deviceLimit) return false;
        const row = newDeviceRow({
          userId: user.id,
          kind: 'app',
          name: draft.name,
          serial: null,
          secret,
          params: appDeviceParameters,
          counter: proof.counter,
          lastStep: proof.lastStep,
          key: deps.encryptionKey,
          now: time,
        });
        await trx.insertInto('devices').values(row).execute();
        if (pinHash) {
          await trx
            .updateTable('users')
            .set({ pin_hash: pinHash, pin_change_required: 0, updated_at: time })
            .where('id', '=', user.id)
            .execute();
        }
        await createAuditRepository(trx).record(changeEvent(user, change, context), time);
        return true;
      });
      if (!saved) return { outcome: 'limit-reached' };
      void changes.notify(user, change, context);
      return { outcome: 'activated' };
    },

    async renameDevice(context, { userId, deviceId, name }) {
      const { user, enrolment } = await allowed(context, userId, 'app');
      const apps = appsOf(enrolment);
      if (!apps.some((d) => d.id === deviceId)) throw new MfaError('not-found', 'No such device');
      const trimmed = name.trim();
      const errors = deviceNameErrors(
        trimmed,
        apps.filter((d) => d.id !== deviceId).map((d) => d.name),
      );
      if (errors.length > 0) return { outcome: 'invalid', errors };
      await commit(
        context,
        user,
        { type: 'device.renamed', method: 'app', device: trimmed },
        async (trx) => {
          const result = await trx
            .updateTable('devices')
            .set({ name: trimmed })
            .where('id', '=', deviceId)
            .where('user_id', '=', user.id)
            .executeTakeFirst();
          if (result.numUpdatedRows === 0n) throw new MfaError('not-found', 'No such device');
        },
      );
      return { outcome: 'saved' };
    },

    async removeDevice(context, { userId, deviceId }) {
      const { enrolment, can } = await load(context, userId);
      const device = enrolment.devices.find((d) => d.id === deviceId);
      if (!device) throw new MfaError('not-found', 'No such device');
      if (!can[device.kind])
        throw new MfaError('not-allowed', `Change not allowed: ${device.kind}`);
      const removed = await removeWayToSignIn(deps, context, userId, { deviceId });
      if (removed.outcome === 'not-found') throw new MfaError('not-found', 'No such device');
      return { outcome: removed.outcome };
    },

    async associateToken(context, { userId, token: typed }) {
      const { user, enrolment } = await allowed(context, userId, 'token');
      if (enrolment.devices.some((d) => d.kind === 'token')) return { outcome: 'only-one' };
      const { errors, token } = checkToken(typed, now());
      if (!token) return { outcome: 'invalid', errors };
      const change: AuditedChange = {
        type: 'token.added',
        method: 'token',
        device: token.serial,
        notice: 'factorAdded',
        what: 'token',
      };
      const time = now();
      const saved = await db.transaction().execute(async (trx) => {
        await lockUser(trx, user.id, time);
        if ((await countDevices(trx, user.id, 'token')) >= 1) return false;
        const row = newDeviceRow({
          userId: user.id,
          kind: 'token',
          name: token.serial,
          serial: token.serial,
          secret: token.secret,
          params: token.params,
          counter: token.proof.counter,
          lastStep: token.proof.lastStep,
          key: deps.encryptionKey,
          now: time,
        });
        await trx.insertInto('devices').values(row).execute();
        await createAuditRepository(trx).record(changeEvent(user, change, context), time);
        return true;
      });
      if (!saved) return { outcome: 'only-one' };
      void changes.notify(user, change, context);
      return { outcome: 'saved' };
    },

    async associateImportedToken(context, { userId, serial, code }) {
      const { user, enrolment } = await allowed(context, userId, 'token');
      if (enrolment.devices.some((d) => d.kind === 'token')) return { outcome: 'only-one' };
      const proven = await proveImportedSerial(
        { secondFactor, importedTokens, encryptionKey: deps.encryptionKey, now },
        user,
        { serial, code },
        context,
      );
      if (proven.outcome !== 'proven') return proven;
      const { row, proof } = proven;
      const change: AuditedChange = {
        type: 'token.added',
        method: 'token',
        device: row.serial,
        reason: 'imported token',
        notice: 'factorAdded',
        what: 'token',
      };
      const time = now();
      const saved = await db.transaction().execute(async (trx) => {
        await lockUser(trx, user.id, time);
        if ((await countDevices(trx, user.id, 'token')) >= 1) return 'only-one';
        // Another user with the same code at the same moment: only one of them gets the token.
        if (!(await importedTokens.claim(trx, row.id))) return 'taken';
        const device = newDeviceRow({
          userId: user.id,
          kind: 'token',
          name: row.serial,
          serial: row.serial,
          secret: proof.secret,
          params: importedTokenParams(row),
          counter: proof.counter,
          lastStep: proof.lastStep,
          key: deps.encryptionKey,
          now: time,
        });
        await trx.insertInto('devices').values(device).execute();
        await createAuditRepository(trx).record(changeEvent(user, change, context), time);
        return 'saved';
      });
      if (saved === 'only-one') return { outcome: 'only-one' };
      if (saved === 'taken') {
        return {
          outcome: 'invalid',
          errors: [{ field: 'serial', message: 'tokenPage.imported.errors.wrong' }],
        };
      }
      void changes.notify(user, change, context);
      return { outcome: 'saved' };
    },

    async resyncToken(context, { userId, code1, code2 }) {
      const { user, enrolment } = await load(context, userId);
      const token = enrolment.devices.find((d) => d.kind === 'token' && d.otp_type === 'hotp');
      if (!token) throw new MfaError('not-found', 'No HOTP token');
      const digits = [token.digits];
      const errors: FieldError[] = [
        ...(code1.trim() === ''
          ? [{ field: 'code1', message: 'tokenPage.resync.errors.firstMissing' }]
          : codeError('code1', code1, digits)),
        ...(code2.trim() === ''
          ? [{ field: 'code2', message: 'tokenPage.resync.errors.secondMissing' }]
          : codeError('code2', code2, digits)),
      ];
      const first = readCode(code1, digits);
      const second = readCode(code2, digits);
      if (errors.length > 0 || !first || !second) return { outcome: 'invalid', errors };
      const checked = await secondFactor.resyncToken(user, [first, second], context);
      if (checked.outcome === 'locked') return checked;
      if (checked.outcome === 'invalid') {
        return {
          outcome: 'invalid',
          errors: [{ field: 'code1', message: 'tokenPage.resync.errors.wrong' }],
        };
      }
      return { outcome: 'resynced' };
    },

    async bypassStatus(context, { userId }) {
      const { user } = await allowed(context, userId, 'bypass');
      return {
        pending: (await bypasses.pending(user)) ?? null,
        noticeByEmail: changes.emailEnabled && Boolean(user.email),
      };
    },

    async issueBypass(context, { userId, seconds: typed }) {
      const { user, policy } = await allowed(context, userId, 'bypass');
      let seconds = plainBypassSeconds(policy);
      if (policy.promptBypassSeconds) {
        const read = readBypassSeconds(typed ?? '', policy.bypassMaxSeconds);
        if (typeof read !== 'number') return { outcome: 'invalid', errors: [read] };
        seconds = read;
      } else if (typed !== undefined) {
        throw new MfaError('not-allowed', 'The length of a bypass is not the user’s to choose');
      }
      const { expiresAt } = await bypasses.issue(user, { seconds }, context);
      // The bypass is audited with its issue; this is the email alone.
      void changes.notify(
        user,
        { type: 'bypass.issued', method: 'bypass', notice: 'bypassIssued', until: expiresAt },
        context,
      );
      return { outcome: 'issued', expiresAt };
    },

    async cancelBypass(context, { userId }) {
      const { user } = await allowed(context, userId, 'bypass');
      return { outcome: (await bypasses.cancel(user, context)) ? 'cancelled' : 'none' };
    },
  };
}
