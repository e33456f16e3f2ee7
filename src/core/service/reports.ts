import { createAdminGrantsRepository } from '../../data/admin-grants-repository.ts';
import type {
  AuditCursor,
  AuditFilter,
  AuditEvent,
  ReportedEvent,
} from '../../data/audit-repository.ts';
import { normaliseUsername } from '../../data/users-repository.ts';
import { createAdministrators } from '../administrators.ts';
import type { Context } from '../context.ts';
import { maskPhone } from '../phone-numbers.ts';
import type { MfaServiceDependencies } from './index.ts';

export type { AuditCursor } from '../../data/audit-repository.ts';

/** The kinds of record the report tells apart (SPEC A4), as an administrator asks for them. */
export const auditCategories = [
  'sign-ins',
  'verifications',
  'enrolments',
  'changes',
  'admin-actions',
  'bypasses',
  'lockouts',
  'fraud-alerts',
] as const;
export type AuditCategory = (typeof auditCategories)[number];

export const auditResults = ['success', 'failure', 'info'] as const;
export type AuditResult = (typeof auditResults)[number];

/**
 * The audit types of each kind. "Admin actions" are not types: they are whatever an
 * administrator did, a change to a user's PIN as much as a grant.
 */
const typesOf: Record<Exclude<AuditCategory, 'admin-actions'>, readonly string[]> = {
  'sign-ins': ['sign-in.password', 'sign-in.second-step'],
  verifications: [
    'verification.phone',
    'verification.sms',
    'proof',
    'enrolment.sms-code',
    'token.associate',
  ],
  enrolments: ['enrolment', 'device.added', 'token.added'],
  changes: [
    ...['phone', 'mobile', 'pin', 'method', 'language', 'questions'].map(
      (what) => `change.${what}`,
    ),
    'device.renamed',
    'device.removed',
    'token.removed',
    'token.resync',
    'token.imported',
    'password.reset',
    'user.created',
    'user.updated',
    'user.deleted',
    'user.invited',
    'account.disabled',
    'account.enabled',
    'admin.granted',
    'admin.revoked',
    'settings.changed',
    'directory.sync',
  ],
  bypasses: ['bypass.issued', 'bypass.used', 'bypass.cancelled'],
  lockouts: ['lockout', 'account.unlocked'],
  'fraud-alerts': ['fraud-alert'],
};

/** What the report is filtered by; each criterion given must hold. */
export interface AuditQuery {
  /** The username the record names (case as typed does not matter). */
  username?: string;
  category?: AuditCategory;
  result?: AuditResult;
  /** Epoch ms: from (inclusive) and until (exclusive). */
  from?: number;
  until?: number;
  /** The acting administrator's username. */
  adminUsername?: string;
}

/** One audit record with the original product's fields (SPEC A4), the phone masked. */
export interface AuditRecord {
  id: string;
  /** Epoch ms. */
  time: number;
  type: string;
  result: AuditResult;
  /** The denial reason, or what changed. */
  reason: string | null;
  userId: string | null;
  username: string | null;
  displayName: string | null;
  email: string | null;
  phone: string | null;
  device: string | null;
  method: string | null;
  serverName: string;
  serverIp: string | null;
  clientIp: string | null;
  adminId: string | null;
  /** The acting administrator's username now; null when none acted or the account is gone. */
  adminUsername: string | null;
}

/** What an administrator wants to know first (SPEC A4), for the users it may see. */
export interface ReportSummary {
  notEnrolled: number;
  locked: number;
  bypassPending: number;
  /** Fraud alerts since `since`. */
  fraudReports: number;
  since: number;
}

/** Records per page of the report: a page of them stays within SPEC P5's 20 KB. */
export const auditPageSize = 10;

const fraudWindowMs = 7 * 24 * 3600_000;

/**
 * SPEC A4, with "view reports": the summary, the audit page by page and all of it for an
 * export. A scoped administrator reads only the records of users in its groups (a record of no
 * user, such as a settings change or an unknown username's sign-in, is for every group's), and
 * one without the permission anywhere is refused (`not-allowed`).
 */
export interface ReportsService {
  summary(context: Context): Promise<ReportSummary>;
  /**
   * One page, newest first: the newest records, those older than `before` or those just newer
   * than `after`; `older` and `newer` are where the next pages start, when there are any.
   */
  auditPage(
    context: Context,
    input: { query: AuditQuery; before?: AuditCursor; after?: AuditCursor },
  ): Promise<{ records: AuditRecord[]; older: AuditCursor | null; newer: AuditCursor | null }>;
  /**
   * Every record of the query, newest first, read as the caller takes them (for a streamed
   * export of any size). The permission is checked before this resolves.
   */
  exportAudit(context: Context, input: { query: AuditQuery }): Promise<AsyncIterable<AuditRecord>>;
}

const fullNumber = /^\+\d{7,15}$/;

const toRecord = (event: ReportedEvent): AuditRecord => ({
  id: event.id,
  time: event.occurred_at,
  type: event.type,
  result: event.result,
  reason: event.reason,
  userId: event.user_id,
  username: event.username,
  displayName: event.display_name,
  email: event.email,
  // Recorded masked; a full number would not leave the core all the same.
  phone:
    event.phone !== null && fullNumber.test(event.phone) ? maskPhone(event.phone) : event.phone,
  device: event.device,
  method: event.method,
  serverName: event.server_name,
  serverIp: event.server_ip,
  clientIp: event.client_ip,
  adminId: event.admin_id,
  adminUsername: event.admin_username,
});

const cursorOf = (event: Pick<AuditEvent, 'occurred_at' | 'id'>): AuditCursor => ({
  time: event.occurred_at,
  id: event.id,
});

export function createReportsService(deps: MfaServiceDependencies): ReportsService {
  const { db, users, audit } = deps;
  const now = deps.now ?? Date.now;
  const administrators = createAdministrators({ users, grants: createAdminGrantsRepository(db) });

  /** The groups the actor reads reports of (null: every record), or `not-allowed`. */
  async function readableGroups(context: Context): Promise<readonly string[] | null> {
    const scope = await administrators.scopeOf(context, 'view-reports');
    return scope.all ? null : scope.groups;
  }

  /** The query as the repository filters, or null when it cannot match anything. */
  async function filterOf(context: Context, query: AuditQuery): Promise<AuditFilter | null> {
    const groups = await readableGroups(context);
    const { category } = query;
    let adminId: string | undefined;
    if (query.adminUsername !== undefined) {
      const admin = await users.findByUsername(query.adminUsername);
      if (!admin) return null;
      adminId = admin.id;
    }
    return {
      groups,
      ...(query.username === undefined ? {} : { username: normaliseUsername(query.username) }),
      ...(category === undefined
        ? {}
        : category === 'admin-actions'
          ? { byAdmin: true }
          : { types: typesOf[category] }),
      ...(query.result === undefined ? {} : { result: query.result }),
      ...(query.from === undefined ? {} : { from: query.from }),
      ...(query.until === undefined ? {} : { until: query.until }),
      ...(adminId === undefined ? {} : { adminId }),
    };
  }

  return {
    async summary(context) {
      const groups = await readableGroups(context);
      const time = now();
      const since = time - fraudWindowMs;
      const [notEnrolled, locked, bypassPending, fraudReports] = await Promise.all([
        users.countWithStatus('not-enrolled', groups, time),
        users.countWithStatus('locked', groups, time),
        users.countWithStatus('bypass-pending', groups, time),
        audit.count({ groups, types: typesOf['fraud-alerts'], from: since }),
      ]);
      return { notEnrolled, locked, bypassPending, fraudReports, since };
    },

    async auditPage(context, { query, before, after }) {
      const filter = await filterOf(context, query);
      if (!filter) return { records: [], older: null, newer: null };
      // One more than a page, to know whether another follows that way.
      const rows = await audit.page(filter, {
        ...(after ? { after } : before ? { before } : {}),
        limit: auditPageSize + 1,
      });
      const more = rows.length > auditPageSize;
      // Newer pages come back newest first too: the extra record is the first.
      const shown = after && more ? rows.slice(1) : rows.slice(0, auditPageSize);
      const first = shown[0];
      const last = shown.at(-1);
      return {
        records: shown.map(toRecord),
        older: last && (after || more) ? cursorOf(last) : null,
        newer: first && (after ? more : before !== undefined) ? cursorOf(first) : null,
      };
    },

    async exportAudit(context, { query }) {
      const filter = await filterOf(context, query);
      async function* records(): AsyncGenerator<AuditRecord> {
        if (!filter) return;
        for await (const event of audit.each(filter)) yield toRecord(event);
      }
      return records();
    },
  };
}
