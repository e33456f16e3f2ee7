import { Router, type Request, type Response } from 'express';
import createError from 'http-errors';
import { csvLine } from '../../core/csv.ts';
import { dateFormat, startOfDay } from '../../core/dates.ts';
import {
  auditCategories,
  auditResults,
  type AuditCursor,
  type AuditQuery,
  type AuditRecord,
} from '../../core/service/reports.ts';
import type { Services } from '../../services.ts';
import { eventName } from '../activity.ts';
import { adminContextOf } from '../context.ts';
import type { FieldError } from '../form.ts';

const textFields = ['username', 'admin'] as const;
const dateFields = ['from', 'until'] as const;
const filterFields = [...textFields, 'category', 'result', ...dateFields] as const;
type Typed = Record<(typeof filterFields)[number], string>;

/** The most characters of a username typed into the filter. */
const textMaxLength = 256;

/** Audit types the report names beyond those of "Recent activity"; the rest show their code. */
const reportTypes = new Set([
  'token.imported',
  'token.associate',
  'user.created',
  'user.updated',
  'user.deleted',
  'admin.granted',
  'admin.revoked',
  'settings.changed',
  'directory.sync',
]);
const namedMethods = new Set(['password', 'app', 'token', 'phone', 'sms', 'questions', 'bypass']);

const oneOf = <T extends string>(list: readonly T[], value: string): value is T =>
  (list as readonly string[]).includes(value);

/** A page's place in the audit as its links write it: `time_id`. */
function readCursor(value: unknown): AuditCursor | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? /^(\d{1,15})_([0-9a-f-]{36})$/.exec(value) : null;
  // Only the page's own links send one: anything else was not sent by it.
  if (!match) throw createError(400, 'Not a place in the audit');
  return { time: Number(match[1]), id: match[2] ?? '' };
}

const writeCursor = (cursor: AuditCursor) => `${String(cursor.time)}_${cursor.id}`;

/** The filter as sent (GET: a filter can be bookmarked and exported), and what is wrong in it. */
function readFilter(query: Request['query'], timeZone: string) {
  const typed = {} as Typed;
  for (const key of filterFields) {
    const value = query[key];
    if (value !== undefined && typeof value !== 'string') throw createError(400, `${key} twice`);
    typed[key] = (value ?? '').trim();
  }
  const errors: FieldError[] = [];
  const input: AuditQuery = {};
  for (const field of textFields) {
    const text = typed[field];
    // The query parser puts U+FFFD for bytes that are not UTF-8: not what anyone typed (S9).
    if (text.length > textMaxLength || /[\p{C}\uFFFD]/u.test(text)) {
      errors.push({
        field,
        message: 'adminUsers.search.errors.text',
        values: { max: textMaxLength },
      });
    }
  }
  if (typed.username) input.username = typed.username;
  if (typed.admin) input.adminUsername = typed.admin;
  if (oneOf(auditCategories, typed.category)) input.category = typed.category;
  else if (typed.category) {
    errors.push({ field: 'category', message: 'adminReports.filter.errors.category' });
  }
  if (oneOf(auditResults, typed.result)) input.result = typed.result;
  else if (typed.result) {
    errors.push({ field: 'result', message: 'adminReports.filter.errors.result' });
  }
  // Both days included: the range ends where the day after `until` begins.
  const from = typed.from ? startOfDay(typed.from, timeZone) : undefined;
  const until = typed.until ? startOfDay(typed.until, timeZone, 1) : undefined;
  if (from === null) errors.push({ field: 'from', message: 'adminReports.filter.errors.date' });
  if (until === null) errors.push({ field: 'until', message: 'adminReports.filter.errors.date' });
  if (typeof from === 'number') input.from = from;
  if (typeof until === 'number') input.until = until;
  if (typeof from === 'number' && typeof until === 'number' && until <= from) {
    errors.push({ field: 'until', message: 'adminReports.filter.errors.order' });
  }
  return { typed, input, errors };
}

/** The filter's own fields in a query string, without the empty ones. */
function queryOf(typed: Typed, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...typed, ...extra })) {
    if (value) params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Names of events and methods in the administrator's language; a code for anything else. */
function labels(t: (key: string) => string) {
  return {
    event(type: string): string {
      const named = eventName(type);
      if (named !== 'other') return t(`account.activity.types.${named}`);
      return reportTypes.has(type) ? t(`adminReports.types.${type.replace(/\./g, '_')}`) : type;
    },
    method: (method: string | null) =>
      method === null
        ? ''
        : namedMethods.has(method)
          ? t(`account.activity.methods.${method}`)
          : method,
    result: (result: string) => t(`account.activity.results.${result}`),
  };
}

/** Resolves once the response can take more, or has closed (the download was abandoned). */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Bytes gathered before each write: fewer, larger writes for a file of millions of lines. */
const chunkSize = 64 * 1024;

/**
 * The records as CSV, streamed: a batch is read from the database only when the connection has
 * taken the previous ones, so memory stays the same for any number of records, and a download
 * the browser abandons stops the reads.
 */
async function sendCsv(
  res: Response,
  records: AsyncIterable<AuditRecord>,
  t: (key: string) => string,
): Promise<void> {
  const name = labels(t);
  const columns = [
    'id',
    'time',
    'type',
    'event',
    'result',
    'reason',
    'userId',
    'username',
    'displayName',
    'email',
    'phone',
    'device',
    'method',
    'serverName',
    'serverIp',
    'clientIp',
    'admin',
    'adminId',
  ];
  // A byte order mark, so that Excel reads UTF-8 (names, French and Dutch headers).
  let chunk = `\uFEFF${csvLine(columns.map((column) => t(`adminReports.csv.${column}`)))}`;
  for await (const r of records) {
    if (res.destroyed) return;
    chunk += csvLine([
      r.id,
      new Date(r.time).toISOString(),
      r.type,
      name.event(r.type),
      name.result(r.result),
      r.reason,
      r.userId,
      r.username,
      r.displayName,
      r.email,
      r.phone,
      r.device,
      name.method(r.method),
      r.serverName,
      r.serverIp,
      r.clientIp,
      r.adminUsername,
      r.adminId,
    ]);
    if (chunk.length >= chunkSize) {
      const more = res.write(chunk);
      chunk = '';
      if (!more) await drained(res);
    }
  }
  if (!res.destroyed) res.end(chunk);
}

/**
 * SPEC A4: reports and the audit trail. The journey lets only a signed-in administrator into
 * /admin; these pages need "view reports", and a scoped administrator reads the records of the
 * users of its groups only (the core decides: src/core/service/reports.ts). Both are GET forms
 * and write nothing.
 */
export function adminReportRoutes(services: Services): Router {
  const { reports, administration } = services.mfa;
  const timeZone = services.config.TIME_ZONE;
  const router = Router();

  async function renderReports(
    req: Request,
    res: Response,
    filter: ReturnType<typeof readFilter>,
  ): Promise<void> {
    const context = adminContextOf(res);
    const { typed, input, errors } = filter;
    // The summary first: without "view reports" the page is refused before anything else.
    const summary = await reports.summary(context);
    const before = readCursor(req.query.before);
    const after = before ? undefined : readCursor(req.query.after);
    const page = errors.length
      ? { records: [], older: null, newer: null }
      : await reports.auditPage(context, {
          query: input,
          ...(before ? { before } : {}),
          ...(after ? { after } : {}),
        });
    const scope = await administration.scope(context, { permission: 'view-reports' });
    const link = (extra: Record<string, string> = {}) =>
      res.locals.url(`/admin/reports${queryOf(typed, extra)}`);
    res.status(errors.length ? 400 : 200).render('pages/admin/reports/index', {
      summary,
      groups: scope.all ? [] : scope.groups,
      typed,
      errors,
      categories: auditCategories,
      results: auditResults,
      timeZone: timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone,
      page,
      paged: before !== undefined || after !== undefined,
      newestLink: link(),
      newerLink: page.newer ? link({ after: writeCursor(page.newer) }) : '',
      olderLink: page.older ? link({ before: writeCursor(page.older) }) : '',
      exportLink: res.locals.url(`/admin/reports/audit.csv${queryOf(typed)}`),
      name: labels(res.locals.t),
      formatTime: dateFormat(res.locals.lng, 'dateTime', timeZone),
    });
  }

  // Signed-in administrator with "view reports" (records: only of the groups it covers); dates
  // are days in TIME_ZONE. Writes nothing.
  router.get('/admin/reports', async (req, res) => {
    await renderReports(req, res, readFilter(req.query, timeZone));
  });

  // Signed-in administrator with "view reports", as the page: the filter's records as CSV, any
  // number of them, headers in the administrator's language. Writes nothing.
  router.get('/admin/reports/audit.csv', async (req, res) => {
    const filter = readFilter(req.query, timeZone);
    if (filter.errors.length) {
      await renderReports(req, res, filter);
      return;
    }
    const records = await reports.exportAudit(adminContextOf(res), { query: filter.input });
    const day = new Date().toISOString().slice(0, 10);
    res.set({
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${res.locals.t('adminReports.csv.file')}-${day}.csv"`,
      'Cache-Control': 'no-store',
    });
    await sendCsv(res, records, res.locals.t);
  });

  return router;
}
