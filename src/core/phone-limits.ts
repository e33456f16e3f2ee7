import { randomUUID } from 'node:crypto';
import type { Db } from '../data/schema.ts';
import type { SettingsRepository } from '../data/settings-repository.ts';
import type { PortalSettings } from './settings.ts';

/** The settings name their limits per hour: each counts the sends of the last hour. */
const windowMs = 60 * 60_000;

/** Who or what a limit is kept for (SPEC S5), broadest first. */
export const sendLimits = ['user', 'address', 'number'] as const;
export type SendLimit = (typeof sendLimits)[number];

/** A call or text that was not sent, because a limit was met. */
export interface Paused {
  outcome: 'paused';
  /** The broadest limit met, which the user is told of. */
  limit: SendLimit;
  /** Every limit met, for the audit record. */
  limits: SendLimit[];
  /** When a call or text may be asked for again. */
  until: number;
}

export interface Send {
  verificationId: string;
  userId: string;
  phone: string;
  clientIp: string | null;
}

const columns = { user: 'user_id', address: 'client_ip', number: 'phone' } as const;

const maximumOf = (limit: SendLimit, policy: PortalSettings): number =>
  ({
    user: policy.callsAndTextsPerUserPerHour,
    address: policy.callsAndTextsPerAddressPerHour,
    number: policy.callsAndTextsPerNumberPerHour,
  })[limit];

/**
 * Limits on calls and texts per user, per destination number and per client address (SPEC S5:
 * toll fraud, SMS pumping, phone spam), counted in the database so that every instance counts
 * together.
 */
export function createPhoneLimits(deps: {
  db: Db;
  settings: SettingsRepository;
  now: () => number;
}) {
  const { db, settings, now } = deps;

  async function countSince(limit: SendLimit, value: string, since: number): Promise<number> {
    const row = await db
      .selectFrom('phone_sends')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('sends'))
      .where(columns[limit], '=', value)
      .where('sent_at', '>', since)
      .executeTakeFirstOrThrow();
    return Number(row.sends);
  }

  /**
   * When a limit that was met lets a send through again. A user's own limit frees up as their
   * sends grow an hour old; the sends that fill a number's or an address's may be other
   * people's, and when those were made is not this user's to learn, so those say a full hour.
   */
  async function freeAgainAt(
    limit: SendLimit,
    value: string,
    maximum: number,
    time: number,
  ): Promise<number> {
    if (limit !== 'user') return time + windowMs;
    const oldestToLeave = await db
      .selectFrom('phone_sends')
      .select('sent_at')
      .where('user_id', '=', value)
      .where('sent_at', '>', time - windowMs)
      .orderBy('sent_at', 'desc')
      .limit(1)
      .offset(maximum - 1)
      .executeTakeFirst();
    // None: the count was over only while other requests were being counted.
    return oldestToLeave ? oldestToLeave.sent_at + windowMs : time + 60_000;
  }

  return {
    /**
     * Counts a call or text before the provider is asked for it. The send is written first and
     * then counted with the others of the hour, so that of concurrent requests on any instance
     * the last to count sees all the others: together they never pass a limit. A send over a
     * limit is taken back, so that refusals do not keep a limit met.
     */
    async reserve(send: Send): Promise<Paused | undefined> {
      const time = now();
      const since = time - windowMs;
      const policy = await settings.read();
      const id = randomUUID();
      await db.deleteFrom('phone_sends').where('sent_at', '<=', since).execute();
      await db
        .insertInto('phone_sends')
        .values({
          id,
          verification_id: send.verificationId,
          user_id: send.userId,
          phone: send.phone,
          client_ip: send.clientIp,
          sent_at: time,
        })
        .execute();
      const values = { user: send.userId, address: send.clientIp, number: send.phone };
      const met: SendLimit[] = [];
      for (const limit of sendLimits) {
        const value = values[limit];
        if (value !== null && (await countSince(limit, value, since)) > maximumOf(limit, policy)) {
          met.push(limit);
        }
      }
      const [broadest] = met;
      if (broadest === undefined) return undefined;
      await db.deleteFrom('phone_sends').where('id', '=', id).execute();
      const times = await Promise.all(
        met.map((limit) => freeAgainAt(limit, values[limit] ?? '', maximumOf(limit, policy), time)),
      );
      return { outcome: 'paused', limit: broadest, limits: met, until: Math.max(...times) };
    },

    /** The address that asked for a verification's first call: its backup call counts there too. */
    async addressOf(verificationId: string): Promise<string | null> {
      const first = await db
        .selectFrom('phone_sends')
        .select('client_ip')
        .where('verification_id', '=', verificationId)
        .orderBy('sent_at')
        .limit(1)
        .executeTakeFirst();
      return first?.client_ip ?? null;
    },
  };
}

export type PhoneLimits = ReturnType<typeof createPhoneLimits>;
