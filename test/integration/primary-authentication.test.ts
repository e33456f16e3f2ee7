import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccounts } from '../../src/core/accounts.ts';
import type { PrimaryAuthentication } from '../../src/core/primary-authentication.ts';
import { createLockout } from '../../src/core/lockout.ts';
import { createTestPortal, createUser, type TestPortal } from '../helpers/app.ts';
import { visitorContext } from '../helpers/context.ts';

/**
 * SPEC J1 and issue 12: primary authentication is one directory behind a small interface, and
 * the lockout, counters and audit wrap whichever directory is plugged in. A directory of this
 * test's own, answering from a list, shows what every implementation (LDAP, RADIUS, Windows)
 * gets without doing anything itself.
 */
function listedDirectory(passwords: Record<string, string>) {
  const calls = { verify: 0, spend: 0 };
  const directory: PrimaryAuthentication = {
    async find(username) {
      const user = await portal.services.users.findByUsername(username);
      if (!user) return undefined;
      return {
        user,
        async verify(password) {
          calls.verify += 1;
          await new Promise((resolve) => setTimeout(resolve, 5));
          return { ok: passwords[user.username] === password };
        },
        accepted: () => Promise.resolve(user),
      };
    },
    async spend() {
      calls.spend += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    },
  };
  return { directory, calls };
}

let portal: TestPortal;
beforeAll(async () => {
  portal = await createTestPortal();
  await createUser(portal, 'dirk', 'not this one: the directory decides');
});
afterAll(async () => {
  await portal.close();
});

function accountsWith(directory: PrimaryAuthentication) {
  const { users, audit, settings, bypasses, secondFactor, argon2 } = portal.services;
  const lockout = createLockout({ users, settings });
  return createAccounts({
    users,
    audit,
    settings,
    lockout,
    directory,
    bypasses,
    secondFactor,
    argon2,
  });
}

describe('primary authentication behind one interface', () => {
  it('signs in with whatever the directory accepts, and refuses what it does not', async () => {
    const { directory } = listedDirectory({ dirk: 'from the directory' });
    const accounts = accountsWith(directory);
    expect((await accounts.signIn('dirk', 'from the directory', visitorContext)).next).toBe(
      'enrol',
    );
    expect(
      (await accounts.signIn('dirk', 'not this one: the directory decides', visitorContext)).next,
    ).toBe('refused');
  });

  it('asks the directory at most the lockout threshold of times in a race, and never while locked', async () => {
    await portal.services.users.clearFailures(
      (await portal.services.users.findByUsername('dirk'))?.id ?? '',
    );
    const { directory, calls } = listedDirectory({ dirk: 'from the directory' });
    const accounts = accountsWith(directory);
    const steps = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        accounts.signIn('dirk', `wrong ${String(i)}`, visitorContext),
      ),
    );
    expect(steps.every((s) => s.next === 'refused')).toBe(true);
    expect(calls.verify).toBe(5);
    // The other 15 cost the same time without a check.
    expect(calls.spend).toBe(15);
    // Locked: even the right password is not tried, and answers as a wrong one.
    expect((await accounts.signIn('dirk', 'from the directory', visitorContext)).next).toBe(
      'refused',
    );
    expect(calls.verify).toBe(5);
  });

  it('never asks the directory about an unknown user, and still spends the time', async () => {
    const { directory, calls } = listedDirectory({});
    expect((await accountsWith(directory).signIn('nobody', 'anything', visitorContext)).next).toBe(
      'refused',
    );
    expect(calls).toEqual({ verify: 0, spend: 1 });
  });
});
