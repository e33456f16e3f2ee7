import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieAccessInfo } from 'cookiejar';
import { createTestPortal, csrfTokenFrom, headingOf, type TestPortal } from '../helpers/app.ts';
import { accountPassword, createAppUser, signInWithoutProof } from '../helpers/account.ts';
import { notAllowedHeading, sendAdminForm, signedInAdministrator } from '../helpers/admin.ts';
import { cliContext } from '../helpers/context.ts';
import { startSmtpServer } from '../helpers/smtp.ts';

/*
 * Issue 13, SPEC A2: the console's import page (a preview that saves nothing, then the
 * confirmation of that very file), the user form's tags and default method, and the invitation
 * with a new initial PIN (SPEC M5), over real SMTP, with the logs written to files and read back.
 */

type Agent = ReturnType<typeof supertest.agent>;

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '../fixtures/import', name), 'utf8');
const logDirectory = mkdtempSync(join(tmpdir(), 'mfa-import-logs-'));
const logs = () =>
  readdirSync(logDirectory)
    .map((file) => readFileSync(join(logDirectory, file), 'utf8'))
    .join('');

let portal: TestPortal;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let root: { id: string; agent: Agent };
let sales: { id: string; agent: Agent };
let viewer: { id: string; agent: Agent };

beforeAll(async () => {
  smtp = await startSmtpServer();
  portal = await createTestPortal({
    ...smtp.config,
    PORTAL_URL: 'https://mfa.example.test',
    LOG_LEVEL: 'debug',
    LOG_FILE_DIRECTORY: logDirectory,
  });
  root = await signedInAdministrator(portal, 'root', [
    ['view-users', null],
    ['import-users', null],
    ['edit-users', null],
    ['add-users', null],
    ['reset-pin', null],
  ]);
  sales = await signedInAdministrator(portal, 'sally', [
    ['view-users', 'sales'],
    ['import-users', 'sales'],
  ]);
  viewer = await signedInAdministrator(portal, 'vera', [['view-users', null]]);
});
afterAll(async () => {
  await portal.close();
  await smtp.close();
});

const db = () => portal.services.database.db;
const usernames = async () =>
  (await db().selectFrom('users').select('username').orderBy('username').execute()).map(
    (u) => u.username,
  );

/** The import form sent as a browser sends it: multipart, with the page's CSRF token. */
async function upload(agent: Agent, fields: Record<string, string>, file: string | Buffer) {
  const token = csrfTokenFrom((await agent.get('/admin/import').expect(200)).text);
  let request = agent.post('/admin/import').field('_csrf', token);
  for (const [name, value] of Object.entries(fields)) request = request.field(name, value);
  return request.attach('file', Buffer.from(file), 'upload.csv').redirects(0);
}

const previewIdOf = (html: string) => /name="id" value="([^"]+)"/.exec(html)?.[1] ?? '';

/** The cookies the agent would send, as a Cookie header. */
const cookiesOf = (agent: Agent) =>
  (
    agent as unknown as { jar: { getCookies(a: CookieAccessInfo): { toValueString(): string } } }
  ).jar
    .getCookies(CookieAccessInfo.All)
    .toValueString();

/**
 * Starts a 5 MB upload to /admin/import with the session's cookies and CSRF token, sends its
 * first kilobyte only, and resolves with the status the portal answers before the rest comes,
 * or null when it waits for the rest (it is reading the body).
 */
async function answerBeforeBody(agent: Agent, csrfPage: string): Promise<number | null> {
  const token = csrfTokenFrom((await agent.get(csrfPage)).text);
  const server = portal.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const boundary = 'attack2boundary';
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nusers\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="u.csv"\r\n` +
    `Content-Type: text/csv\r\n\r\nusername\r\n${'a'.repeat(1024)}`;
  try {
    return await new Promise<number | null>((resolve, reject) => {
      const request = httpRequest({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        method: 'POST',
        path: '/admin/import',
        headers: {
          cookie: cookiesOf(agent),
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(5 * 1024 * 1024),
        },
      });
      const waited = setTimeout(() => {
        request.destroy();
        resolve(null);
      }, 1500);
      request.on('response', (response) => {
        clearTimeout(waited);
        response.resume();
        request.destroy();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', (error) => {
        if (!request.destroyed) reject(error);
      });
      request.write(head);
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('the import page (issue 13, SPEC A2)', () => {
  it("previews MFA Server's export without saving anything, then saves exactly that preview, audited", async () => {
    const before = await usernames();
    const preview = await upload(root.agent, { kind: 'users' }, fixture('mfa-server-users.csv'));
    expect(preview.status).toBe(200);
    expect(headingOf(preview.text)).toBe('Check the import');
    expect(preview.text).toContain('contoso\\jsmith');
    expect(preview.text).toMatch(/<td>\d+<\/td>\s*<td>contoso\\noname<\/td>\s*<td>Add<\/td>/);
    expect(await usernames()).toEqual(before);
    const shown = [
      ...preview.text.matchAll(/<td>(\d+)<\/td>\s*<td>([^<]*)<\/td>\s*<td>Add<\/td>/g),
    ].map((m) => m[2]);

    const saved = await sendAdminForm(root.agent, '/admin/import/confirm', {
      id: previewIdOf(preview.text),
    });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toMatch(
      /^\/admin\/import\?add=\d+&update=0&unchanged=0&refuse=\d+$/,
    );
    expect((await usernames()).filter((u) => !before.includes(u)).sort()).toEqual(shown.sort());
    const jsmith = await portal.services.users.findByUsername('contoso\\jsmith');
    expect(jsmith).toMatchObject({ phone: '+14255550100', user_group: 'Sales' });
    const audit = await db()
      .selectFrom('audit_events')
      .select(['type', 'admin_id', 'reason'])
      .where('user_id', '=', jsmith?.id ?? '')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ type: 'user.created', admin_id: root.id });
    expect(audit[0]?.reason).toMatch(/^imported from line \d+$/);
    const done = await root.agent.get(saved.headers.location ?? '').expect(200);
    expect(done.text).toContain('The import is saved');

    // The same preview saves once only.
    const again = await sendAdminForm(root.agent, '/admin/import/confirm', {
      id: previewIdOf(preview.text),
    });
    expect(again.status).toBe(409);
    expect(again.text).toContain('That preview has expired or was saved already');
  });

  it('shows each refused line with its line number and reason, and saves none of them', async () => {
    const file =
      'username,phone,email\r\nok.user,+31612345678,\r\nbad.phone,12,\r\nbad.mail,,nope\r\n';
    const preview = await upload(root.agent, { kind: 'users' }, file);
    expect(preview.text).toMatch(
      /<td>3<\/td>\s*<td>bad\.phone<\/td>\s*<td>Refused<\/td>\s*<td><span lang="en">12: no country code<\/span>/,
    );
    expect(preview.text).toMatch(
      /<td>4<\/td>\s*<td>bad\.mail<\/td>\s*<td>Refused<\/td>\s*<td><span lang="en">nope: not an email address<\/span>/,
    );
    await sendAdminForm(
      root.agent,
      '/admin/import/confirm',
      { id: previewIdOf(preview.text) },
      303,
    );
    const names = await usernames();
    expect(names).toContain('ok.user');
    expect(names).not.toContain('bad.phone');
    expect(names).not.toContain('bad.mail');
  });

  it('refuses a file over 10 MB with its own page, keeping nothing', async () => {
    const big = `username\r\n${'a'.repeat(80)}\r\n`.repeat(130_000);
    expect(big.length).toBeGreaterThan(10 * 1024 * 1024);
    const response = await upload(root.agent, { kind: 'users' }, big);
    expect(response.status).toBe(413);
    expect(headingOf(response.text)).toBe('The file is too large');
    expect(await db().selectFrom('import_previews').selectAll().execute()).toEqual([]);
  });

  it('refuses an administrator without "import users" with the 403 page, changing nothing', async () => {
    const page = await viewer.agent.get('/admin/import');
    expect(page.status).toBe(403);
    expect(headingOf(page.text)).toBe(notAllowedHeading);
    const token = csrfTokenFrom((await viewer.agent.get('/admin').expect(200)).text);
    const before = await usernames();
    const posted = await viewer.agent
      .post('/admin/import')
      .field('_csrf', token)
      .field('kind', 'users')
      .attach('file', Buffer.from('username\r\nsneaky\r\n'), 'u.csv');
    expect(posted.status).toBe(403);
    expect(headingOf(posted.text)).toBe(notAllowedHeading);
    expect(await usernames()).toEqual(before);
    expect(await db().selectFrom('import_previews').selectAll().execute()).toEqual([]);
  });

  it('reads an upload only for an administrator who may import: anyone else is refused before the body', async () => {
    await createAppUser(portal.services, 'ursula', accountPassword);
    const user = await signInWithoutProof(portal, 'ursula');
    expect(await answerBeforeBody(user, '/account')).toBe(403);
    expect(await answerBeforeBody(viewer.agent, '/admin')).toBe(403);
    // The same request from an administrator who may import is read to its end.
    expect(await answerBeforeBody(root.agent, '/admin/import')).toBeNull();
    expect(await db().selectFrom('import_previews').selectAll().execute()).toEqual([]);
  });

  it('refuses a multipart field the form does not have, __proto__ too, saving nothing', async () => {
    for (const name of ['extra', '__proto__']) {
      const token = csrfTokenFrom((await root.agent.get('/admin/import').expect(200)).text);
      const posted = await root.agent
        .post('/admin/import')
        .field('_csrf', token)
        .field('kind', 'users')
        .field(name, 'x')
        .field(name, 'y')
        .attach('file', Buffer.from('username\r\nproto.user\r\n'), 'u.csv')
        .redirects(0);
      expect(posted.status, name).toBe(400);
    }
    expect(await db().selectFrom('import_previews').selectAll().execute()).toEqual([]);
  });

  it('reads multipart on the import page alone: elsewhere it carries no CSRF token and no form', async () => {
    const token = csrfTokenFrom((await root.agent.get('/admin').expect(200)).text);
    const settings = await db().selectFrom('settings').selectAll().execute();
    for (const path of ['/admin/settings/sign-in', '/ADMIN/IMPORT', '/admin/import/']) {
      const posted = await root.agent
        .post(path)
        .field('_csrf', token)
        .field('kind', 'users')
        .field('allowUserLogin', 'false')
        .attach('file', Buffer.from(`username\r\n${'b'.repeat(20_000)}\r\n`), 'u.csv')
        .redirects(0);
      expect(posted.status, path).toBe(403);
    }
    expect(await db().selectFrom('settings').selectAll().execute()).toEqual(settings);
  });

  it("imports a scoped administrator's groups only, refuses tokens, and lets no one else confirm", async () => {
    const file = 'username,group\r\nsam.sales,sales\r\nsue.support,support\r\n';
    const preview = await upload(sales.agent, { kind: 'users' }, file);
    expect(preview.text).toContain('outside the groups you may import users into');
    const id = previewIdOf(preview.text);
    // Another administrator cannot save it, even one who could import those users.
    const stolen = await sendAdminForm(root.agent, '/admin/import/confirm', { id });
    expect(stolen.status).toBe(409);
    // Its own administrator still can.
    await sendAdminForm(sales.agent, '/admin/import/confirm', { id }, 303);
    const names = await usernames();
    expect(names).toContain('sam.sales');
    expect(names).not.toContain('sue.support');

    const page = await sales.agent.get('/admin/import').expect(200);
    expect(page.text).not.toContain('value="tokens"');
    const tokens = await upload(sales.agent, { kind: 'tokens' }, fixture('seeds-vendor.csv'));
    expect(tokens.status).toBe(403);
    expect(await db().selectFrom('imported_tokens').selectAll().execute()).toEqual([]);
  });

  it('saves nothing when the file would now do something else, and shows the new preview', async () => {
    const preview = await upload(
      root.agent,
      { kind: 'users' },
      'username,email\r\nlate.comer,a@example.org\r\n',
    );
    expect(preview.text).toMatch(/<td>late\.comer<\/td>\s*<td>Add<\/td>/);
    await portal.services.mfa.administration.addUser(cliContext, {
      username: 'late.comer',
      displayName: '',
    });
    const confirmed = await sendAdminForm(root.agent, '/admin/import/confirm', {
      id: previewIdOf(preview.text),
    });
    expect(confirmed.status).toBe(409);
    expect(confirmed.text).toContain('Since the preview, this file would do something else');
    expect(confirmed.text).toMatch(/<td>late\.comer<\/td>\s*<td>Update<\/td>/);
    const user = await portal.services.users.findByUsername('late.comer');
    expect(user?.email).toBeNull();
  });

  it("derives a PSKC password's key without stopping the portal for other requests", async () => {
    // The most PBKDF2 rounds a file may ask for: a second or more, even on a fast machine.
    const slow = fixture('rfc6030-figure7.pskc.xml').replace(
      '<IterationCount>1000</IterationCount>',
      '<IterationCount>10000000</IterationCount>',
    );
    const previews = await db().selectFrom('import_previews').selectAll().execute();
    let last = performance.now();
    let longest = 0;
    const ticks = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 10);
    const started = performance.now();
    try {
      const read = await upload(root.agent, { kind: 'tokens', password: 'qwerty', key: '' }, slow);
      // The file's MAC was made with the key of 1000 rounds: this one does not open it.
      expect(read.status).toBe(400);
    } finally {
      clearInterval(ticks);
    }
    // Derived on the main thread, the longest pause would be the whole derivation.
    const took = performance.now() - started;
    expect(took).toBeGreaterThan(300);
    expect(longest).toBeLessThan(Math.min(500, took / 2));
    expect(await db().selectFrom('import_previews').selectAll().execute()).toEqual(previews);
  });

  it('imports a PSKC file with its password, showing and logging neither the password nor a seed', async () => {
    const password = 'qwerty';
    const wrong = await upload(
      root.agent,
      { kind: 'tokens', password: 'azerty', key: '' },
      fixture('rfc6030-figure7.pskc.xml'),
    );
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('the password or key is wrong');
    const preview = await upload(
      root.agent,
      { kind: 'tokens', password, key: '' },
      fixture('rfc6030-figure7.pskc.xml'),
    );
    expect(preview.text).toMatch(/<td>987654321<\/td>\s*<td>Add<\/td>/);
    const stored = await db().selectFrom('import_previews').select(['sealed', 'preview']).execute();
    expect(JSON.stringify(stored)).not.toContain(password);
    await sendAdminForm(
      root.agent,
      '/admin/import/confirm',
      { id: previewIdOf(preview.text) },
      303,
    );
    const token = await db().selectFrom('imported_tokens').selectAll().executeTakeFirstOrThrow();
    expect(token).toMatchObject({ serial: '987654321', imported_by: root.id });
    const secret = Buffer.from('12345678901234567890');
    for (const text of [preview.text, logs()]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(secret.toString('hex'));
      expect(text).not.toContain(secret.toString('base64'));
    }
  });
});

describe('the user form and the invitation (SPEC A2, M5)', () => {
  it('saves tags and a default method, audited, and finds the user by a tag', async () => {
    const added = await portal.services.mfa.administration.addUser(cliContext, {
      username: 'tina',
      displayName: 'Tina',
      phone: '+31201234567',
    });
    if (added.outcome !== 'created') throw new Error('not added');
    const id = added.account.id;
    const form = await root.agent.get(`/admin/users/${id}/edit`).expect(200);
    expect(form.text).toContain('name="tags"');
    expect(form.text).toMatch(/<option value="nl" lang="nl"/);
    const fields = {
      displayName: 'Tina',
      email: '',
      group: '',
      tags: ' Site-A, helpdesk ,site-a',
      language: '',
      phone: '+31201234567',
      phoneExtension: '',
      backupPhone: '',
      backupExtension: '',
      mobilePhone: '',
      defaultMethod: 'phone',
    };
    const bad = await sendAdminForm(
      root.agent,
      `/admin/users/${id}/edit`,
      { ...fields, tags: 'a*b' },
      400,
    );
    expect(bad.text).toContain('value="a*b"');
    await sendAdminForm(root.agent, `/admin/users/${id}/edit`, fields, 303);
    const row = await portal.services.users.findById(id);
    expect(row).toMatchObject({ tags: ',site-a,helpdesk,', default_method: 'phone' });
    const audit = await db()
      .selectFrom('audit_events')
      .select(['reason', 'admin_id'])
      .where('user_id', '=', id)
      .where('type', '=', 'user.updated')
      .execute();
    // The form sends every field: the record names them all, the tags and method among them.
    expect(audit).toHaveLength(1);
    expect(audit[0]?.admin_id).toBe(root.id);
    expect(audit[0]?.reason).toMatch(/default_method, .*tags/);
    const found = await root.agent.get('/admin/users?tag=helpdesk').expect(200);
    expect(found.text).toContain('>tina<');
    const wildcard = await root.agent.get('/admin/users?tag=site*').expect(200);
    expect(wildcard.text).toContain('>tina<');
    const none = await root.agent.get('/admin/users?tag=site').expect(200);
    expect(none.text).not.toContain('>tina<');
    const page = await root.agent.get(`/admin/users/${id}`).expect(200);
    expect(page.text).toContain('site-a, helpdesk');
    expect(page.text).toContain('<h2>Methods</h2>');
  });

  it('sends an invitation with a new initial PIN: shown once, in the email, change required, never logged', async () => {
    await portal.services.settings.write('phoneMode', 'pin');
    // Ten random digits, so that "never logged" cannot fail on a timestamp that holds them.
    await portal.services.settings.write('pinMinLength', 10);
    const added = await portal.services.mfa.administration.addUser(cliContext, {
      username: 'ivan',
      displayName: 'Ivan',
      email: 'ivan@example.org',
      phone: '+31201234568',
    });
    if (added.outcome !== 'created') throw new Error('not added');
    const id = added.account.id;
    const page = await root.agent.get(`/admin/users/${id}`).expect(200);
    expect(page.text).toContain('Include a new initial PIN');
    const response = await sendAdminForm(
      root.agent,
      `/admin/users/${id}/invite`,
      { pin: 'new' },
      200,
    );
    expect(response.headers['cache-control']).toContain('no-store');
    const pin = /<code class="secret">(\d+)<\/code>/.exec(response.text)?.[1] ?? '';
    expect(pin).toMatch(/^\d{10}$/);
    const mails = smtp.received.filter((m) => m.to.includes('ivan@example.org'));
    expect(mails).toHaveLength(1);
    expect(mails[0]?.text).toContain(`Your first PIN is ${pin}.`);
    const row = await portal.services.users.findById(id);
    expect(row?.pin_change_required).toBe(1);
    expect(row?.pin_hash).not.toBeNull();
    const audit = await db()
      .selectFrom('audit_events')
      .select(['type', 'reason', 'admin_id'])
      .where('user_id', '=', id)
      .where('type', 'in', ['change.pin', 'user.invited'])
      .orderBy('type')
      .execute();
    expect(audit).toEqual([
      {
        type: 'change.pin',
        reason: `initial PIN for the invitation, by admin ${root.id}`,
        admin_id: root.id,
      },
      {
        type: 'user.invited',
        reason: `with an initial PIN, by admin ${root.id}`,
        admin_id: root.id,
      },
    ]);
    expect(logs()).toContain('/invite');
    expect(logs()).not.toContain(pin);
  });
});
