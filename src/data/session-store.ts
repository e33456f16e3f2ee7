import session from 'express-session';
import type { Db } from './schema.ts';

type Callback<T> = (error: unknown, value?: T) => void;

/** express-session speaks callbacks; the queries are promises. */
function settle<T>(promise: Promise<T>, callback: Callback<T> | undefined): void {
  promise.then(
    (value) => callback?.(null, value),
    (error: unknown) => callback?.(error),
  );
}

/**
 * express-session store in the app's own database: sessions survive restarts and are shared by
 * every process on the host without Redis (SPEC §1). Expired rows are swept now and then.
 */
export class DatabaseSessionStore extends session.Store {
  private lastSweep = 0;
  private readonly db: Db;
  private readonly ttlMs: number;

  constructor(db: Db, ttlMs: number) {
    super();
    this.db = db;
    this.ttlMs = ttlMs;
  }

  private expiry(data: session.SessionData): number {
    return Date.now() + (data.cookie.maxAge ?? this.ttlMs);
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    const read = async () => {
      const row = await this.db
        .selectFrom('sessions')
        .select(['data', 'expires_at'])
        .where('sid', '=', sid)
        .executeTakeFirst();
      if (!row || row.expires_at <= Date.now()) return null;
      return JSON.parse(row.data) as session.SessionData;
    };
    settle(read(), callback);
  }

  override set(sid: string, data: session.SessionData, callback?: Callback<void>): void {
    const write = async () => {
      const row = { sid, data: JSON.stringify(data), expires_at: this.expiry(data) };
      await this.db
        .insertInto('sessions')
        .values(row)
        .onConflict((oc) =>
          oc.column('sid').doUpdateSet({ data: row.data, expires_at: row.expires_at }),
        )
        .execute();
      await this.sweep();
    };
    settle(write(), callback);
  }

  override touch(sid: string, data: session.SessionData, callback?: Callback<void>): void {
    const write = async () => {
      await this.db
        .updateTable('sessions')
        .set({ expires_at: this.expiry(data) })
        .where('sid', '=', sid)
        .execute();
    };
    settle(write(), callback);
  }

  override destroy(sid: string, callback?: Callback<void>): void {
    const remove = async () => {
      await this.db.deleteFrom('sessions').where('sid', '=', sid).execute();
    };
    settle(remove(), callback);
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    await this.db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
  }
}
