import { randomUUID } from 'node:crypto';
import { createAuditRepository, type AuditRepository } from '../data/audit-repository.ts';
import { prepared } from '../data/prepared.ts';
import type { Db } from '../data/schema.ts';
import type { UserRow } from '../data/users-repository.ts';
import { adminOf, type Context } from './context.ts';
import type { FieldError } from './mfa-service.ts';
import type { PortalSettings } from './settings.ts';

/** SPEC M7: the default life of a bypass, and the most any bypass may have. */
export const defaultBypassSeconds = 300;
export const maxBypassSeconds = 24 * 3600;

/** The shortest bypass a user may ask for: long enough to sign out and in again. */
export const minBypassSeconds = 60;

/** What a bypass started from My account lasts when the user is not asked: 300 s, or less. */
export function plainBypassSeconds(settings: PortalSettings): number {
  return Math.min(defaultBypassSeconds, settings.bypassMaxSeconds);
}

/**
 * The seconds typed by the user: digits only, within 60 and the admin's maximum. Returns the
 * number, or the error to show against the field.
 */
export function readBypassSeconds(typed: string, max: number): number | FieldError {
  const text = typed.trim();
  const field = 'seconds';
  if (text === '') return { field, message: 'bypassPage.errors.required' };
  if (!/^\d+$/.test(text)) return { field, message: 'bypassPage.errors.wholeNumber' };
  const seconds = Number(text);
  if (seconds < minBypassSeconds || seconds > max) {
    return { field, message: 'bypassPage.errors.range', values: { min: minBypassSeconds, max } };
  }
  return seconds;
}

/** The statements of every sign-in and of My account, compiled once (SPEC P2). */
const pendingOf = prepared((db, p: { userId: string; now: number }) =>
  db
    .selectFrom('bypasses')
    .select(['id', 'expires_at', 'issued_by'])
    .where('user_id', '=', p.userId)
    .where('used_at', 'is', null)
    .where('cancelled_at', 'is', null)
    .where('expires_at', '>', p.now)
    .orderBy('created_at', 'desc'),
);

export interface BypassDependencies {
  db: Db;
  audit: AuditRepository;
  now?: () => number;
}

/**
 * One-time bypass (SPEC M7): the next sign-in within its seconds skips the second step, once.
 * A new bypass replaces a pending one; every issue and use is audited, in the same transaction
 * as the change it records.
 */
export function createBypasses({ db, audit, now = Date.now }: BypassDependencies) {
  function event(user: UserRow, context: Context) {
    return {
      user_id: user.id,
      username: user.username,
      display_name: user.display_name,
      email: user.email,
      phone: null,
      device: null,
      method: 'bypass',
      client_ip: context.clientIp ?? null,
    };
  }

  return {
    async issue(
      user: UserRow,
      input: { seconds: number; reason?: string },
      context: Context,
    ): Promise<{ expiresAt: number }> {
      if (
        !Number.isInteger(input.seconds) ||
        input.seconds < 1 ||
        input.seconds > maxBypassSeconds
      ) {
        throw new RangeError(`A bypass lasts 1 to ${maxBypassSeconds} seconds`);
      }
      const time = now();
      const expiresAt = time + input.seconds * 1000;
      // Who issued it comes from the context: the user, an administrator or the command line.
      const issuedBy = context.actor.kind;
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('bypasses')
          .set({ cancelled_at: time })
          .where('user_id', '=', user.id)
          .where('used_at', 'is', null)
          .where('cancelled_at', 'is', null)
          .execute();
        await trx
          .insertInto('bypasses')
          .values({
            id: randomUUID(),
            user_id: user.id,
            issued_by: issuedBy,
            admin_id: adminOf(context),
            reason: input.reason ?? null,
            created_at: time,
            expires_at: expiresAt,
            used_at: null,
            cancelled_at: null,
          })
          .execute();
        await createAuditRepository(trx).record(
          {
            ...event(user, context),
            type: 'bypass.issued',
            result: 'info',
            reason: input.reason ?? `${input.seconds} s by ${issuedBy}`,
            admin_id: adminOf(context),
          },
          time,
        );
      });
      return { expiresAt };
    },

    /** The bypass waiting for the user's next sign-in, if any. */
    async pending(
      user: Pick<UserRow, 'id'>,
    ): Promise<{ expiresAt: number; issuedBy: string } | undefined> {
      const row = (await pendingOf(db, { userId: user.id, now: now() })).rows[0];
      return row ? { expiresAt: row.expires_at, issuedBy: row.issued_by } : undefined;
    },

    /** Withdraws the pending bypass; false when there was none left to cancel. */
    async cancel(user: UserRow, context: Context): Promise<boolean> {
      const time = now();
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('bypasses')
          .set({ cancelled_at: time })
          .where('user_id', '=', user.id)
          .where('used_at', 'is', null)
          .where('cancelled_at', 'is', null)
          .where('expires_at', '>', time)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) return false;
        await createAuditRepository(trx).record(
          {
            ...event(user, context),
            type: 'bypass.cancelled',
            result: 'info',
            reason: null,
            admin_id: adminOf(context),
          },
          time,
        );
        return true;
      });
    },

    /** Uses the pending bypass, if any: at most one sign-in, across instances. */
    async consume(user: UserRow, context: Context): Promise<boolean> {
      const time = now();
      const pending = (await pendingOf(db, { userId: user.id, now: time })).rows[0];
      if (!pending) return false;
      const result = await db
        .updateTable('bypasses')
        .set({ used_at: time })
        .where('id', '=', pending.id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) return false;
      await audit.record({
        ...event(user, context),
        type: 'bypass.used',
        result: 'success',
        reason: null,
        admin_id: adminOf(context),
      });
      return true;
    },
  };
}

export type Bypasses = ReturnType<typeof createBypasses>;
