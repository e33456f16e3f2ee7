import type { Context } from '../context.ts';
import { maskPhone } from '../phone-numbers.ts';
import { methodsLeft, nextDefaultMethod, noChannels } from '../method-policy.ts';
import type { Method } from '../settings.ts';
import type { MfaServiceDependencies } from './index.ts';

/** What goes: one app activation or token, or the numbers of a phone method. */
export type Removal = { deviceId: string } | { method: Extract<Method, 'phone' | 'sms'> };

export type RemovalOutcome =
  | { outcome: 'removed'; left: Method[] }
  /** It is the user's last way to sign in that the settings still offer: nothing changed. */
  | { outcome: 'last-method' }
  | { outcome: 'not-found' };

/**
 * Removes one way to sign in only while another stays (SPEC J3): the check and the writes run in
 * one transaction that locks the user's row first, so two removals at once (two tabs, a device
 * and a number) take turns and cannot remove the last two together. A default method that
 * pointed at what went moves to the portal's default when the user keeps it, else to another
 * one they keep. Audited and announced by email after the commit.
 */
export async function removeWayToSignIn(
  deps: MfaServiceDependencies,
  context: Context,
  userId: string,
  removal: Removal,
  /** An administrator may take the last one: the user then sets up a new method (SPEC A2). */
  options: { lastMayGo?: boolean } = {},
): Promise<RemovalOutcome> {
  const { db, settings, changes } = deps;
  const now = deps.now ?? Date.now;
  const policy = await settings.read();
  const telephony = deps.phoneVerification?.channels ?? noChannels;
  const result = await db.transaction().execute(async (trx) => {
    // The row first: on PostgreSQL this locks it until the commit (SQLite has one writer anyway).
    const locked = await trx
      .updateTable('users')
      .set({ updated_at: now() })
      .where('id', '=', userId)
      .executeTakeFirst();
    if (locked.numUpdatedRows === 0n) return undefined;
    const user = await trx
      .selectFrom('users')
      .selectAll()
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    const devices = await trx
      .selectFrom('devices')
      .select(['id', 'kind', 'name', 'serial'])
      .where('user_id', '=', userId)
      .execute();
    const methods: Method[] = [];
    if (user.phone) methods.push('phone');
    if (user.mobile_phone) methods.push('sms');
    if (devices.some((d) => d.kind === 'app')) methods.push('app');
    if (devices.some((d) => d.kind === 'token')) methods.push('token');
    const device = 'deviceId' in removal ? devices.find((d) => d.id === removal.deviceId) : null;
    const gone = device ?? ('method' in removal ? removal.method : undefined);
    if (gone === undefined || (typeof gone === 'string' && !methods.includes(gone))) {
      return { user, outcome: { outcome: 'not-found' } as const };
    }
    const left = methodsLeft({ methods, devices }, policy, telephony, gone);
    if (left.length === 0 && !options.lastMayGo) {
      return { user, outcome: { outcome: 'last-method' } as const };
    }
    const kind = typeof gone === 'string' ? gone : gone.kind;
    if (typeof gone === 'string') {
      await trx
        .updateTable('users')
        .set(
          gone === 'phone'
            ? { phone: null, phone_extension: null, backup_phone: null, backup_extension: null }
            : { mobile_phone: null },
        )
        .where('id', '=', userId)
        .execute();
    } else {
      await trx.deleteFrom('devices').where('id', '=', gone.id).execute();
    }
    if (user.default_method === kind && !left.includes(kind)) {
      await trx
        .updateTable('users')
        .set({ default_method: nextDefaultMethod(left, policy) ?? null })
        .where('id', '=', userId)
        .execute();
    }
    return { user, outcome: { outcome: 'removed', left } as const, gone };
  });
  if (!result) return { outcome: 'not-found' };
  if (result.outcome.outcome === 'removed' && result.gone !== undefined) {
    const { gone } = result;
    await changes.record(
      result.user,
      typeof gone === 'string'
        ? {
            type: gone === 'phone' ? 'change.phone' : 'change.mobile',
            method: gone,
            phone: maskPhone(
              (gone === 'phone' ? result.user.phone : result.user.mobile_phone) ?? '',
            ),
            notice: 'factorRemoved',
            what: gone === 'phone' ? 'phone' : 'mobile',
          }
        : {
            type: gone.kind === 'app' ? 'device.removed' : 'token.removed',
            method: gone.kind,
            device: gone.kind === 'app' ? gone.name : (gone.serial ?? gone.name),
            notice: 'factorRemoved',
            what: gone.kind,
          },
      context,
    );
  }
  return result.outcome;
}
