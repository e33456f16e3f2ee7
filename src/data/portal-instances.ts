import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db, PortalInstancesTable } from './schema.ts';

/** How often a serving portal says it is still there. */
export const heartbeatIntervalMs = 10_000;
/** A heartbeat older than this is a portal that stopped without saying so (a crash, SIGKILL). */
export const staleAfterMs = 3 * heartbeatIntervalMs;
/** Rows of portals that died without removing theirs are dropped after this long. */
const forgetAfterMs = 24 * 3_600_000;

export interface PortalHeartbeat {
  /** Removes this portal's row: it no longer serves. */
  stop(): Promise<void>;
}

/**
 * Registers a serving portal in the database and keeps its heartbeat, so that `restore` refuses
 * to replace a database under a running portal (which would go on writing to the file it has
 * open), yet is not blocked for ever by one that crashed.
 */
export async function startHeartbeat(
  db: Db,
  onError: (error: unknown) => void,
  now: () => number = Date.now,
): Promise<PortalHeartbeat> {
  const id = randomUUID();
  const startedAt = now();
  const beat = async () => {
    const seenAt = now();
    await db
      .insertInto('portal_instances')
      .values({ id, host: hostname(), pid: process.pid, started_at: startedAt, seen_at: seenAt })
      // The same statement registers and renews, so a row lost meanwhile comes back.
      .onConflict((oc) => oc.column('id').doUpdateSet({ seen_at: seenAt }))
      .execute();
  };
  await db
    .deleteFrom('portal_instances')
    .where('seen_at', '<', startedAt - forgetAfterMs)
    .execute();
  await beat();
  let failing = false;
  const timer = setInterval(() => {
    beat().then(
      () => {
        failing = false;
      },
      (error: unknown) => {
        // Once per outage, not every ten seconds: the database's own errors say the rest.
        if (!failing) onError(error);
        failing = true;
      },
    );
  }, heartbeatIntervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await db.deleteFrom('portal_instances').where('id', '=', id).execute();
    },
  };
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another account (the IIS app pool, the service user).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The portals among these rows that still serve: a recent heartbeat, and on this host a process
 * that still exists (a portal killed a moment ago does not block anything).
 */
export function runningPortals(
  rows: PortalInstancesTable[],
  now = Date.now(),
  exists: (pid: number) => boolean = processExists,
): PortalInstancesTable[] {
  const here = hostname();
  return rows.filter(
    (row) => now - row.seen_at <= staleAfterMs && (row.host !== here || exists(row.pid)),
  );
}
