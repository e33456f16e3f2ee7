import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPermissions } from '../../src/core/administrators.ts';
import { routeAccess } from '../../src/middleware/journey.ts';
import { cliContext } from '../helpers/context.ts';
import {
  accountPassword as password,
  createAppUser,
  signInWithoutProof,
} from '../helpers/account.ts';
import {
  browserAgent,
  createTestPortal,
  createUser,
  csrfTokenFrom,
  signIn,
  type TestPortal,
} from '../helpers/app.ts';
import { appCode, post } from '../helpers/two-step.ts';

type Agent = ReturnType<typeof supertest.agent>;
type State = 'anonymous' | 'second-step' | 'enrolling' | 'signed-in' | 'admin';
const states: readonly State[] = ['anonymous', 'second-step', 'enrolling', 'signed-in', 'admin'];

/**
 * SPEC S10, written out from the specification on its own, not read from the code: which
 * journey state may reach each area of the portal.
 */
const all = states;
const expectedAccess: Record<string, readonly State[]> = {
  '': all,
  'sign-in': all,
  'sign-out': all,
  'not-enrolled': all,
  healthz: all,
  readyz: all,
  simulator: all,
  verify: ['second-step'],
  setup: ['enrolling'],
  account: ['signed-in', 'admin'],
  admin: ['admin'],
};

/** Where a state is sent when it asks for an area it may not reach. */
const refusalOf: Record<State, { status: number; location?: string }> = {
  anonymous: { status: 302, location: '/sign-in' },
  'second-step': { status: 302, location: '/verify' },
  enrolling: { status: 302, location: '/setup' },
  'signed-in': { status: 302, location: '/account' },
  admin: { status: 302, location: '/account' },
};

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  rawPath?: unknown;
}

/** Every route the app answers, read from Express itself so that a new one is walked too. */
function routesOf(stack: Layer[], prefix = ''): { method: string; path: string }[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const { path, methods } = layer.route;
      return Object.keys(methods)
        .filter((m) => m !== '_all')
        .map((method) => ({ method: method.toUpperCase(), path: prefix + path }));
    }
    if (layer.handle.stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      return routesOf(layer.handle.stack, prefix + mount);
    }
    return [];
  });
}

const cookiesOf = (response: { headers: Record<string, unknown> }) =>
  ((response.headers['set-cookie'] ?? []) as string[]).join(';');

const areaOf = (path: string) => path.split('/')[1] ?? '';

/** Everything a request could change, but sessions and the audit trail. */
async function snapshot(portal: TestPortal): Promise<string> {
  const { db } = portal.services.database;
  const tables = await sql<{ name: string }>`
    select name from sqlite_master where type = 'table'
      and name not in ('sessions', 'audit_events') and name not like 'kysely%'
      and name not like 'sqlite%' order by name`.execute(db);
  const rows = await Promise.all(
    tables.rows.map(async ({ name }) => [
      name,
      (await sql`select * from ${sql.table(name)} order by 1`.execute(db)).rows,
    ]),
  );
  return JSON.stringify(rows);
}

let portal: TestPortal;
let routes: { method: string; path: string }[];

/** An agent standing in `state`, and the CSRF token of its session (or cookie). */
async function agentIn(state: State): Promise<{ agent: Agent; token: string }> {
  const agent = browserAgent(portal);
  if (state === 'anonymous') {
    return { agent, token: csrfTokenFrom((await agent.get('/sign-in').expect(200)).text) };
  }
  if (state === 'second-step') {
    expect((await signIn(agent, 'enrolled', password)).headers.location).toBe('/verify');
    return { agent, token: csrfTokenFrom((await agent.get('/verify').expect(200)).text) };
  }
  if (state === 'enrolling') {
    expect((await signIn(agent, 'newcomer', password)).headers.location).toBe('/setup');
    return { agent, token: csrfTokenFrom((await agent.get('/setup').expect(200)).text) };
  }
  const username = state === 'admin' ? 'boss' : 'enrolled';
  const signedIn = await signInWithoutProof(portal, username);
  return {
    agent: signedIn,
    token: csrfTokenFrom((await signedIn.get('/account').expect(200)).text),
  };
}

function request(agent: Agent, route: { method: string; path: string }, token: string) {
  const path = route.path.replace(/:[a-zA-Z]+/g, randomUUID());
  return route.method === 'GET'
    ? agent.get(path).redirects(0)
    : agent.post(path).type('form').send({ _csrf: token }).redirects(0);
}

/** A fresh portal for each group, so that one group's refused forms do not meet the next's limit. */
async function startPortal() {
  portal = await createTestPortal({ SIMULATOR_ENABLED: 'true' });
  await createAppUser(portal.services, 'enrolled', password);
  await createUser(portal, 'newcomer', password);
  await createAppUser(portal.services, 'boss', password);
  const boss = await portal.services.users.findByUsername('boss');
  for (const permission of adminPermissions) {
    await portal.services.mfa.administration.grant(cliContext, {
      userId: boss?.id ?? '',
      permission,
      group: null,
    });
  }
  routes = routesOf((portal.app as unknown as { router: { stack: Layer[] } }).router.stack);
}
beforeAll(startPortal);
afterAll(async () => {
  await portal.close();
});

describe('journey states (SPEC S10)', () => {
  it('knows every route of the app, and names the same states for it as the SPEC', () => {
    expect(routes.length).toBeGreaterThan(40);
    for (const route of routes) {
      expect(routeAccess[areaOf(route.path)], `${route.method} ${route.path}`).toBeDefined();
    }
    for (const [area, audience] of Object.entries(expectedAccess)) {
      const implemented = routeAccess[area] ?? [];
      const asStates = states.filter((s) =>
        s === 'admin'
          ? implemented.includes('admin') || implemented.includes('signed-in')
          : implemented.includes(s),
      );
      expect(asStates, area).toEqual(audience);
    }
  });

  it('walks every route in every state: a state that may not reach it is sent away, and nothing changes', async () => {
    const refused: string[] = [];
    for (const state of states) {
      const { agent, token } = await agentIn(state);
      for (const route of routes) {
        if ((expectedAccess[areaOf(route.path)] ?? []).includes(state)) continue;
        const before = await snapshot(portal);
        const response = await request(agent, route, token);
        const expected = refusalOf[state];
        const label = `${state}: ${route.method} ${route.path}`;
        if (state === 'signed-in' && areaOf(route.path) === 'admin') {
          expect(response.status, label).toBe(403);
          expect(response.text, label).toContain('You do not have access to this page');
        } else {
          expect(response.status === 302 || response.status === 303, label).toBe(true);
          expect(response.headers.location, label).toBe(expected.location);
        }
        expect(await snapshot(portal), label).toBe(before);
        refused.push(label);
      }
    }
    // Each of the five states is refused somewhere.
    expect(new Set(refused.map((r) => r.split(':')[0])).size).toBe(states.length);
  });

  it('lets each state reach its own routes without a server error', async () => {
    for (const state of states) {
      const { agent, token } = await agentIn(state);
      for (const route of routes) {
        if (!(expectedAccess[areaOf(route.path)] ?? []).includes(state)) continue;
        if (route.path === '/sign-out' || route.path === '/sign-in') continue;
        const response = await request(agent, route, token);
        expect(response.status, `${state}: ${route.method} ${route.path}`).toBeLessThan(500);
      }
    }
  });
});

describe('User Setup after the password (SPEC J2, S10)', () => {
  beforeAll(async () => {
    await portal.close();
    await startPortal();
  });
  it('is closed to an enrolled user: no enrolment with the attacker’s own app, no answers overwritten', async () => {
    const agent = browserAgent(portal);
    expect((await signIn(agent, 'enrolled', password)).headers.location).toBe('/verify');
    const before = await snapshot(portal);
    for (const path of ['/setup', '/setup/app', '/setup/token', '/setup/questions']) {
      const response = await agent.get(path).redirects(0);
      expect(response.status, path).toBe(302);
      expect(response.headers.location, path).toBe('/verify');
    }
    const verify = await agent.get('/verify').expect(200);
    for (const path of ['/setup/app/generate', '/setup/app', '/setup/token', '/setup/questions']) {
      const response = await post(agent, path, verify.text, {}).redirects(0);
      expect(response.headers.location, path).toBe('/verify');
    }
    expect((await agent.get('/account').redirects(0)).headers.location).toBe('/verify');
    expect((await agent.get('/admin').redirects(0)).headers.location).toBe('/verify');
    expect(await snapshot(portal)).toBe(before);
  });

  it('closes for a user who enrolled in another tab: the half-done setup cannot add a second way in', async () => {
    await createUser(portal, 'twotabs', password);
    const first = browserAgent(portal);
    const second = browserAgent(portal);
    expect((await signIn(first, 'twotabs', password)).headers.location).toBe('/setup');
    expect((await signIn(second, 'twotabs', password)).headers.location).toBe('/setup');
    const start = await second.get('/setup/app').expect(200);
    await post(second, '/setup/app/generate', start.text, {}).expect(303);

    await portal.services.settings.write('useSecurityQuestions', false);
    try {
      const page = await first.get('/setup/app').expect(200);
      await post(first, '/setup/app/generate', page.text, {}).expect(303);
      const activation = await first.get('/setup/app').expect(200);
      const secret = /<code class="secret">([^<]+)<\/code>/.exec(activation.text)?.[1] ?? '';
      const { decodeBase32 } = await import('../../src/core/otp.ts');
      await post(first, '/setup/app', activation.text, {
        code: appCode(decodeBase32(secret)),
      }).expect(303);
      const response = await second.get('/setup/app').redirects(0);
      expect(response.headers.location).toBe('/verify');
    } finally {
      await portal.services.settings.write('useSecurityQuestions', true);
    }
  });

  it('saves one of several User Setups finished at the same moment, and refuses the others', async () => {
    await createUser(portal, 'threetabs', password);
    const { decodeBase32 } = await import('../../src/core/otp.ts');
    const tabs = await Promise.all(
      [0, 1, 2].map(async () => {
        const agent = browserAgent(portal);
        expect((await signIn(agent, 'threetabs', password)).headers.location).toBe('/setup');
        const page = await agent.get('/setup/app').expect(200);
        await post(agent, '/setup/app/generate', page.text, {}).expect(303);
        const activation = await agent.get('/setup/app').expect(200);
        const secret = /<code class="secret">([^<]+)<\/code>/.exec(activation.text)?.[1] ?? '';
        await post(agent, '/setup/app', activation.text, {
          code: appCode(decodeBase32(secret)),
        }).expect(303);
        return { agent, page: (await agent.get('/setup/questions').expect(200)).text };
      }),
    );
    const ids = [...(tabs[0]?.page ?? '').matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]);
    const fields: Record<string, string> = {};
    ['Rex', 'Utrecht', 'De Regenboog', 'Pieter'].forEach((answer, i) => {
      fields[`question${String(i)}`] = ids[i] ?? '';
      fields[`answer${String(i)}`] = answer;
    });
    const statuses = await Promise.all(
      tabs.map(({ agent, page }) => post(agent, '/setup/questions', page, fields)),
    );
    expect(statuses.map((r) => r.status).sort()).toEqual([303, 409, 409]);
    const user = await portal.services.users.findByUsername('threetabs');
    const devices = await portal.services.devices.forUser(user?.id ?? '');
    expect(devices).toHaveLength(1);
  });

  it('obeys "allow user enrollment": off, no session starts and /setup is closed', async () => {
    await createUser(portal, 'latecomer', password);
    const agent = browserAgent(portal);
    expect((await signIn(agent, 'latecomer', password)).headers.location).toBe('/setup');
    await portal.services.settings.write('allowEnrollment', false);
    try {
      const refused = await agent.get('/setup/app').expect(403);
      expect(refused.text).toContain('Two-step verification is not set up');
      // The session ended: the setup pages stay closed afterwards too.
      expect((await agent.get('/setup/app').redirects(0)).headers.location).toBe('/sign-in');

      const again = browserAgent(portal);
      const response = await signIn(again, 'latecomer', password);
      expect(response.headers.location).toBe('/not-enrolled');
      expect(cookiesOf(response)).not.toContain('mfa.sid');
      expect((await again.get('/setup/app').redirects(0)).headers.location).toBe('/sign-in');
    } finally {
      await portal.services.settings.write('allowEnrollment', true);
    }
  });

  it('lets a user cancel a half-done sign-in from the second step and from User Setup', async () => {
    for (const [username, page] of [
      ['enrolled', '/verify'],
      ['newcomer', '/setup'],
    ] as const) {
      const agent = browserAgent(portal);
      await signIn(agent, username, password);
      const shown = await agent.get(page).expect(200);
      expect(shown.text).toContain('Cancel sign-in');
      const form = /<form method="post" action="\/sign-out"[\s\S]*?<\/form>/.exec(shown.text)?.[0];
      expect(form).toContain('Cancel sign-in');
      await post(agent, '/sign-out', form ?? '', {}).expect(303);
      expect((await agent.get(page).redirects(0)).headers.location).toBe('/sign-in');
    }
  });
});

describe('"Allow users to log in" (SPEC §5)', () => {
  beforeAll(async () => {
    await portal.close();
    await startPortal();
  });
  it('off: users are refused after a right password, administrators still sign in, sessions end', async () => {
    const signedIn = await signInWithoutProof(portal, 'enrolled');
    await portal.services.settings.write('allowUserLogin', false);
    try {
      const refused = await signIn(browserAgent(portal), 'enrolled', password);
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('Signing in to this portal is switched off');
      expect(cookiesOf(refused)).not.toContain('mfa.sid');
      const wrong = await signIn(browserAgent(portal), 'enrolled', 'wrong password');
      expect(wrong.text).not.toContain('switched off');

      const ended = await signedIn.get('/account').expect(403);
      expect(ended.text).toContain('Signing in is switched off');
      expect((await signedIn.get('/account').redirects(0)).headers.location).toBe('/sign-in');

      const admin = await signIn(browserAgent(portal), 'boss', password);
      expect(admin.headers.location).toBe('/verify');
    } finally {
      await portal.services.settings.write('allowUserLogin', true);
    }
  });
});

describe('proving for a change (SPEC J3)', () => {
  beforeAll(async () => {
    await portal.close();
    await startPortal();
  });
  it('sends a signed-in user without a recent proof to prove a factor before any change page', async () => {
    const agent = await signInWithoutProof(portal, 'enrolled');
    const token = csrfTokenFrom((await agent.get('/account').expect(200)).text);
    const changes = routes.filter((r) =>
      /^\/account\/(phone|mobile|devices|token|pin|questions|bypass)(\/|$)/.test(r.path),
    );
    expect(changes.length).toBeGreaterThan(10);
    let confirmations = 0;
    for (const route of changes) {
      const before = await snapshot(portal);
      const response = await request(agent, route, token);
      const label = `${route.method} ${route.path} ${response.status}`;
      // Never a change page or a change: sent to prove a factor, or away when it does not apply.
      expect(response.status, label).toBeGreaterThanOrEqual(300);
      if (response.headers.location === '/account/confirm') confirmations += 1;
      else expect(['/account', undefined], label).toContain(response.headers.location);
      expect(await snapshot(portal), label).toBe(before);
    }
    expect(confirmations).toBeGreaterThan(10);
  });
});
