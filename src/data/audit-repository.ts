import { randomBytes } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { hostname, networkInterfaces } from 'node:os';
import type { ExpressionBuilder, Insertable, Selectable } from 'kysely';
import { prepared } from './prepared.ts';
import type { AuditEventsTable, DatabaseSchema, Db } from './schema.ts';

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

let lastTime = 0;
let sequence = 0;

/**
 * A UUID of version 7 (RFC 9562): the time in its first 48 bits, then a counter, then random
 * bits. Records written in the same millisecond by this process sort in the order written,
 * so that the audit's order (time, then id) is the order of events wherever times are equal.
 */
function timeOrderedId(): string {
  const time = Date.now();
  if (time > lastTime) {
    lastTime = time;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastTime += 1;
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastTime, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
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
    .orderBy('id', 'desc')
    .limit(p.limit),
);

/** What the report filters the audit by (SPEC A4); each criterion given must hold. */
export interface AuditFilter {
  /** The username the record names, as stored (normalised). */
  username?: string;
  /** Any of these types. */
  types?: readonly string[];
  /** Only what an administrator did. */
  byAdmin?: boolean;
  result?: AuditEvent['result'];
  /** Epoch ms: from (inclusive) and until (exclusive). */
  from?: number;
  until?: number;
  adminId?: string;
  /** Records of users in these groups only, or null for every record. */
  groups: readonly string[] | null;
}

/** A place in the audit's order (newest first): a record's time and id. */
export interface AuditCursor {
  time: number;
  id: string;
}

/** A record as the report reads it: with the acting administrator's username, if known. */
export type ReportedEvent = AuditEvent & { admin_username: string | null };

type Events = ExpressionBuilder<DatabaseSchema & { e: AuditEventsTable }, 'e'>;

/** The records of a filter, not yet selected nor ordered. */
function filtered(db: Db, filter: AuditFilter) {
  let query = db.selectFrom('audit_events as e');
  if (filter.groups !== null) {
    // A scoped administrator reads the records of users in its groups: the user as now.
    query = query
      .innerJoin('users as u', 'u.id', 'e.user_id')
      .where('u.user_group', 'in', [...filter.groups]);
  }
  if (filter.username !== undefined) query = query.where('e.username', '=', filter.username);
  if (filter.types !== undefined) query = query.where('e.type', 'in', [...filter.types]);
  if (filter.byAdmin) query = query.where('e.admin_id', 'is not', null);
  if (filter.result !== undefined) query = query.where('e.result', '=', filter.result);
  if (filter.from !== undefined) query = query.where('e.occurred_at', '>=', filter.from);
  if (filter.until !== undefined) query = query.where('e.occurred_at', '<', filter.until);
  if (filter.adminId !== undefined) query = query.where('e.admin_id', '=', filter.adminId);
  return query;
}

/** `limit` records of a filter from `cursor` on, older or newer, nearest the cursor first. */
function reportQuery(
  db: Db,
  filter: AuditFilter,
  page: { cursor: AuditCursor | undefined; older: boolean; limit: number },
) {
  const { cursor, older } = page;
  const direction = older ? 'desc' : 'asc';
  return filtered(db, filter)
    .leftJoin('users as a', 'a.id', 'e.admin_id')
    .selectAll('e')
    .select('a.username as admin_username')
    .$if(cursor !== undefined, (query) =>
      query.where((eb: Events) =>
        eb(
          eb.refTuple('e.occurred_at', 'e.id'),
          older ? '<' : '>',
          eb.tuple(cursor?.time ?? 0, cursor?.id ?? ''),
        ),
      ),
    )
    .orderBy('e.occurred_at', direction)
    .orderBy('e.id', direction)
    .limit(page.limit);
}

/** Audit records with the server fields filled in once (SPEC A4). */
export function createAuditRepository(db: Db) {
  const serverName = hostname();
  const serverIp = serverAddress();
  return {
    async record(event: NewAuditEvent, now = Date.now()): Promise<void> {
      await insertEvent(db, {
        ...event,
        id: timeOrderedId(),
        occurred_at: now,
        server_name: serverName,
        server_ip: serverIp,
      });
      if (recorded.hasSubscribers) recorded.publish(event);
    },

    async recentForUser(userId: string, limit = 20): Promise<AuditEvent[]> {
      return (await recentOf(db, { userId, limit })).rows;
    },

    /**
     * SPEC A4: one page of the report, newest first: the `limit` records older than `before`
     * (from the newest without it), or the `limit` records just newer than `after`.
     */
    async page(
      filter: AuditFilter,
      at: { before?: AuditCursor; after?: AuditCursor; limit: number },
    ): Promise<ReportedEvent[]> {
      if (filter.groups !== null && filter.groups.length === 0) return [];
      if (at.after) {
        const rows = await reportQuery(db, filter, {
          cursor: at.after,
          older: false,
          limit: at.limit,
        }).execute();
        return rows.reverse();
      }
      return reportQuery(db, filter, { cursor: at.before, older: true, limit: at.limit }).execute();
    },

    /**
     * Every record of the filter, newest first, read `batch` at a time: memory stays the same
     * whatever the count, and the next batch is read only when the caller asks for it.
     */
    async *each(filter: AuditFilter, batch = 1000): AsyncGenerator<ReportedEvent> {
      let before: AuditCursor | undefined;
      for (;;) {
        const rows = await this.page(filter, { before, limit: batch });
        yield* rows;
        const last = rows.at(-1);
        if (!last || rows.length < batch) return;
        before = { time: last.occurred_at, id: last.id };
      }
    },

    /** How many records the filter holds. */
    async count(filter: AuditFilter): Promise<number> {
      if (filter.groups !== null && filter.groups.length === 0) return 0;
      const counted = await filtered(db, filter)
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .executeTakeFirstOrThrow();
      return Number(counted.count);
    },

    /** SPEC A4: records filtered by user and type, newest first. */
    async find(filter: { userId?: string; type?: string; limit: number }): Promise<AuditEvent[]> {
      let query = db.selectFrom('audit_events').selectAll();
      if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
      if (filter.type !== undefined) query = query.where('type', '=', filter.type);
      return query.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
