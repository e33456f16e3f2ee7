import { randomUUID } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { hostname, networkInterfaces } from 'node:os';
import type { Insertable, Selectable } from 'kysely';
import { prepared } from './prepared.ts';
import type { AuditEventsTable, Db } from './schema.ts';

export type AuditEvent = Selectable<AuditEventsTable>;
export type NewAuditEvent = Omit<
  Insertable<AuditEventsTable>,
  'id' | 'occurred_at' | 'server_name' | 'server_ip'
>;

/** The user fields of a record about no one user: a setting, an import, a directory sync. */
export const noUser = {
  user_id: null,
  username: null,
  display_name: null,
  email: null,
  phone: null,
} as const satisfies Partial<NewAuditEvent>;

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

// Every column: a field an event leaves out is stored as NULL, as an insert without it would.
const insertEvent = prepared((db, p: Insertable<AuditEventsTable>) =>
  db.insertInto('audit_events').values({
    id: p.id,
    occurred_at: p.occurred_at,
    type: p.type,
    result: p.result,
    reason: p.reason,
    user_id: p.user_id,
    username: p.username,
    display_name: p.display_name,
    email: p.email,
    phone: p.phone,
    device: p.device,
    method: p.method,
    server_name: p.server_name,
    server_ip: p.server_ip,
    client_ip: p.client_ip,
    admin_id: p.admin_id,
  }),
);
const recentOf = prepared((db, p: { userId: string; limit: number }) =>
  db
    .selectFrom('audit_events')
    .selectAll()
    .where('user_id', '=', p.userId)
    .orderBy('occurred_at', 'desc')
    .limit(p.limit),
);

/** Audit records with the server fields filled in once (SPEC A4). */
export function createAuditRepository(db: Db) {
  const serverName = hostname();
  const serverIp = serverAddress();
  return {
    async record(event: NewAuditEvent, now = Date.now()): Promise<void> {
      await insertEvent(db, {
        ...event,
        id: randomUUID(),
        occurred_at: now,
        server_name: serverName,
        server_ip: serverIp,
      });
      if (recorded.hasSubscribers) recorded.publish(event);
    },

    async recentForUser(userId: string, limit = 20): Promise<AuditEvent[]> {
      return (await recentOf(db, { userId, limit })).rows;
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
