import { randomUUID } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { hostname, networkInterfaces } from 'node:os';
import type { Insertable, Selectable } from 'kysely';
import type { AuditEventsTable, Db } from './schema.ts';

export type AuditEvent = Selectable<AuditEventsTable>;
export type NewAuditEvent = Omit<
  Insertable<AuditEventsTable>,
  'id' | 'occurred_at' | 'server_name' | 'server_ip'
>;

function serverAddress(): string | null {
  for (const addresses of Object.values(networkInterfaces())) {
    const external = addresses?.find((a) => !a.internal && a.family === 'IPv4');
    if (external) return external.address;
  }
  return null;
}

/** Every audit record written, published for the metrics (src/metrics.ts) once it is written. */
export const auditChannel = 'mfa-portal:audit';
const recorded = channel(auditChannel);

/** Audit records with the server fields filled in once (SPEC A4). */
export function createAuditRepository(db: Db) {
  const serverName = hostname();
  const serverIp = serverAddress();
  return {
    async record(event: NewAuditEvent, now = Date.now()): Promise<void> {
      await db
        .insertInto('audit_events')
        .values({
          ...event,
          id: randomUUID(),
          occurred_at: now,
          server_name: serverName,
          server_ip: serverIp,
        })
        .execute();
      if (recorded.hasSubscribers) recorded.publish(event);
    },

    async recentForUser(userId: string, limit = 20): Promise<AuditEvent[]> {
      return db
        .selectFrom('audit_events')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('occurred_at', 'desc')
        .limit(limit)
        .execute();
    },

    /** SPEC A4: records filtered by user and type, newest first. */
    async find(filter: { userId?: string; type?: string; limit: number }): Promise<AuditEvent[]> {
      let query = db.selectFrom('audit_events').selectAll();
      if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
      if (filter.type !== undefined) query = query.where('type', '=', filter.type);
      return query.orderBy('occurred_at', 'desc').limit(filter.limit).execute();
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
