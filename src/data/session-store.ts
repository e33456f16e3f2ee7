import type { Request } from 'express';
import session from 'express-session';
import { changedRows, firstRow, prepared } from './prepared.ts';
import type { Db } from './schema.ts';

interface Row {
  sid: string;
  data: string;
  expires_at: number;
}

// The statements of every request with a session, compiled once (SPEC P2).
const readSession = prepared((db, p: { sid: string }) =>
  db.selectFrom('sessions').select(['data', 'expires_at']).where('sid', '=', p.sid),
);
const moveSession = prepared((db, p: Row & { from: string }) =>
  db
    .updateTable('sessions')
    .set({ sid: p.sid, data: p.data, expires_at: p.expires_at })
    .where('sid', '=', p.from),
);
const writeSession = prepared((db, p: Row) =>
  db
    .insertInto('sessions')
    .values({ sid: p.sid, data: p.data, expires_at: p.expires_at })
    .onConflict((oc) => oc.column('sid').doUpdateSet({ data: p.data, expires_at: p.expires_at })),
);
const touchSession = prepared((db, p: { sid: string; expires_at: number }) =>
  db.updateTable('sessions').set({ expires_at: p.expires_at }).where('sid', '=', p.sid),
);
const deleteSession = prepared((db, p: { sid: string }) =>
  db.deleteFrom('sessions').where('sid', '=', p.sid),
);

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
  /** The stored expiry of each session read by a request in flight, so a touch can be skipped. */
  private readonly readExpiry = new Map<string, number>();
  /** New session ids, each replacing the stored session whose id it takes over at its save. */
  private readonly replacing = new Map<string, string>();
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
      const row = firstRow(await readSession(this.db, { sid }));
      if (!row || row.expires_at <= Date.now()) return null;
      // Bounded: an entry goes with the request's touch, save or destroy.
      if (this.readExpiry.size > 10_000) this.readExpiry.clear();
      this.readExpiry.set(sid, row.expires_at);
      return JSON.parse(row.data) as session.SessionData;
    };
    settle(read(), callback);
  }

  override set(sid: string, data: session.SessionData, callback?: Callback<void>): void {
    this.readExpiry.delete(sid);
    const replaced = this.replacing.get(sid);
    this.replacing.delete(sid);
    const write = async () => {
      const row = { sid, data: JSON.stringify(data), expires_at: this.expiry(data) };
      // A regenerated session takes over the old one's row: the old id is gone in the same
      // statement that stores the new one (SPEC S2).
      const moved =
        replaced !== undefined &&
        changedRows(await moveSession(this.db, { ...row, from: replaced })) > 0n;
      if (!moved) await writeSession(this.db, row);
      await this.sweep();
    };
    settle(write(), callback);
  }

  /**
   * SPEC S2: a new session id whose data replaces the stored session in one statement when it
   * is saved, instead of a delete now and an insert then. A session this request did not read
   * from the store is destroyed at once, as express-session does it. Should the response end
   * without saving the new session, the old one is destroyed then.
   */
  regenerateOnSave(req: Request, callback: (error?: unknown) => void): void {
    const old = req.sessionID;
    if (!this.readExpiry.has(old)) {
      this.regenerate(req, callback);
      return;
    }
    this.readExpiry.delete(old);
    req.sessionStore.generate(req);
    const sid = req.sessionID;
    this.replacing.set(sid, old);
    req.res?.once('close', () => {
      if (this.replacing.get(sid) !== old) return;
      this.replacing.delete(sid);
      this.destroy(old);
    });
    callback();
  }

  /**
   * Moves the expiry on; a request within a minute of the last move writes nothing, as the
   * idle timeout is refreshed (src/middleware/session-timeouts.ts).
   */
  override touch(sid: string, data: session.SessionData, callback?: Callback<void>): void {
    const expiresAt = this.expiry(data);
    const stored = this.readExpiry.get(sid);
    this.readExpiry.delete(sid);
    if (stored !== undefined && expiresAt - stored < 60_000) {
      callback?.(null);
      return;
    }
    const write = async () => {
      await touchSession(this.db, { sid, expires_at: expiresAt });
    };
    settle(write(), callback);
  }

  override destroy(sid: string, callback?: Callback<void>): void {
    this.readExpiry.delete(sid);
    const remove = async () => {
      await deleteSession(this.db, { sid });
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
