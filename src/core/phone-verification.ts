import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { AuditRepository } from '../data/audit-repository.ts';
import type { Db, VerificationsTable } from '../data/schema.ts';
import type { SettingsRepository } from '../data/settings-repository.ts';
import type { UserRow, UsersRepository } from '../data/users-repository.ts';
import type { Channels, Report, Telephony, TelephonyEvents } from '../providers/telephony.ts';
import type { Context } from './context.ts';
import type { Lockout } from './lockout.ts';
import { verifySecret } from './passwords.ts';
import { createPhoneLimits, type Paused, type Send } from './phone-limits.ts';
import { maskPhone } from './phone-numbers.ts';

export type Verification = Selectable<VerificationsTable>;

/** Text a user's language into a message; core knows keys, not HTTP (i18next's fixed `t`). */
export type Translate = (language: string, key: string, values?: Record<string, unknown>) => string;

/**
 * A text as it is sent: French typography's no-break spaces become plain spaces. They are not
 * in the GSM alphabet, so a gateway sends them as "?" or the whole text as UCS-2, in twice as
 * many parts (found with Kannel); on a phone's screen a plain space reads the same.
 */
export const smsText = (text: string) => text.replace(/[\u00a0\u202f]/g, ' ');

/** How long a call may ring and be answered before the attempt counts as unanswered. */
const callLifetimeMs = 120_000;

export interface PhoneVerificationDependencies {
  db: Db;
  users: UsersRepository;
  settings: SettingsRepository;
  audit: AuditRepository;
  lockout: Lockout;
  telephony: Telephony;
  /** The channels a provider carries: a method without one is not offered. */
  channels: Channels;
  translate: Translate;
  /** Keys the HMAC of text-message codes, so a database reader cannot recover a live code. */
  codeKey: Buffer;
  now?: () => number;
}

export interface StartCall {
  user: UserRow;
  purpose: Verification['purpose'];
  phone: string;
  extension: string | null;
  backupPhone: string | null;
  backupExtension: string | null;
  /** PIN mode: the hash of the PIN the caller must key in. */
  pinHash: string | null;
  language: string;
}

export interface StartText {
  user: UserRow;
  purpose: Verification['purpose'];
  phone: string;
  pinHash: string | null;
  language: string;
}

/**
 * A call or text started, kept back by a limit (SPEC S5), or not taken by the provider (down,
 * too slow, or it refused): `failed`, with the attempt denied and the reason audited.
 */
export type Started =
  | { outcome: 'started'; verificationId: string }
  | Paused
  | { outcome: 'failed'; verificationId: string };

/** How long a provider report is remembered, so that a repeated one is not acted on again. */
const reportMemoryMs = 2 * 24 * 3600_000;

/** What the audit says of a provider's failure: its message, short and on one line. */
function failureOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `provider unavailable: ${message.replace(/\s+/g, ' ').slice(0, 200)}`;
}

/**
 * Phone-call and text-message verification (SPEC M1, M2, J4): a row per attempt, settled by
 * what the provider reports, read by the waiting page until it is approved or denied.
 */
export function createPhoneVerification(deps: PhoneVerificationDependencies) {
  const { db, users, settings, audit, lockout, telephony, translate, codeKey } = deps;
  const now = deps.now ?? Date.now;
  const limits = createPhoneLimits({ db, settings, now });

  /**
   * Counts a call or text against the limits before the provider hears of it; one that meets a
   * limit is not sent, and is audited with the limits it met.
   */
  async function admit(
    user: UserRow,
    method: Verification['method'],
    send: Omit<Send, 'userId'>,
  ): Promise<Paused | undefined> {
    const paused = await limits.reserve({ ...send, userId: user.id });
    if (paused) {
      await audit.record({
        type: `verification.${method}`,
        result: 'failure',
        reason: paused.limits.map((limit) => `limit per ${limit}`).join(', '),
        user_id: user.id,
        username: user.username,
        display_name: user.display_name,
        email: user.email,
        phone: maskPhone(send.phone),
        device: null,
        method,
        client_ip: send.clientIp,
        admin_id: null,
      });
    }
    return paused;
  }

  const codeHash = (verificationId: string, code: string) =>
    createHmac('sha256', codeKey).update(`${verificationId}:${code}`).digest('base64url');

  async function find(id: string): Promise<Verification | undefined> {
    return db.selectFrom('verifications').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Settles a pending verification once; a late or repeated report changes nothing. The audit
   * may say more than the reason the page shows (`detail`: why a provider failed).
   */
  async function settle(
    id: string,
    status: 'approved' | 'denied',
    reason: string | null,
    detail: string | null = reason,
  ) {
    const result = await db
      .updateTable('verifications')
      .set({ status, reason })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return;
    const verification = await find(id);
    const user = verification && (await users.findById(verification.user_id));
    if (!verification || !user) return;
    await audit.record({
      type: reason === 'fraud' ? 'fraud-alert' : `verification.${verification.method}`,
      result: status === 'approved' ? 'success' : 'failure',
      reason: detail,
      user_id: user.id,
      username: user.username,
      display_name: user.display_name,
      email: user.email,
      phone: maskPhone(verification.phone),
      device: null,
      method: verification.method,
      client_ip: null,
      admin_id: null,
    });
  }

  /**
   * The attempt a provider report is about, while it is pending and the report names the call
   * or text now under way: a report about an earlier call (before the backup phone was rung),
   * an earlier text (before a resend) or another attempt is ignored. So is one that comes after
   * the attempt's time, which is over whether or not the waiting page has looked since.
   */
  async function current(report: Report, method: Verification['method']) {
    const verification = await find(report.verificationId);
    if (verification?.status !== 'pending' || verification.method !== method) return undefined;
    if (verification.expires_at <= now()) return undefined;
    if ((verification.provider_ref ?? undefined) !== report.ref) return undefined;
    return verification;
  }

  /**
   * True the first time a provider report with this id arrives, false for a repeat (a provider
   * retrying, or a captured request replayed): a report is acted on once.
   */
  async function firstReport(id: string | undefined): Promise<boolean> {
    if (id === undefined) return true;
    const time = now();
    const inserted = await db
      .insertInto('provider_reports')
      .values({ id, received_at: time })
      .onConflict((conflict) => conflict.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (Math.random() < 0.01) {
      await db
        .deleteFrom('provider_reports')
        .where('received_at', '<', time - reportMemoryMs)
        .execute();
    }
    return inserted !== undefined;
  }

  /**
   * Hands a call or text to the provider and keeps its id; a provider that does not take it
   * denies the attempt, audited with the provider's reason (SPEC N1: nothing waits forever).
   */
  async function hand(verificationId: string, send: () => Promise<{ ref: string | null }>) {
    try {
      const { ref } = await send();
      await db
        .updateTable('verifications')
        .set({ provider_ref: ref })
        .where('id', '=', verificationId)
        .execute();
      return true;
    } catch (error) {
      await settle(verificationId, 'denied', 'provider unavailable', failureOf(error));
      return false;
    }
  }

  function callPrompt(language: string, pinMode: boolean, fraudCode: string): string {
    return translate(language, pinMode ? 'telephony.callPromptPin' : 'telephony.callPrompt', {
      fraudCode,
    });
  }

  const events: TelephonyEvents = {
    /** Keys pressed after the prompt: `#` approves, PIN then `#` in PIN mode, the fraud code reports. */
    async keypadInput(report) {
      const { verificationId, digits } = report;
      const verification = await current(report, 'phone');
      if (!verification || !(await firstReport(report.ref && `keys:${report.ref}`))) return;
      const policy = await settings.read();
      if (digits === `${policy.fraudCode}#`) {
        await settle(verificationId, 'denied', 'fraud');
        if (policy.fraudAutoBlock) {
          await db
            .updateTable('users')
            .set({ disabled: 1, updated_at: now() })
            .where('id', '=', verification.user_id)
            .execute();
        }
        return;
      }
      if (!digits.endsWith('#')) return;
      const entered = digits.slice(0, -1);
      if (verification.pin_hash === null) {
        await settle(
          verificationId,
          entered === '' ? 'approved' : 'denied',
          entered === '' ? null : 'unexpected keys',
        );
        return;
      }
      const pinHash = verification.pin_hash;
      await settleGuess(
        verification,
        'wrong pin',
        async () => entered !== '' && (await verifySecret(entered, pinHash)),
      );
    },

    /** Unanswered: try the backup phone once, then give up (SPEC M1). */
    async callUnanswered(report) {
      const { verificationId } = report;
      const verification = await current(report, 'phone');
      if (!verification || !(await firstReport(report.ref && `unanswered:${report.ref}`))) return;
      if (verification.backup_phone && verification.backup_phone !== verification.phone) {
        const user = await users.findById(verification.user_id);
        if (!user) return;
        // A locked account gets no call at all, the backup's included (SPEC M8, S5).
        if (user.locked_until !== null && user.locked_until > now()) {
          await settle(verificationId, 'denied', 'locked');
          return;
        }
        const paused = await admit(user, 'phone', {
          verificationId,
          phone: verification.backup_phone,
          // Counted where the first call was asked for: the provider's report has no address.
          clientIp: await limits.addressOf(verificationId),
        });
        if (paused) {
          await settle(verificationId, 'denied', 'backup paused');
          return;
        }
        // The first call's id goes: its later reports are about a call that is over.
        await db
          .updateTable('verifications')
          .set({
            phone: verification.backup_phone,
            extension: verification.backup_extension,
            expires_at: now() + callLifetimeMs,
            provider_ref: null,
          })
          .where('id', '=', verificationId)
          .execute();
        const policy = await settings.read();
        const backupPhone = verification.backup_phone;
        await hand(verificationId, () =>
          telephony.placeCall({
            verificationId,
            to: backupPhone,
            extension: verification.backup_extension,
            prompt: callPrompt(
              verification.language,
              verification.pin_hash !== null,
              policy.fraudCode,
            ),
            language: verification.language,
          }),
        );
        return;
      }
      await settle(verificationId, 'denied', 'no answer');
    },

    /** Answered, and hung up (or timed out) before a key settled it. */
    async callEnded(report) {
      if (!(await current(report, 'phone'))) return;
      await settle(report.verificationId, 'denied', 'no input');
    },

    /** SPEC M2: a text the network could not deliver ends its attempt, so no one waits for it. */
    async textUndelivered(report) {
      if (!(await current(report, 'sms'))) return;
      await settle(report.verificationId, 'denied', 'undelivered');
    },

    /**
     * Two-way SMS: the reply carries the code (and the PIN in OTP + PIN mode). It settles the
     * pending text to that number whose code it carries, never merely the newest one: anyone can
     * have a text sent to a number they know, and the owner's reply to their own text must not
     * settle that one instead. A reply that carries no live text's code is a wrong reply, counted
     * once for each user with a text pending to that number, on their newest one (SPEC S5).
     */
    async textReply({ from, body, ref }) {
      if (!(await firstReport(ref && `reply:${ref}`))) return;
      const reply = body.replace(/\s/g, '');
      const pending = await db
        .selectFrom('verifications')
        .selectAll()
        .where('phone', '=', from)
        .where('method', '=', 'sms')
        .where('status', '=', 'pending')
        .orderBy('created_at', 'desc')
        .execute();
      const answered = pending.find((verification) => codeMatches(verification, reply));
      const wrong = pending.filter(
        (verification, i) => pending.findIndex((v) => v.user_id === verification.user_id) === i,
      );
      for (const verification of answered ? [answered] : wrong) {
        await settleGuess(verification, 'wrong reply', () => textMatches(verification, reply));
      }
    },
  };

  /**
   * Settles a PIN keyed in during a call, or a reply to a text, counted towards the lockout
   * before it is checked (SPEC S5): a locked account's guess is not checked at all. A right one
   * takes back only its own attempt; the waiting page completes the step, which clears the rest.
   */
  async function settleGuess(
    verification: Verification,
    wrongReason: string,
    check: () => Promise<boolean>,
  ) {
    const user = await users.findById(verification.user_id);
    const context: Context = {
      actor: { kind: 'user', userId: verification.user_id },
      clientIp: undefined,
      language: verification.language,
    };
    const { outcome } = user
      ? await lockout.attempt(user, context, 'this attempt', async () => ({ ok: await check() }))
      : { outcome: 'failure' };
    if (outcome === 'success') await settle(verification.id, 'approved', null);
    else await settle(verification.id, 'denied', outcome === 'locked' ? 'locked' : wrongReason);
  }

  /** Whether a live text's code begins what was typed or replied (no PIN is checked here). */
  function codeMatches(verification: Verification, codeThenPin: string): boolean {
    if (verification.expires_at <= now() || verification.code_hash === null) return false;
    const expected = Buffer.from(verification.code_hash);
    const actual = Buffer.from(codeHash(verification.id, codeThenPin.slice(0, 6)));
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  /** The code, then the PIN when one is required, typed or replied as one string or two. */
  async function textMatches(verification: Verification, codeThenPin: string): Promise<boolean> {
    const codeOk = codeMatches(verification, codeThenPin);
    const pin = codeThenPin.slice(6);
    if (verification.pin_hash === null) return codeOk && pin === '';
    const pinOk = pin !== '' && (await verifySecret(pin, verification.pin_hash));
    return codeOk && pinOk;
  }

  async function sendCode(
    verification: Pick<Verification, 'id' | 'phone' | 'language'>,
    twoWay: boolean,
    pinMode: boolean,
  ) {
    const code = randomInt(0, 1_000_000).toString().padStart(6, '0');
    const policy = await settings.read();
    await db
      .updateTable('verifications')
      .set({
        code_hash: codeHash(verification.id, code),
        expires_at: now() + policy.smsCodeLifetimeSeconds * 1000,
      })
      .where('id', '=', verification.id)
      .execute();
    const key = twoWay
      ? pinMode
        ? 'telephony.textReplyPin'
        : 'telephony.textReply'
      : 'telephony.textCode';
    const body = smsText(
      translate(verification.language, key, {
        code,
        count: Math.round(policy.smsCodeLifetimeSeconds / 60),
      }),
    );
    return hand(verification.id, () =>
      telephony.sendText({ verificationId: verification.id, to: verification.phone, body }),
    );
  }

  return {
    events,
    find,
    channels: deps.channels,

    async startCall(call: StartCall, context: Context): Promise<Started> {
      const id = randomUUID();
      const paused = await admit(call.user, 'phone', {
        verificationId: id,
        phone: call.phone,
        clientIp: context.clientIp ?? null,
      });
      if (paused) return paused;
      const time = now();
      await db
        .insertInto('verifications')
        .values({
          id,
          user_id: call.user.id,
          method: 'phone',
          purpose: call.purpose,
          phone: call.phone,
          extension: call.extension,
          backup_phone: call.backupPhone,
          backup_extension: call.backupExtension,
          status: 'pending',
          reason: null,
          pin_hash: call.pinHash,
          code_hash: null,
          language: call.language,
          expires_at: time + callLifetimeMs,
          created_at: time,
          provider_ref: null,
        })
        .execute();
      const policy = await settings.read();
      const placed = await hand(id, () =>
        telephony.placeCall({
          verificationId: id,
          to: call.phone,
          extension: call.extension,
          prompt: callPrompt(call.language, call.pinHash !== null, policy.fraudCode),
          language: call.language,
        }),
      );
      return { outcome: placed ? 'started' : 'failed', verificationId: id };
    },

    async startText(text: StartText, context: Context): Promise<Started> {
      const id = randomUUID();
      const paused = await admit(text.user, 'sms', {
        verificationId: id,
        phone: text.phone,
        clientIp: context.clientIp ?? null,
      });
      if (paused) return paused;
      const time = now();
      const policy = await settings.read();
      await db
        .insertInto('verifications')
        .values({
          id,
          user_id: text.user.id,
          method: 'sms',
          purpose: text.purpose,
          phone: text.phone,
          extension: null,
          backup_phone: null,
          backup_extension: null,
          status: 'pending',
          reason: null,
          pin_hash: text.pinHash,
          code_hash: null,
          language: text.language,
          expires_at: time + policy.smsCodeLifetimeSeconds * 1000,
          created_at: time,
          provider_ref: null,
        })
        .execute();
      const sent = await sendCode(
        { id, phone: text.phone, language: text.language },
        policy.smsDirection === 'two-way',
        text.pinHash !== null,
      );
      return { outcome: sent ? 'started' : 'failed', verificationId: id };
    },

    /**
     * A new code replaces the old one; the failure counter is not reset (SPEC M2). Returns the
     * limit that kept it from being sent, if one did: the old code then stays as it was; or
     * `failed` when the provider did not take it, which ends the attempt.
     */
    async resendText(
      verificationId: string,
      context: Context,
    ): Promise<Paused | { outcome: 'failed' } | undefined> {
      const verification = await find(verificationId);
      if (verification?.status !== 'pending' || verification.method !== 'sms') return undefined;
      const user = await users.findById(verification.user_id);
      if (!user) return undefined;
      const paused = await admit(user, 'sms', {
        verificationId,
        phone: verification.phone,
        clientIp: context.clientIp ?? null,
      });
      if (paused) return paused;
      const policy = await settings.read();
      const sent = await sendCode(
        verification,
        policy.smsDirection === 'two-way',
        verification.pin_hash !== null,
      );
      return sent ? undefined : { outcome: 'failed' };
    },

    /**
     * One-way SMS: the code (and PIN) typed in the portal. The pages run it under
     * `secondFactor.checkWithLockout`, which counts it before the PIN is hashed (SPEC S5).
     */
    async checkTypedCode(verificationId: string, code: string, pin: string): Promise<boolean> {
      const verification = await find(verificationId);
      if (verification?.status !== 'pending' || verification.method !== 'sms') return false;
      const ok = await textMatches(verification, `${code}${pin}`);
      if (ok) await settle(verificationId, 'approved', null);
      return ok;
    },

    /**
     * What the waiting page shows. A pending attempt past its time is denied here, since no
     * provider report will come for it.
     */
    async status(verificationId: string, userId: string): Promise<Verification | undefined> {
      const verification = await find(verificationId);
      if (verification?.user_id !== userId) return undefined;
      if (verification.status === 'pending' && verification.expires_at <= now()) {
        await settle(
          verificationId,
          'denied',
          verification.method === 'phone' ? 'no answer' : 'expired',
        );
        return find(verificationId);
      }
      return verification;
    },

    /**
     * Takes a settled attempt's outcome once: approved → used signs in once, denied → used
     * counts one failure once, however often the waiting page is reloaded.
     */
    async acknowledge(
      verificationId: string,
      userId: string,
      outcome: 'approved' | 'denied',
    ): Promise<boolean> {
      const result = await db
        .updateTable('verifications')
        .set({ status: 'used' })
        .where('id', '=', verificationId)
        .where('user_id', '=', userId)
        .where('status', '=', outcome)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}

export type PhoneVerification = ReturnType<typeof createPhoneVerification>;
