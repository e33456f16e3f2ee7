import { randomUUID } from 'node:crypto';
import type { Db } from '../data/schema.ts';
import type { OtpDevice } from './devices.ts';
import type { PhoneNumbers } from './second-factor.ts';
import { open, seal } from './secret-box.ts';
import type { Method } from './settings.ts';

/** How long a change in progress waits for its next step. */
export const draftLifetimeMs = 30 * 60_000;

/**
 * How many changes of one kind a user may have in progress at once: one per tab within reason
 * (two tabs may each finish a User Setup, and one of them wins), and never an unbounded number.
 */
export const draftsPerKind = 5;

export type DraftKind = 'enrolment' | 'device' | 'phone-change';

/**
 * A User Setup in progress (SPEC J2): nothing is saved to the account until its last step.
 * App and token steps (src/core/service/enrolment.ts) and phone and text steps
 * (src/core/service/phone.ts) fill in the same draft; `complete` saves it.
 */
export interface EnrolmentDraft {
  method: Method;
  /** The new device, its seed in base64url (the draft is sealed as a whole). */
  device?: {
    kind: 'app' | 'token';
    name: string;
    serial: string | null;
    params: OtpDevice;
    secret: string;
    /** An imported token (SPEC M4): taken from the waiting ones when the setup is saved. */
    importedTokenId?: string;
  };
  /** Set once the user proved the method works: what to store with the device. */
  proof?: { lastStep: number | null; counter: number | null };
  pinHash?: string;
  phone?: PhoneNumbers;
  mobilePhone?: string;
  /** The call or text proving the number, while it is in flight. */
  verificationId?: string;
}

export interface DraftsDependencies {
  db: Db;
  encryptionKey: Buffer;
  now?: () => number;
}

/**
 * Changes in progress owned by the core (SPEC §2): User Setup, a new app activation, new phone
 * numbers. The portal holds only the id. The data is sealed (S7), bound to its id, user and kind,
 * so a draft cannot be read as another user's or another kind's; a few drafts of a kind per user,
 * the most recently used, so that each tab keeps its own; expired drafts read as none.
 */
export function createDrafts({ db, encryptionKey, now = Date.now }: DraftsDependencies) {
  const bound = (id: string, userId: string, kind: DraftKind) => `draft:${id}:${userId}:${kind}`;

  return {
    /**
     * Starts a draft; the user's least recently used drafts of the same kind beyond
     * `draftsPerKind` go. Returns its id.
     */
    async create(userId: string, kind: DraftKind, data: unknown): Promise<string> {
      const id = randomUUID();
      const time = now();
      const sealed = seal(
        Buffer.from(JSON.stringify(data)),
        encryptionKey,
        bound(id, userId, kind),
      );
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('drafts').where('expires_at', '<=', time).execute();
        const live = await trx
          .selectFrom('drafts')
          .select('id')
          .where('user_id', '=', userId)
          .where('kind', '=', kind)
          .orderBy('expires_at', 'desc')
          .execute();
        const older = live.slice(draftsPerKind - 1).map((draft) => draft.id);
        if (older.length > 0) await trx.deleteFrom('drafts').where('id', 'in', older).execute();
        await trx
          .insertInto('drafts')
          .values({ id, user_id: userId, kind, data: sealed, expires_at: time + draftLifetimeMs })
          .execute();
      });
      return id;
    },

    /** The draft's data, or undefined when it is not this user's, of this kind, or expired. */
    async read<T>(userId: string, kind: DraftKind, id: string): Promise<T | undefined> {
      const row = await db
        .selectFrom('drafts')
        .select('data')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .where('expires_at', '>', now())
        .executeTakeFirst();
      if (!row) return undefined;
      return JSON.parse(open(row.data, encryptionKey, bound(id, userId, kind)).toString()) as T;
    },

    /** Replaces a live draft's data and gives it a new lifetime; false when it is gone. */
    async update(userId: string, kind: DraftKind, id: string, data: unknown): Promise<boolean> {
      const time = now();
      const sealed = seal(
        Buffer.from(JSON.stringify(data)),
        encryptionKey,
        bound(id, userId, kind),
      );
      const result = await db
        .updateTable('drafts')
        .set({ data: sealed, expires_at: time + draftLifetimeMs })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .where('expires_at', '>', time)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    /**
     * Ends a draft; true when this call ended it (so two finishing at once cannot both win).
     * `within` is the transaction that saves what the draft held, when there is one.
     */
    async remove(userId: string, kind: DraftKind, id: string, within: Db = db): Promise<boolean> {
      const result = await within
        .deleteFrom('drafts')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}

export type Drafts = ReturnType<typeof createDrafts>;
