import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Context } from '../../src/core/context.ts';
import { createTestPortal, type TestPortal } from '../helpers/app.ts';
import {
  accountPassword,
  addDevice,
  devicesOf as devicesOfUser,
  enrolWithApp,
} from '../helpers/account.ts';
import { cliContext } from '../helpers/context.ts';

/*
 * SPEC J3 (finding F1): two removals at once, from two tabs or two instances, each of which alone
 * leaves a way to sign in, must not together remove the last one. The check and the removal run
 * under the user's row lock, so one of them waits, finds the other's removal, and is refused.
 */

let portal: TestPortal;

beforeEach(async () => {
  portal = await createTestPortal();
});
afterEach(async () => {
  await portal.close();
});

const asUser = (userId: string): Context => ({
  actor: { kind: 'user', userId },
  clientIp: '127.0.0.1',
  language: 'en',
});

const devicesOf = (userId: string) => devicesOfUser(portal.services, userId);

/** Both removals at once; returns their outcomes, sorted, and what the user keeps. */
async function raceRemovals(userId: string, deviceIds: [string, string]) {
  const context = asUser(userId);
  const outcomes = await Promise.all(
    deviceIds.map((deviceId) =>
      portal.services.mfa.account.removeDevice(context, { userId, deviceId }),
    ),
  );
  return { outcomes: outcomes.map((o) => o.outcome).sort(), kept: await devicesOf(userId) };
}

describe('two removals at once (SPEC J3, F1)', () => {
  it('keeps one of the last app device and the token', async () => {
    for (let round = 0; round < 5; round++) {
      const { user } = await enrolWithApp(portal.services, `mila${round}`, accountPassword);
      await addDevice(portal.services, user.id, { kind: 'token', name: 'TOK-1' });
      const devices = await devicesOf(user.id);
      const app = devices.find((d) => d.kind === 'app');
      const token = devices.find((d) => d.kind === 'token');
      const { outcomes, kept } = await raceRemovals(user.id, [app?.id ?? '', token?.id ?? '']);
      expect(outcomes).toEqual(['last-method', 'removed']);
      expect(kept).toHaveLength(1);
      const removed = (
        await portal.services.mfa.administration.auditEvents(cliContext, { userId: user.id })
      ).filter((e) => ['device.removed', 'token.removed'].includes(e.type));
      expect(removed).toHaveLength(1);
    }
  });

  it('keeps one of two app devices when they are the only way to sign in', async () => {
    for (let round = 0; round < 5; round++) {
      const { user } = await enrolWithApp(portal.services, `noor${round}`, accountPassword);
      await addDevice(portal.services, user.id, { kind: 'app', name: 'Tablet' });
      const [first, second] = await devicesOf(user.id);
      const { outcomes, kept } = await raceRemovals(user.id, [first?.id ?? '', second?.id ?? '']);
      expect(outcomes).toEqual(['last-method', 'removed']);
      expect(kept).toHaveLength(1);
      expect(
        (
          await portal.services.mfa.signIn.journey(asUser(user.id), {
            userId: undefined,
            pendingUserId: user.id,
          })
        ).stage,
      ).toBe('second-step');
    }
  });
});
