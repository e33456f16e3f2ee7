import type { UserRow } from '../../data/users-repository.ts';
import type { Context } from '../context.ts';
import type { EnrolmentDraft } from '../drafts.ts';
import {
  accountPermissions,
  noChannels,
  offeredMethods,
  pinMethods,
  pinRequired,
} from '../method-policy.ts';
import { MfaError, type FieldError } from '../mfa-service.ts';
import {
  changesNothing,
  lineKey,
  newLines,
  type NumbersChange,
  type PhoneChangeDraft,
} from '../phone-change.ts';
import type { Paused } from '../phone-limits.ts';
import { maskPhone, readNumber, type TypedNumber } from '../phone-numbers.ts';
import type { Verification } from '../phone-verification.ts';
import type { Report } from '../../providers/telephony.ts';
import { newPinErrors } from '../pin-policy.ts';
import type { PortalSettings } from '../settings.ts';
import { codeError, readCode } from '../typed-codes.ts';
import type { MfaServiceDependencies } from './index.ts';
import { removeWayToSignIn, type RemovalOutcome } from './removal.ts';

export type PhoneMethod = 'phone' | 'sms';

/**
 * What a call or text is for, and so which numbers it goes to: the second step and a proof
 * before a change call the account's own numbers (SPEC J1, J3); User Setup the numbers of its
 * draft (J2); a change of numbers the new number of its draft (J3).
 */
export type PhonePurpose = 'sign-in.second-step' | 'proof' | 'enrolment' | 'change';

type OwnNumbers = 'sign-in.second-step' | 'proof';

/**
 * The call or text a journey waits for: the second step's is known by its id (the portal keeps
 * it), User Setup's and a change's by the draft that holds it.
 */
export type PhoneAttempt =
  | { purpose: OwnNumbers; verificationId: string }
  | { purpose: 'enrolment' | 'change'; draftId: string };

/** Whom to call or text: the account's own numbers, or those of a draft. */
export type PhoneStart =
  { purpose: OwnNumbers } | { purpose: 'enrolment' | 'change'; draftId: string };

/** Refused unsent or unchecked: the account is locked (SPEC M8). */
export interface Locked {
  outcome: 'locked';
  until: number;
}

export type Started =
  /** `next`: the waiting page, or (one-way texts) the page to type the code on. */
  | { outcome: 'started'; verificationId: string; next: 'wait' | 'code' }
  /** Kept back by a limit on calls and texts (SPEC S5). */
  | Paused
  | Locked
  | Unreachable;

/**
 * The provider did not take the call or text (down, too slow, or it refused): the user is told
 * to try another method, and the audit records the provider's reason (SPEC N1).
 */
export interface Unreachable {
  outcome: 'unreachable';
  method: PhoneMethod;
}

/** What the waiting and code pages show of a call or text. */
export interface AttemptView {
  method: PhoneMethod;
  /** Masked (SPEC A4). */
  phone: string;
  /** The code page asks for the PIN after the code (OTP + PIN mode, SPEC M2). */
  pinRequired: boolean;
  /** The call or text was denied (a text that could not be delivered): `wait` says why. */
  settled: boolean;
}

/** A call or text that did not prove the number. */
export interface Denied {
  outcome: 'denied';
  method: PhoneMethod;
  /** As recorded: 'no answer', 'unexpected keys', 'wrong pin', 'wrong reply', 'fraud', 'expired', … */
  reason: string | null;
  /** A change of numbers ends with it: the numbers it was proving, and which one failed. */
  change?: NumbersChange & { failed: 'phone' | 'backup' | 'mobile' };
}

/** Nothing to wait for: no such call or text for this user, or its draft is gone. */
export interface Gone {
  outcome: 'gone';
}

/**
 * The number proved itself, and the journey may go on: the second step or the proof is done
 * (counted and audited), User Setup's draft is proven, a change's new line is proven.
 */
export interface Proven {
  outcome: 'proven';
  method: PhoneMethod;
}

export type Waiting =
  { outcome: 'pending'; method: PhoneMethod; phone: string } | Proven | Denied | Locked | Gone;

/** A change of numbers as typed: the phone form's numbers, or the mobile form's. */
export type TypedChange =
  | { kind: 'phone'; phone: TypedNumber; backup: TypedNumber | null }
  | { kind: 'mobile'; mobile: TypedNumber };

/** User Setup by phone or text as typed, with the new PIN when the method's mode needs one. */
export type TypedEnrolment = (
  | { method: 'phone'; phone: TypedNumber; backup: TypedNumber | null }
  | { method: 'sms'; mobile: TypedNumber }
) & { pin: string; pinConfirmation: string };

export type Begun =
  { outcome: 'begun'; draftId: string } | { outcome: 'invalid'; errors: FieldError[] };

/**
 * Calls and texts in every journey (SPEC M1, M2, J4), and what the provider reports of them.
 * Every call or text counts against the limits before the provider hears of it (S5), and none
 * goes to a locked account (M8).
 */
export interface PhoneService {
  /** J2: the numbers (and the PIN) of User Setup checked and kept in its draft, nothing saved. */
  beginEnrolment(context: Context, input: { userId: string } & TypedEnrolment): Promise<Begun>;
  /** J3: new numbers checked and kept in a draft until each new one has answered. */
  beginChange(
    context: Context,
    input: { userId: string } & TypedChange,
  ): Promise<Begun | { outcome: 'unchanged' }>;
  /** M1: calls the numbers of the purpose; an unanswered call rings the backup phone. */
  startCall(context: Context, input: { userId: string } & PhoneStart): Promise<Started>;
  /** M2: texts a code to the number of the purpose, to type in or (two-way) to reply with. */
  startText(context: Context, input: { userId: string } & PhoneStart): Promise<Started>;
  /**
   * What the waiting and code pages show; null when there is nothing to wait for (or, with
   * `method`, nothing of that method: a page of one method).
   */
  attempt(
    context: Context,
    input: { userId: string; method?: PhoneMethod } & PhoneAttempt,
  ): Promise<AttemptView | null>;
  /**
   * J4: where the call or text stands, as the provider settled it. An approval is taken once
   * (a reloaded page cannot use it twice) and carries the journey on: see `Proven`.
   */
  wait(
    context: Context,
    input: { userId: string; method?: PhoneMethod } & PhoneAttempt,
  ): Promise<Waiting>;
  /** M2: a new code replaces the old one; the failure counter is not reset. */
  resendText(
    context: Context,
    input: { userId: string } & PhoneAttempt,
  ): Promise<{ outcome: 'sent' } | Paused | Locked | Gone | Unreachable>;
  /**
   * M2, S5: a typed code, and the PIN in OTP + PIN mode, counted towards the lockout before it
   * is checked (a code that is not six digits is refused uncounted, with the field's error); a
   * right one carries the journey on like an approval.
   */
  checkTextCode(
    context: Context,
    input: { userId: string; code: string; pin: string } & PhoneAttempt,
  ): Promise<Proven | { outcome: 'invalid'; errors: FieldError[] } | Locked | Gone>;
  /**
   * J3: saves a change of numbers once every new line of it has answered: checked against the
   * account as it is now, written, audited and announced (N2). `unproven`: a line is left to call.
   * `pinNeeded`: the method asks for a PIN the user has not chosen yet (M5).
   */
  saveChange(
    context: Context,
    input: { userId: string; draftId: string },
  ): Promise<
    { outcome: 'saved'; method: PhoneMethod; pinNeeded: boolean } | { outcome: 'unproven' } | Gone
  >;
  /** J3: the user stops using calls or texts, while another way to sign in remains. */
  removeNumbers(
    context: Context,
    input: { userId: string; method: PhoneMethod },
  ): Promise<RemovalOutcome>;
  /*
   * The provider's reports (N1). `ref` is the provider's id of the call or text (Twilio's
   * CallSid or MessageSid): a report about any call or text but the one now under way is
   * ignored, and a report with an id is acted on once, however often it comes.
   */
  /** Keys pressed in a call (`#`, PIN then `#`, or the fraud code). */
  keypadInput(context: Context, input: Report & { digits: string }): Promise<void>;
  /** A call rang out, was busy or failed; the backup phone is called once (M1). */
  callUnanswered(context: Context, input: Report): Promise<void>;
  /** A call answered and ended before any key settled it. */
  callEnded(context: Context, input: Report): Promise<void>;
  /** A text the network could not deliver: its attempt ends, so no one waits for it (M2). */
  textUndelivered(context: Context, input: Report): Promise<void>;
  /**
   * A reply to a text (two-way SMS, M2). It settles only the pending text to that number whose
   * code it carries; carrying none, it counts as a wrong reply.
   */
  textReply(context: Context, input: { from: string; body: string; ref?: string }): Promise<void>;
}

/** The second step and a proof call or text the account's own numbers. */
const ownNumbers = <T extends { purpose: PhonePurpose }>(
  start: T,
): start is Extract<T, { purpose: OwnNumbers }> =>
  start.purpose === 'sign-in.second-step' || start.purpose === 'proof';

const purposeColumn = {
  'sign-in.second-step': 'sign-in',
  proof: 'proof',
  enrolment: 'enrolment',
  change: 'new-number',
} as const satisfies Record<PhonePurpose, Verification['purpose']>;

export function createPhoneService(deps: MfaServiceDependencies): PhoneService {
  const { db, users, settings, drafts, secondFactor, changes } = deps;
  const now = deps.now ?? Date.now;
  const telephony = deps.phoneVerification?.channels ?? noChannels;

  function provider() {
    if (!deps.phoneVerification) throw new MfaError('unavailable', 'No voice/SMS provider');
    return deps.phoneVerification;
  }

  async function userOf(userId: string): Promise<UserRow> {
    const user = await users.findById(userId);
    if (!user) throw new MfaError('not-found', 'No such user');
    return user;
  }

  /** A locked account gets no call or text: the attempt could not count anyway (M8, S5). */
  const lockOf = (user: UserRow): Locked | undefined =>
    user.locked_until !== null && user.locked_until > now()
      ? { outcome: 'locked', until: user.locked_until }
      : undefined;

  const enrolmentDraft = (userId: string, draftId: string) =>
    drafts.read<EnrolmentDraft>(userId, 'enrolment', draftId);
  const changeDraft = (userId: string, draftId: string) =>
    drafts.read<PhoneChangeDraft>(userId, 'phone-change', draftId);

  /** The user may change the method's numbers on My account (SPEC §5, J3). */
  async function requireChangeAllowed(
    user: UserRow,
    kind: NumbersChange['kind'],
    policy: PortalSettings,
  ) {
    const can = accountPermissions(policy, await secondFactor.enrolmentOf(user), telephony);
    if (!can[kind]) throw new MfaError('not-allowed', `Change not allowed: ${kind}`);
  }

  /** The line a change calls or texts next: its first new line not proven yet. */
  const nextLine = (draft: PhoneChangeDraft, user: UserRow) =>
    newLines(draft, user).find(
      (line) => !draft.proven.includes(lineKey(line.phone, line.extension)),
    );

  interface Target {
    purpose: Verification['purpose'];
    phone: string;
    extension: string | null;
    backupPhone: string | null;
    backupExtension: string | null;
    pinHash: string | null;
    language: string;
    /** Keeps the started call or text in the draft that asked for it. */
    started?: (verificationId: string) => Promise<void>;
    /** A call or text refused ends a change: its draft goes. */
    refused?: () => Promise<void>;
  }

  /** The numbers and PIN of a call or text for its purpose, or not found. */
  async function targetOf(
    user: UserRow,
    method: PhoneMethod,
    start: PhoneStart,
    policy: PortalSettings,
    context: Context,
  ): Promise<Target> {
    const none = () =>
      new MfaError('not-found', `No number to ${method === 'phone' ? 'call' : 'text'}`);
    const language = user.language ?? context.language;
    if (ownNumbers(start)) {
      const phone = method === 'phone' ? user.phone : user.mobile_phone;
      if (!phone) throw none();
      const pinMode =
        method === 'phone' ? policy.phoneMode === 'pin' : policy.smsMode === 'otp-pin';
      return {
        purpose: purposeColumn[start.purpose],
        phone,
        extension: method === 'phone' ? user.phone_extension : null,
        backupPhone: method === 'phone' ? user.backup_phone : null,
        backupExtension: method === 'phone' ? user.backup_extension : null,
        pinHash: pinMode ? user.pin_hash : null,
        language,
      };
    }
    const { draftId } = start;
    if (start.purpose === 'enrolment') {
      const draft = await enrolmentDraft(user.id, draftId);
      const numbers =
        method === 'phone'
          ? draft?.phone
          : draft?.mobilePhone && {
              phone: draft.mobilePhone,
              extension: null,
              backupPhone: null,
              backupExtension: null,
            };
      if (!draft || draft.method !== method || !numbers) throw none();
      return {
        purpose: 'enrolment',
        ...numbers,
        pinHash: draft.pinHash ?? null,
        // The page's language: a user in User Setup has seldom chosen one yet.
        language: context.language,
        started: async (verificationId) => {
          await drafts.update(user.id, 'enrolment', draftId, { ...draft, verificationId });
        },
      };
    }
    const draft = await changeDraft(user.id, draftId);
    if (!draft || (draft.kind === 'phone') !== (method === 'phone')) throw none();
    const line = nextLine(draft, user);
    if (!line) throw new MfaError('conflict', 'Every new number has answered already');
    return {
      purpose: 'new-number',
      phone: line.phone,
      extension: line.extension,
      // No backup: an unanswered call must not be passed on to a number already proven.
      backupPhone: null,
      backupExtension: null,
      pinHash: null,
      language,
      started: async (verificationId) => {
        const proving = lineKey(line.phone, line.extension);
        await drafts.update(user.id, 'phone-change', draftId, {
          ...draft,
          proving,
          verificationId,
        });
      },
      refused: async () => {
        await drafts.remove(user.id, 'phone-change', draftId);
      },
    };
  }

  async function start(
    context: Context,
    method: PhoneMethod,
    input: { userId: string } & PhoneStart,
  ): Promise<Started> {
    const phoneVerification = provider();
    if (!telephony[method]) throw new MfaError('not-allowed', `No provider for ${method}`);
    const user = await userOf(input.userId);
    const policy = await settings.read();
    const target = await targetOf(user, method, input, policy, context);
    const locked = lockOf(user);
    if (locked) {
      await target.refused?.();
      return locked;
    }
    const { purpose, phone, pinHash, language } = target;
    const started =
      method === 'phone'
        ? await phoneVerification.startCall(
            {
              user,
              purpose,
              phone,
              extension: target.extension,
              backupPhone: target.backupPhone,
              backupExtension: target.backupExtension,
              pinHash,
              language,
            },
            context,
          )
        : await phoneVerification.startText({ user, purpose, phone, pinHash, language }, context);
    if (started.outcome === 'paused') {
      await target.refused?.();
      return started;
    }
    if (started.outcome === 'failed') {
      await target.refused?.();
      return { outcome: 'unreachable', method };
    }
    await target.started?.(started.verificationId);
    const next = method === 'sms' && policy.smsDirection === 'one-way' ? 'code' : 'wait';
    return { outcome: 'started', verificationId: started.verificationId, next };
  }

  interface Found {
    verification: Verification;
    /** What an approval does for this journey, once it is taken. */
    prove: () => Promise<boolean>;
    /** What a denial ends: a change's draft. */
    deny?: () => Promise<Denied['change']>;
  }

  /** The call or text of the attempt, if it is this user's and for this purpose. */
  async function find(
    user: UserRow,
    attempt: PhoneAttempt,
    method: PhoneMethod | undefined,
  ): Promise<Found | undefined> {
    const phoneVerification = provider();
    const status = async (verificationId: string | undefined) => {
      if (!verificationId) return undefined;
      const verification = await phoneVerification.status(verificationId, user.id);
      if (verification?.purpose !== purposeColumn[attempt.purpose]) return undefined;
      if (method !== undefined && verification.method !== method) return undefined;
      return verification;
    };
    if (ownNumbers(attempt)) {
      const verification = await status(attempt.verificationId);
      return verification && { verification, prove: () => Promise.resolve(true) };
    }
    const { draftId } = attempt;
    if (attempt.purpose === 'enrolment') {
      const draft = await enrolmentDraft(user.id, draftId);
      const verification = await status(draft?.verificationId);
      if (!draft || !verification) return undefined;
      return {
        verification,
        prove: () =>
          drafts.update(user.id, 'enrolment', draftId, {
            ...draft,
            proof: { lastStep: null, counter: null },
          }),
      };
    }
    const draft = await changeDraft(user.id, draftId);
    const verification = await status(draft?.verificationId);
    // The call or text this change started, to the line it is proving now.
    if (
      !draft?.proving ||
      !verification ||
      lineKey(verification.phone, verification.extension) !== draft.proving
    ) {
      return undefined;
    }
    const { proving } = draft;
    return {
      verification,
      prove: () =>
        drafts.update(user.id, 'phone-change', draftId, {
          ...draft,
          proven: [...draft.proven, proving],
          proving: undefined,
          verificationId: undefined,
        }),
      deny: async () => {
        await drafts.remove(user.id, 'phone-change', draftId);
        const failed = newLines(draft, user).find(
          (line) => lineKey(line.phone, line.extension) === proving,
        );
        return { ...draftNumbers(draft), failed: failed?.which ?? 'phone' };
      },
    };
  }

  const draftNumbers = (draft: PhoneChangeDraft): NumbersChange =>
    draft.kind === 'phone'
      ? { kind: 'phone', numbers: draft.numbers }
      : { kind: 'mobile', mobilePhone: draft.mobilePhone };

  /** The second step and a proof count their success through the lockout, which clears it. */
  async function proven(
    context: Context,
    user: UserRow,
    attempt: PhoneAttempt,
    found: Found,
  ): Promise<Proven | Locked | Gone> {
    const method = found.verification.method;
    if (ownNumbers(attempt)) {
      const outcome = await secondFactor.checkWithLockout(
        user,
        { type: attempt.purpose, method },
        context,
        () => Promise.resolve({ ok: true }),
      );
      return outcome.outcome === 'locked' ? outcome : { outcome: 'proven', method };
    }
    return (await found.prove()) ? { outcome: 'proven', method } : { outcome: 'gone' };
  }

  function view(found: Found, attempt: PhoneAttempt, policy: PortalSettings): AttemptView {
    const { verification } = found;
    return {
      method: verification.method,
      phone: maskPhone(verification.phone),
      // A new number on My account is texted without the PIN: it proves the number only.
      pinRequired: attempt.purpose !== 'change' && policy.smsMode === 'otp-pin',
      settled: verification.status === 'denied',
    };
  }

  /**
   * The typed numbers of a change or of User Setup, validated, in E.164: the change they make
   * when none has an error, and the numbers a new PIN must not be part of (M5).
   */
  function readNumbers(
    typed: TypedChange | TypedEnrolment,
    backupAllowed: boolean,
  ): { errors: FieldError[]; change?: NumbersChange; phones: string[] } {
    if ('mobile' in typed) {
      const { phone, errors } = readNumber(typed.mobile, 'mobile', { required: true });
      if (!phone || errors.length > 0) return { errors, phones: phone ? [phone] : [] };
      return { errors, phones: [phone], change: { kind: 'mobile', mobilePhone: phone } };
    }
    if (typed.backup && !backupAllowed) {
      throw new MfaError('not-allowed', 'No backup phone asked for');
    }
    const primary = readNumber(typed.phone, 'phone', { required: true });
    const backup = typed.backup
      ? readNumber(typed.backup, 'backup', { required: false })
      : { phone: null, extension: null, errors: [] };
    const errors = [...primary.errors, ...backup.errors];
    const phones = [primary.phone, backup.phone].filter((p): p is string => p !== null);
    if (!primary.phone || errors.length > 0) return { errors, phones };
    const numbers = {
      phone: primary.phone,
      extension: primary.extension,
      backupPhone: backup.phone,
      backupExtension: backup.phone ? backup.extension : null,
    };
    return { errors, phones, change: { kind: 'phone', numbers } };
  }

  return {
    async beginEnrolment(context, input) {
      const policy = await settings.read();
      if (!offeredMethods(policy, telephony).includes(input.method)) {
        throw new MfaError('not-allowed', `Method not offered: ${input.method}`);
      }
      await userOf(input.userId);
      const read = readNumbers(input, policy.promptBackupPhone);
      const withPin = pinRequired(input.method, policy);
      const errors = [
        ...read.errors,
        ...(withPin
          ? newPinErrors(input.pin, input.pinConfirmation, policy.pinMinLength, read.phones)
          : []),
      ];
      if (errors.length > 0 || !read.change) return { outcome: 'invalid', errors };
      const draft: EnrolmentDraft =
        read.change.kind === 'phone'
          ? { method: 'phone', phone: read.change.numbers }
          : { method: 'sms', mobilePhone: read.change.mobilePhone };
      if (withPin) draft.pinHash = await secondFactor.hashPin(input.pin);
      return { outcome: 'begun', draftId: await drafts.create(input.userId, 'enrolment', draft) };
    },

    async beginChange(_context, input) {
      const policy = await settings.read();
      const user = await userOf(input.userId);
      await requireChangeAllowed(user, input.kind, policy);
      const { errors, change } = readNumbers(
        input,
        policy.promptBackupPhone || user.backup_phone !== null,
      );
      if (errors.length > 0 || !change) return { outcome: 'invalid', errors };
      if (changesNothing(change, user)) return { outcome: 'unchanged' };
      const draft: PhoneChangeDraft = { ...change, proven: [] };
      return { outcome: 'begun', draftId: await drafts.create(user.id, 'phone-change', draft) };
    },

    startCall: (context, input) => start(context, 'phone', input),
    startText: (context, input) => start(context, 'sms', input),

    async attempt(_context, input) {
      const user = await userOf(input.userId);
      const found = await find(user, input, input.method);
      return found ? view(found, input, await settings.read()) : null;
    },

    async wait(context, input) {
      const phoneVerification = provider();
      const user = await userOf(input.userId);
      const found = await find(user, input, input.method);
      if (!found) return { outcome: 'gone' };
      const { verification } = found;
      if (verification.status === 'pending') {
        return {
          outcome: 'pending',
          method: verification.method,
          phone: maskPhone(verification.phone),
        };
      }
      if (
        verification.status === 'approved' &&
        (await phoneVerification.acknowledge(verification.id, user.id, 'approved'))
      ) {
        return proven(context, user, input, found);
      }
      const change = await found.deny?.();
      // A wrong PIN or reply was counted when it came in (SPEC S5): it may have locked the account.
      const locked = lockOf(user);
      if (locked) return locked;
      return {
        outcome: 'denied',
        method: verification.method,
        reason: verification.reason,
        ...(change ? { change } : {}),
      };
    },

    async resendText(context, input) {
      const phoneVerification = provider();
      const user = await userOf(input.userId);
      const locked = lockOf(user);
      if (locked) return locked;
      const found = await find(user, input, 'sms');
      if (!found) return { outcome: 'gone' };
      const resent = await phoneVerification.resendText(found.verification.id, context);
      if (resent?.outcome === 'failed') return { outcome: 'unreachable', method: 'sms' };
      return resent ?? { outcome: 'sent' };
    },

    async checkTextCode(context, input) {
      const phoneVerification = provider();
      const user = await userOf(input.userId);
      const found = await find(user, input, 'sms');
      if (!found) return { outcome: 'gone' };
      const { verification } = found;
      const { pinRequired: withPin } = view(found, input, await settings.read());
      const errors = codeError('code', input.code, [6]);
      if (withPin && input.pin === '') errors.push({ field: 'pin', message: 'pin.errors.missing' });
      const code = readCode(input.code, [6]);
      if (errors.length > 0 || !code) return { outcome: 'invalid', errors };
      const type = ownNumbers(input) ? input.purpose : 'enrolment.sms-code';
      const outcome = await secondFactor.checkWithLockout(
        user,
        { type, method: 'sms' },
        context,
        async () => {
          const ok = await phoneVerification.checkTypedCode(
            verification.id,
            code,
            withPin ? input.pin : '',
          );
          return {
            ok: ok && (await phoneVerification.acknowledge(verification.id, user.id, 'approved')),
          };
        },
      );
      if (outcome.outcome === 'invalid') {
        const message = withPin ? 'codes.errors.wrongWithPin' : 'codes.errors.wrongText';
        return { outcome: 'invalid', errors: [{ field: 'code', message }] };
      }
      if (outcome.outcome !== 'success') return outcome;
      return (await found.prove()) ? { outcome: 'proven', method: 'sms' } : { outcome: 'gone' };
    },

    async saveChange(context, { userId, draftId }) {
      const policy = await settings.read();
      const draft = await changeDraft(userId, draftId);
      if (!draft) return { outcome: 'gone' };
      const current = await userOf(userId);
      await requireChangeAllowed(current, draft.kind, policy);
      if (nextLine(draft, current)) return { outcome: 'unproven' };
      const time = now();
      const saved = await db.transaction().execute(async (trx) => {
        // The row first: on PostgreSQL this locks it until the commit, so that what is checked
        // below is what is written over (SQLite has one writer anyway).
        const locked = await trx
          .updateTable('users')
          .set({ updated_at: time })
          .where('id', '=', userId)
          .executeTakeFirst();
        if (locked.numUpdatedRows === 0n) return undefined;
        const user = await trx
          .selectFrom('users')
          .selectAll()
          .where('id', '=', userId)
          .executeTakeFirstOrThrow();
        // Checked again on the locked row: the numbers may have changed in another tab.
        if (nextLine(draft, user)) return 'unproven' as const;
        // The draft goes with the write: of two tabs finishing one change, one saves it.
        const ended = await trx
          .deleteFrom('drafts')
          .where('id', '=', draftId)
          .where('user_id', '=', userId)
          .where('kind', '=', 'phone-change')
          .executeTakeFirst();
        if (ended.numDeletedRows === 0n) return undefined;
        await trx
          .updateTable('users')
          .set(
            draft.kind === 'phone'
              ? {
                  phone: draft.numbers.phone,
                  phone_extension: draft.numbers.extension,
                  backup_phone: draft.numbers.backupPhone,
                  backup_extension: draft.numbers.backupExtension,
                }
              : { mobile_phone: draft.mobilePhone },
          )
          .where('id', '=', userId)
          .execute();
        return user;
      });
      if (saved === undefined) return { outcome: 'gone' };
      if (saved === 'unproven') return { outcome: 'unproven' };
      const method = draft.kind === 'phone' ? 'phone' : 'sms';
      const had = draft.kind === 'phone' ? saved.phone : saved.mobile_phone;
      await changes.record(
        saved,
        {
          type: draft.kind === 'phone' ? 'change.phone' : 'change.mobile',
          method,
          phone: maskPhone(draft.kind === 'phone' ? draft.numbers.phone : draft.mobilePhone),
          notice: had ? 'factorChanged' : 'factorAdded',
          what: draft.kind,
        },
        context,
      );
      return {
        outcome: 'saved',
        method,
        pinNeeded: pinMethods(policy).includes(method) && saved.pin_hash === null,
      };
    },

    async removeNumbers(context, { userId, method }) {
      const user = await userOf(userId);
      await requireChangeAllowed(
        user,
        method === 'phone' ? 'phone' : 'mobile',
        await settings.read(),
      );
      return removeWayToSignIn(deps, context, userId, { method });
    },

    async keypadInput(_context, report) {
      await provider().events.keypadInput(report);
    },

    async callUnanswered(_context, report) {
      await provider().events.callUnanswered(report);
    },

    async callEnded(_context, report) {
      await provider().events.callEnded(report);
    },

    async textUndelivered(_context, report) {
      await provider().events.textUndelivered(report);
    },

    async textReply(_context, reply) {
      await provider().events.textReply(reply);
    },
  };
}
