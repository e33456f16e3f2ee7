import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPermissions } from '../../src/core/administrators.ts';
import { parseCsv } from '../../src/core/csv.ts';
import { auditPageSize } from '../../src/core/service/reports.ts';
import type { NewAuditEvent } from '../../src/data/audit-repository.ts';
import { accountPassword } from '../helpers/account.ts';
import { notAllowedHeading, signedInAdministrator } from '../helpers/admin.ts';
import { createTestPortal, headingOf, type TestPortal } from '../helpers/app.ts';
import { cliContext } from '../helpers/context.ts';

/*
 * SPEC A4: the reports page and its CSV export, on the real portal and database (SQLite, and
 * PostgreSQL in the postgres project): filters, a scoped administrator's records, paging by
 * keyset, the summary counts, the CSV's content and its defused formulas, and the 403.
 */

type Agent = ReturnType<typeof supertest.agent>;

let portal: TestPortal;
const ids: Record<string, string> = {};
let root: Agent;
let scoped: Agent;
let plain: Agent;

/** 2026-11-10 12:00 UTC, and whole hours around it. */
const noon = Date.UTC(2026, 10, 10, 12);
const hour = 3600_000;

async function target(username: string, group: string | null, displayName = 'Test User') {
  const created = await portal.services.mfa.administration.createUser(cliContext, {
    username,
    displayName,
    email: `${username}@example.org`,
    password: accountPassword,
    role: 'user',
    group,
  });
  if (created.outcome !== 'created') throw new Error('not created');
  ids[username] = created.account.id;
}

/** An audit record of a user (by username) or of no one, at a time. */
async function record(
  username: string | null,
  fields: Partial<NewAuditEvent> & Pick<NewAuditEvent, 'type'>,
  time: number,
) {
  await portal.services.audit.record(
    {
      result: 'success',
      reason: null,
      user_id: username === null ? null : (ids[username] ?? null),
      username,
      display_name: null,
      email: null,
      phone: null,
      device: null,
      method: null,
      client_ip: '192.0.2.7',
      admin_id: null,
      ...fields,
    },
    time,
  );
}

/** The record ids a report page lists, in its order. */
const recordIds = (html: string) =>
  [...html.matchAll(/<td><code>([0-9a-f-]{36})<\/code><\/td>/g)].map((m) => m[1]);

async function auditCount(): Promise<number> {
  const { db } = portal.services.database;
  const row = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

beforeAll(async () => {
  portal = await createTestPortal({ TIME_ZONE: 'Europe/Amsterdam' });
  const rootAdmin = await signedInAdministrator(
    portal,
    'root',
    adminPermissions.map((permission) => [permission, null]),
  );
  root = rootAdmin.agent;
  ids.root = rootAdmin.id;
  const scopedAdmin = await signedInAdministrator(portal, 'sven', [
    ['view-reports', 'sales'],
    ['view-users', 'sales'],
  ]);
  scoped = scopedAdmin.agent;
  ids.sven = scopedAdmin.id;
  plain = (await signedInAdministrator(portal, 'paula', [['view-users', null]])).agent;
  await target('sara', 'sales', 'Sara Sales');
  await target('henk', 'hr', 'Henk HR');
  await target('sam', 'sales', '=HYPERLINK("http://evil.example","open")');

  await record('sara', { type: 'sign-in.password', method: 'password' }, noon - 3 * hour);
  await record(
    'sara',
    { type: 'sign-in.second-step', result: 'failure', reason: 'wrong-code', method: 'app' },
    noon - 2 * hour,
  );
  await record('henk', { type: 'sign-in.password', method: 'password' }, noon - hour);
  await record(
    'henk',
    { type: 'fraud-alert', result: 'failure', phone: '+31612345678', method: 'phone' },
    Date.now() - 2 * 24 * hour,
  );
  await record('sara', { type: 'change.pin', admin_id: rootAdmin.id }, noon + hour);
  await record(null, { type: 'settings.changed', reason: 'lockoutThreshold: 5 → 6' }, noon + hour);
  await record('nobody', { type: 'sign-in.password', result: 'failure' }, noon + 2 * hour);
  await record(
    'sam',
    {
      type: 'change.phone',
      display_name: '=HYPERLINK("http://evil.example","open")',
      reason: '+cmd|" /C calc"!A0',
      device: '@SUM(1+1)',
      email: '-2+3@example.org',
      client_ip: '\t=1+1',
    },
    noon + 3 * hour,
  );
  // Either side of midnight in Amsterdam, where 10 November begins at 23:00 UTC.
  await record('tz', { type: 'sign-in.password' }, Date.UTC(2026, 10, 9, 22, 30));
  await record('tz', { type: 'sign-in.password' }, Date.UTC(2026, 10, 9, 23, 30));
});
afterAll(async () => {
  await portal.close();
});

describe('reports and audit trail: who may see them (SPEC A1, A4)', () => {
  it('links the page from /admin only for an administrator who holds "view reports"', async () => {
    expect((await root.get('/admin').expect(200)).text).toContain('href="/admin/reports"');
    expect((await scoped.get('/admin').expect(200)).text).toContain('href="/admin/reports"');
    expect((await plain.get('/admin').expect(200)).text).not.toContain('href="/admin/reports"');
    const page = await root.get('/admin/reports').expect(200);
    expect(headingOf(page.text)).toBe('Reports and audit trail');
  });

  it('refuses an administrator without it, page and export, in their language, writing nothing', async () => {
    const before = await auditCount();
    const page = await plain.get('/admin/reports').expect(403);
    expect(headingOf(page.text)).toBe(notAllowedHeading);
    const csv = await plain.get('/admin/reports/audit.csv?category=sign-ins').expect(403);
    expect(csv.headers['content-type']).toMatch(/^text\/html/);
    expect(csv.text).not.toContain('sign-in.password');
    const dutch = await plain.get('/admin/reports?lng=nl').expect(403);
    expect(headingOf(dutch.text)).toBe('U hebt geen toegang tot deze pagina');
    expect(await auditCount()).toBe(before);
  });

  it('shows a scoped administrator the records of its groups only, in pages and export', async () => {
    const day = '/admin/reports?from=2026-11-10&until=2026-11-10';
    const page = await scoped.get(day).expect(200);
    expect(page.text).toContain('sara');
    expect(page.text).not.toContain('henk');
    expect(page.text).not.toContain('lockoutThreshold');
    expect(page.text).not.toContain('nobody');
    expect(page.text).toContain('sales');
    const everything = await root.get(day).expect(200);
    for (const text of ['henk', 'lockoutThreshold', 'nobody', 'sara']) {
      expect(everything.text).toContain(text);
    }
    const csv = parseCsv((await scoped.get('/admin/reports/audit.csv').expect(200)).text);
    const usernames = new Set(csv.slice(1).map((r) => r.fields[7]));
    expect(usernames).toEqual(new Set(['sara', 'sam']));
    // Filtering by someone outside the groups finds nothing rather than their records.
    expect(recordIds((await scoped.get('/admin/reports?username=henk').expect(200)).text)).toEqual(
      [],
    );
  });
});

describe('reports and audit trail: the summary and the filters (SPEC A4)', () => {
  it('counts users with no method, locked, with a bypass waiting, and fraud reports of 7 days', async () => {
    const { db } = portal.services.database;
    await db
      .updateTable('users')
      .set({ locked_until: Date.now() + 600_000 })
      .where('id', 'in', [ids.sara ?? '', ids.henk ?? ''])
      .execute();
    await portal.services.mfa.administration.issueBypass(cliContext, {
      userId: ids.sam ?? '',
      seconds: 600,
      reason: 'phone lost',
    });
    // An older fraud report does not count.
    await record('sara', { type: 'fraud-alert', result: 'failure' }, Date.now() - 8 * 24 * hour);
    const counts = async (agent: Agent) => {
      const page = await agent.get('/admin/reports').expect(200);
      return [...page.text.matchAll(/<dt>([^<]+)<\/dt><dd>(\d+)<\/dd>/g)].map(
        (m) => `${m[1] ?? ''}: ${m[2] ?? ''}`,
      );
    };
    // The administrators have the mobile app; the three users have no method.
    expect(await counts(root)).toEqual([
      'Users with no method yet: 3',
      'Locked users: 2',
      'Users with a one-time bypass waiting: 1',
      'Fraud reports in the last 7 days: 1',
    ]);
    expect(await counts(scoped)).toEqual([
      'Users with no method yet: 2',
      'Locked users: 1',
      'Users with a one-time bypass waiting: 1',
      'Fraud reports in the last 7 days: 0',
    ]);
  });

  it('filters by user, kind, result, dates in the portal time zone and acting administrator', async () => {
    const count = async (query: string) => {
      const page = await root.get(`/admin/reports?${query}`).expect(200);
      return recordIds(page.text).length;
    };
    const expected: [string, number][] = [
      // Her account's creation and an older fraud report are records of hers too.
      ['username=SARA', 5],
      ['username=sara&category=sign-ins', 2],
      ['username=sara&category=sign-ins&result=failure', 1],
      ['category=fraud-alerts', 2],
      ['category=admin-actions', 1],
      ['admin=root', 1],
      ['admin=nobody-at-all', 0],
      ['category=changes&username=sam', 2],
      // 10 November in Amsterdam is 23:00 UTC on the 9th until 23:00 UTC on the 10th.
      ['from=2026-11-10&until=2026-11-10', 8],
      ['username=tz&from=2026-11-10', 1],
      ['username=tz&until=2026-11-09', 1],
      ['until=2026-11-09', 1],
    ];
    for (const [query, records] of expected) expect(await count(query), query).toBe(records);
    const day = await root.get('/admin/reports?from=2026-11-10&until=2026-11-10&result=failure');
    expect(day.text).toContain('wrong-code');
    expect(day.text).toContain('nobody');
    expect(day.text).not.toContain('Sara Sales');
    // The phone is masked, whatever the record held.
    const fraud = await root.get('/admin/reports?category=fraud-alerts').expect(200);
    expect(fraud.text).toContain('+31 ••• 78');
    expect(fraud.text).not.toContain('+31612345678');
  });

  it('re-renders a wrong filter with 400, an error summary and the values kept', async () => {
    const wrong = await root
      .get('/admin/reports?from=2026-02-30&until=yesterday&category=gossip&username=sa%01ra')
      .expect(400);
    expect(wrong.text).toContain('class="error-summary"');
    for (const field of ['from', 'until', 'category', 'username']) {
      expect(wrong.text).toContain(`href="#${field}"`);
    }
    expect(wrong.text).toContain('value="2026-02-30"');
    expect(wrong.text).toContain('<title>Error: Reports and audit trail');
    expect(recordIds(wrong.text)).toEqual([]);
    const backwards = await root.get('/admin/reports?from=2026-11-10&until=2026-11-09').expect(400);
    expect(backwards.text).toContain('Enter an end date on or after the start date');
    const french = await root.get('/admin/reports?result=maybe&lng=fr').expect(400);
    expect(french.text).toContain('Choisissez un résultat dans la liste');
    // A place in the audit only the page's own links send.
    await root.get('/admin/reports?before=yesterday').expect(400);
    await root.get('/admin/reports?category=a&category=b').expect(400);
    await root.get('/admin/reports/audit.csv?from=never').expect(400);
  });
});

describe('reports and audit trail: paging and export (SPEC A4)', () => {
  it('pages by keyset through many records, older and newer, without gaps or repeats', async () => {
    await target('pager', 'paged');
    const base = Date.UTC(2026, 9, 1);
    // Some share a time: the id decides their order.
    const total = 2 * auditPageSize + 7;
    for (let i = 0; i < total; i++) {
      await record('pager', { type: 'sign-in.password' }, base + Math.floor(i / 3) * 1000);
    }
    const seen: string[] = [];
    let path = '/admin/reports?username=pager&category=sign-ins';
    const pages: string[][] = [];
    for (;;) {
      const page = await root.get(path).expect(200);
      const onPage = recordIds(page.text);
      pages.push(onPage.map(String));
      seen.push(...onPage.map(String));
      const older = /<a href="([^"]+)" rel="next">/.exec(page.text)?.[1];
      if (!older) break;
      path = older.replace(/&amp;/g, '&');
    }
    expect(pages.map((p) => p.length)).toEqual([auditPageSize, auditPageSize, 7]);
    expect(new Set(seen).size).toBe(total);
    const { db } = portal.services.database;
    const expected = await db
      .selectFrom('audit_events')
      .select('id')
      .where('username', '=', 'pager')
      .where('type', '=', 'sign-in.password')
      .orderBy('occurred_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    expect(seen).toEqual(expected.map((r) => r.id));
    // From the last page, "newer" goes back to the second.
    const last = await root.get(path).expect(200);
    expect(last.text).toContain('rel="prev"');
    const newer = /<a href="([^"]+)" rel="prev">/.exec(last.text)?.[1] ?? '';
    const second = await root.get(newer.replace(/&amp;/g, '&')).expect(200);
    expect(recordIds(second.text)).toEqual(pages[1]);
    expect(second.text).toContain('rel="next"');
    expect(second.text).toContain('rel="prev"');
    // The first page has neither "newer" nor "newest".
    const first = await root.get('/admin/reports?username=pager&category=sign-ins').expect(200);
    expect(first.text).not.toContain('rel="prev"');
    expect(first.text).toContain(
      'href="/admin/reports?username=pager&amp;category=sign-ins&amp;before=',
    );
  });

  it('exports the filter as CSV, headers in the administrator language, formulas defused', async () => {
    const response = await root
      .get('/admin/reports/audit.csv?username=sam&lng=nl')
      .expect(200)
      .expect('Content-Type', 'text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="auditlogboek-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    expect(response.text.startsWith('\uFEFF')).toBe(true);
    const [header, ...rows] = parseCsv(response.text);
    expect(header?.fields.slice(0, 4)).toEqual([
      'ID van de gebeurtenis',
      'Tijdstip (UTC)',
      'Type',
      'Gebeurtenis',
    ]);
    const bypass = rows.find((r) => r.fields[2] === 'bypass.issued');
    expect(bypass?.fields[3]).toBe('Eenmalige toegang verleend');
    const change = rows.find((r) => r.fields[2] === 'change.phone');
    const fields = change?.fields ?? [];
    expect(fields[1]).toBe(new Date(noon + 3 * hour).toISOString());
    expect(fields[3]).toBe('Telefoonnummers gewijzigd');
    expect(fields[4]).toBe('Gelukt');
    expect(fields[5]).toBe(`'+cmd|" /C calc"!A0`);
    expect(fields[7]).toBe('sam');
    expect(fields[8]).toBe(`'=HYPERLINK("http://evil.example","open")`);
    expect(fields[9]).toBe(`'-2+3@example.org`);
    expect(fields[11]).toBe(`'@SUM(1+1)`);
    expect(fields[15]).toBe(`'\t=1+1`);
    // No field of any line starts a formula.
    for (const row of parseCsv(response.text).slice(1)) {
      for (const field of row.fields) expect(field).not.toMatch(/^[=+\-@\t\r]/);
    }
    const english = await root
      .get('/admin/reports/audit.csv?category=admin-actions&lng=en')
      .expect(200);
    const [englishHeader, ...actions] = parseCsv(english.text);
    expect(englishHeader?.fields[16]).toBe('Acting administrator');
    expect(actions.map((r) => [r.fields[2], r.fields[16]])).toEqual([['change.pin', 'root']]);
  });

  it('streams an export of thousands of records, every one once, newest first', async () => {
    await target('bulk', 'bulk');
    const { db } = portal.services.database;
    const base = Date.UTC(2026, 8, 1);
    const rows = Array.from({ length: 2500 }, (_, i) => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      occurred_at: base + i,
      type: 'sign-in.password',
      result: 'success' as const,
      reason: null,
      user_id: ids.bulk ?? '',
      username: 'bulk',
      display_name: null,
      email: null,
      phone: null,
      device: null,
      method: 'password',
      server_name: 'bench',
      server_ip: null,
      client_ip: null,
      admin_id: null,
    }));
    for (let i = 0; i < rows.length; i += 500) {
      await db
        .insertInto('audit_events')
        .values(rows.slice(i, i + 500))
        .execute();
    }
    const response = await root
      .get('/admin/reports/audit.csv?username=bulk&category=sign-ins')
      .expect(200);
    const records = parseCsv(response.text).slice(1);
    expect(records).toHaveLength(2500);
    expect(records[0]?.fields[0]).toBe(rows.at(-1)?.id);
    expect(records.at(-1)?.fields[0]).toBe(rows[0]?.id);
    expect(new Set(records.map((r) => r.fields[0])).size).toBe(2500);
  });
});
