import type { AdminGrantsRepository, GrantRow } from '../data/admin-grants-repository.ts';
import type { UserRow, UsersRepository } from '../data/users-repository.ts';

/** Who a permission is used on: a user, or one about to be added. */
export type Target = Pick<UserRow, 'id' | 'role' | 'user_group'>;
import type { Context } from './context.ts';
import { MfaError } from './mfa-service.ts';

/** What an administrator may be allowed to do (SPEC A1), each for some groups or for all. */
export const adminPermissions = [
  'view-users',
  'add-users',
  'edit-users',
  'delete-users',
  'reset-pin',
  'reset-devices',
  'unlock',
  'issue-bypass',
  'import-users',
  'manage-settings',
  'manage-administrators',
  'view-reports',
] as const;
export type AdminPermission = (typeof adminPermissions)[number];

export const isAdminPermission = (value: string): value is AdminPermission =>
  (adminPermissions as readonly string[]).includes(value);

/** One permission, for the users of one group or (`group` null) for every user. */
export interface Grant {
  permission: AdminPermission;
  group: string | null;
}

/** The most characters of a group's name. */
export const groupMaxLength = 64;

/**
 * A group as typed: trimmed, empty for none. Returns the group, or null when the text is not a
 * group's name (too long, or with control characters).
 */
export function readGroup(typed: string): { group: string | null } | null {
  const group = typed.trim();
  if (group.length > groupMaxLength || /\p{C}/u.test(group)) return null;
  return { group: group === '' ? null : group };
}

/**
 * Whether the grants allow `permission` on a user of `group`, or, with `everyone`, on every
 * user at once (settings, the whole list): that takes the permission for every group. A user
 * with no group is reached only by a permission for every group.
 */
export function grantsAllow(
  grants: readonly Grant[],
  permission: AdminPermission,
  target: { group: string | null } | 'everyone',
): boolean {
  return grants.some(
    (grant) =>
      grant.permission === permission &&
      (grant.group === null ||
        (target !== 'everyone' && target.group !== null && grant.group === target.group)),
  );
}

/** Whether `grants` hold everything `wanted` gives: no one gives a right they do not hold. */
export function grantsCover(grants: readonly Grant[], wanted: readonly Grant[]): boolean {
  return wanted.every((grant) =>
    grantsAllow(grants, grant.permission, grant.group === null ? 'everyone' : grant),
  );
}

/** Where an actor's permission reaches: every user, or the users of these groups. */
export type Scope = { all: true } | { all: false; groups: string[] };

/** Where grants reach with a permission: every user, or these groups (none: nowhere). */
export function scopeIn(grants: readonly Grant[], permission: AdminPermission): Scope {
  const held = grants.filter((g) => g.permission === permission);
  if (held.some((g) => g.group === null)) return { all: true };
  return { all: false, groups: held.flatMap((g) => (g.group === null ? [] : [g.group])) };
}

/** Grants in the order of the list above, every group before one group, then by name. */
const toGrants = (rows: readonly GrantRow[]): Grant[] =>
  rows
    .flatMap((row) =>
      isAdminPermission(row.permission) ? [{ permission: row.permission, group: row.group }] : [],
    )
    .sort(
      (a, b) =>
        adminPermissions.indexOf(a.permission) - adminPermissions.indexOf(b.permission) ||
        (a.group ?? '').localeCompare(b.group ?? ''),
    );

/**
 * All an administrator does to their own account here: see it, its reports, and its grants
 * (never more than they hold). Changes go through My account, which asks for a fresh proof
 * before a factor changes (SPEC J3) and keeps the lockout (M8): unlocking oneself would let a
 * session that cannot prove a factor keep guessing, and a bypass or a PIN would skip the proof.
 */
const onSelf: readonly AdminPermission[] = ['view-users', 'view-reports', 'manage-administrators'];

/** The command line on the server may do everything: whoever runs it owns the installation. */
const everything: Grant[] = adminPermissions.map((permission) => ({ permission, group: null }));

/**
 * SPEC A1: the one place that decides what an actor may do to a user. The command line may do
 * everything; an administrator what their grants allow, for the target's group, and to another
 * administrator only with "manage administrators" and every right that administrator holds (or a
 * helpdesk administrator could take over a stronger account with a bypass and a new password),
 * and to their own account no more than My account allows; a user or an SDK client nothing here.
 */
export function createAdministrators(deps: {
  users: UsersRepository;
  grants: AdminGrantsRepository;
}) {
  const { users, grants } = deps;

  async function grantsOfActor(context: Context): Promise<Grant[]> {
    const { actor } = context;
    if (actor.kind === 'cli') return everything;
    if (actor.kind !== 'admin') return [];
    const admin = await users.findById(actor.adminId);
    if (!admin || admin.disabled || admin.role !== 'admin') return [];
    return toGrants(await grants.forUser(admin.id));
  }

  async function grantsOf(userId: string): Promise<Grant[]> {
    return toGrants(await grants.forUser(userId));
  }

  /** Every permission of `permissions` that the actor may use on the target. */
  async function allowedOn(
    context: Context,
    permissions: readonly AdminPermission[],
    target: Target | 'everyone',
  ): Promise<AdminPermission[]> {
    const held = await grantsOfActor(context);
    if (target === 'everyone') return permissions.filter((p) => grantsAllow(held, p, 'everyone'));
    const group = { group: target.user_group };
    const self = context.actor.kind === 'admin' && context.actor.adminId === target.id;
    const stronger =
      target.role === 'admin' && !self && context.actor.kind !== 'cli'
        ? !(
            grantsAllow(held, 'manage-administrators', group) &&
            grantsCover(held, await grantsOf(target.id))
          )
        : false;
    return permissions.filter(
      (permission) =>
        grantsAllow(held, permission, group) &&
        (!self || onSelf.includes(permission)) &&
        // Seeing an administrator takes nothing over; acting on one may.
        (permission === 'view-users' || !stronger),
    );
  }

  async function may(
    context: Context,
    permission: AdminPermission,
    target: Target | 'everyone',
  ): Promise<boolean> {
    return (await allowedOn(context, [permission], target)).length > 0;
  }

  /** Throws `MfaError('not-allowed')` unless the actor may do `permission` to the target. */
  async function authorise(
    context: Context,
    permission: AdminPermission,
    target: Target | 'everyone',
  ): Promise<void> {
    if (!(await may(context, permission, target))) {
      throw new MfaError('not-allowed', `Not allowed: ${permission}`);
    }
  }

  return {
    /** The actor's own permissions: everything for the command line, none for a user. */
    grantsOfActor,
    grantsOf,
    allowedOn,

    authorise,

    /** Where the actor's permission reaches; `not-allowed` when nowhere. */
    async scopeOf(context: Context, permission: AdminPermission): Promise<Scope> {
      const scope = scopeIn(await grantsOfActor(context), permission);
      if (!scope.all && scope.groups.length === 0) {
        throw new MfaError('not-allowed', `Not allowed: ${permission}`);
      }
      return scope;
    },
  };
}

export type Administrators = ReturnType<typeof createAdministrators>;
