import { createAdminGrantsRepository } from '../../data/admin-grants-repository.ts';
import type { Db } from '../../data/schema.ts';
import {
  DuplicateUsernameError,
  type UserRow,
  type UserSearch,
} from '../../data/users-repository.ts';
import {
  adminPermissions,
  createAdministrators,
  grantsCover,
  readGroup,
  type AdminPermission,
  isAdminPermission as isPermission,
  scopeIn,
  type Grant,
  type Scope,
} from '../administrators.ts';
import {
  changeEvent,
  commitChange,
  toActivity,
  type ActivityEntry,
  type Change,
} from '../changes.ts';
import { actedBy, adminOf, type Context } from '../context.ts';
import { isLanguage } from '../languages.ts';
import { MfaError, type Account, type FieldError } from '../mfa-service.ts';
import { passwordProblem } from '../password-policy.ts';
import { hashSecret } from '../passwords.ts';
import { isExtension, maskPhone, parsePhone } from '../phone-numbers.ts';
import { generatePin, newPinErrors } from '../pin-policy.ts';
import { enrolmentFrom } from '../second-factor.ts';
import {
  formatSetting,
  isSettingKey,
  methods,
  parseSetting,
  SettingError,
  type Method,
} from '../settings.ts';
import type { PendingBypass } from './account.ts';
import { createImportOperations, type ImportOperations } from './imports.ts';
import { fewestActiveQuestions } from './questions-admin.ts';
import { removeWayToSignIn } from './removal.ts';
import { writeSettings } from './settings-admin.ts';
import type { MfaServiceDependencies } from './index.ts';
import { toAccount } from './views.ts';
import { isDisplayName, isEmail, isUsername, usernameMaxLength } from '../user-fields.ts';

/** A user as a list of users shows them (SPEC A2). */
export interface UserSummary {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  group: string | null;
  role: 'user' | 'admin';
  disabled: boolean;
  /** Until when the account is locked (epoch ms), or null. */
  lockedUntil: number | null;
}

/** An administrator and their permissions (SPEC A1). */
export interface Administrator {
  user: UserSummary;
  grants: Grant[];
}

/** The users a search shows on one page. */
export const usersPerPage = 25;

export type UserSearchInput = Partial<
  Pick<
    UserSearch,
    'username' | 'name' | 'email' | 'group' | 'tag' | 'phone' | 'status' | 'sort' | 'descending'
  >
> & {
  /** From 1. */
  page?: number;
};

/** What an administrator edits on a user (SPEC A2); a field left out stays as it is. */
export interface UserEdit {
  displayName?: string;
  email?: string | null;
  /** As typed: trimmed, empty for none; within the groups the actor may edit. */
  group?: string | null;
  /** One of the portal's languages, or null for the browser's. */
  language?: string | null;
  /** E.164 (`+` and the country code), or null to remove; extensions digits and commas. */
  phone?: string | null;
  phoneExtension?: string | null;
  backupPhone?: string | null;
  backupExtension?: string | null;
  mobilePhone?: string | null;
  /** Tags as typed, separated by commas: each trimmed and lower-cased; empty for none. */
  tags?: string;
  /** A method the user has once the edit is saved, or null. */
  defaultMethod?: string | null;
}

/** One audit record as a report shows it (SPEC A4): the phone masked, no secret. */
export interface AuditEntry extends ActivityEntry {
  userId: string | null;
  username: string | null;
  /** The denial reason, or what changed. */
  reason: string | null;
  /** Masked, as it was recorded. */
  phone: string | null;
  /** The acting administrator, if one acted. */
  adminId: string | null;
}

/** The most records one report read returns. */
export const auditReadLimit = 1000;

/**
 * Managing users, administrators and settings on someone else's behalf (SPEC A1–A3): the
 * command line and the admin console. Every operation asks the one decision of
 * src/core/administrators.ts whether the context's actor holds the permission for the target
 * user's group, and throws `MfaError('not-allowed')` when not; the actor is recorded as the one
 * who acted.
 */
export interface AdministrationService extends ImportOperations {
  /** The acting administrator's own permissions (all of them for the command line). */
  permissions(context: Context): Promise<Grant[]>;
  /** Users matching every criterion given, among those the actor may see ("view users"). */
  searchUsers(
    context: Context,
    input: UserSearchInput,
  ): Promise<{ users: UserSummary[]; page: number; hasNext: boolean }>;
  /** One user's account, pending bypass, recent activity and permissions ("view users"). */
  userDetails(
    context: Context,
    input: { userId: string },
  ): Promise<{
    account: Account;
    bypass: PendingBypass | null;
    activity: ActivityEntry[];
    grants: Grant[];
    /** What the actor may do to this user. */
    allowed: AdminPermission[];
  }>;
  /**
   * SPEC M5, "reset PIN": a PIN typed twice, or a random one under the policy (returned once, to
   * be shown once). Audited, and the user is told by email.
   */
  resetPin(
    context: Context,
    input: {
      userId: string;
      /** SPEC M5 "PIN change required": the user chooses a new PIN at the next verification with it. */
      changeRequired?: boolean;
    } & ({ generate: true } | { generate: false; pin: string; pinConfirmation: string }),
  ): Promise<
    { outcome: 'reset'; pin: string | null } | { outcome: 'invalid'; errors: FieldError[] }
  >;
  /**
   * Disables a user (no sign-in, their sessions end) or enables them again ("edit users");
   * audited. The last administrator who can manage administrators stays enabled.
   */
  setDisabled(
    context: Context,
    input: { userId: string; disabled: boolean },
  ): Promise<{ outcome: 'saved' } | { outcome: 'last-manager' }>;
  /**
   * SPEC A2 "deactivate devices and tokens": one mobile-app activation or OATH token of the user
   * ("reset devices"). Audited with the administrator, and the user told by email. The last
   * method may go too: the user then sets up a new one at the next sign-in (J2).
   */
  removeDevice(
    context: Context,
    input: { userId: string; deviceId: string },
  ): Promise<{ outcome: 'removed' }>;
  /** Where the actor's permission reaches: every group, or these groups (none: nowhere). */
  scope(context: Context, input: { permission: AdminPermission }): Promise<Scope>;
  /**
   * SPEC A2 "add": a user with no password of the portal's own (the directory's, or one given
   * later with `reset-password`), in a group the actor may add users to ("add users"); each
   * field checked as an edit checks it. Audited (`user.created`) with the administrator.
   */
  addUser(
    context: Context,
    input: { username: string; displayName: string } & Omit<
      UserEdit,
      'defaultMethod' | 'displayName'
    >,
  ): Promise<
    { outcome: 'created'; account: Account } | { outcome: 'invalid'; errors: FieldError[] }
  >;
  /**
   * SPEC A2 "delete": the user and everything of theirs (devices, answers, bypasses, grants);
   * the audit keeps its records. Audited (`user.deleted`) with the administrator. The last
   * administrator who can manage administrators stays.
   */
  deleteUser(
    context: Context,
    input: { userId: string },
  ): Promise<{ outcome: 'deleted' } | { outcome: 'last-manager' }>;
  /** The administrators the actor may manage, with their permissions. */
  listAdministrators(context: Context): Promise<Administrator[]>;
  /**
   * Gives a user a permission, for a group or (`group` null) for every user: the user becomes an
   * administrator. The actor must manage administrators and hold what they give.
   */
  grant(
    context: Context,
    input: { userId: string; permission: string; group: string | null },
  ): Promise<{ outcome: 'granted' } | { outcome: 'invalid'; message: string }>;
  /**
   * Takes a permission back: for one group, for every user (`group` null), or with `group`
   * undefined every grant of it. An administrator left with none is a user again. The last
   * administrator who can manage administrators for every user keeps that permission.
   */
  revoke(
    context: Context,
    input: { userId: string; permission: string; group?: string | null },
  ): Promise<
    | { outcome: 'revoked'; count: number }
    | { outcome: 'last-manager' }
    | { outcome: 'invalid'; message: string }
  >;
  /**
   * A user of the local directory, with a password under the password policy (SPEC D1: the
   * portal's own directory).
   */
  createUser(
    context: Context,
    input: {
      username: string;
      displayName: string;
      email: string | null;
      password: string;
      role: 'user' | 'admin';
      /** The user's group; none when absent. */
      group?: string | null;
    },
  ): Promise<
    | { outcome: 'created'; account: Account }
    | { outcome: 'taken' }
    | { outcome: 'invalid'; message: string }
  >;
  /**
   * A user by username (case-insensitive), or null; to an actor who may not view every user, no
   * such user is refused like one outside their groups.
   */
  findUser(context: Context, input: { username: string }): Promise<Account | null>;
  /**
   * A one-time bypass issued for the user (SPEC M7): the reason is required and audited, and the
   * user is told by email, in their language; `notified` says whether the notice went out.
   */
  issueBypass(
    context: Context,
    input: { userId: string; seconds: number; reason: string },
  ): Promise<{ expiresAt: number; notified: boolean }>;
  /**
   * Ends a lockout (SPEC M8) and clears the failures counted towards the next one, the hourly
   * ones included; audited. `wasLocked` says whether the account was locked at that moment.
   */
  unlock(context: Context, input: { userId: string }): Promise<{ wasLocked: boolean }>;
  /**
   * A new password for a user of the local directory, under the password policy: how a lost
   * administrator password is recovered. Audited, and the user is told by email; a lockout
   * stays (`unlock` ends it), and so do sessions already signed in.
   */
  resetPassword(
    context: Context,
    input: { userId: string; password: string },
  ): Promise<
    | { outcome: 'reset'; notified: boolean; lockedUntil: number | null }
    | { outcome: 'invalid'; message: string }
  >;
  /**
   * Changes a portal setting from its text form (lists comma-separated), checked against the
   * setting's bounds; audited with the old and the new value (SPEC §5, A4).
   */
  changeSetting(
    context: Context,
    input: { key: string; value: string },
  ): Promise<{ outcome: 'changed'; value: string } | { outcome: 'invalid'; message: string }>;
  /**
   * SPEC A2 "edit": names, email, language, phones and default method, each checked; saved
   * together and audited (`user.updated`, naming the fields) with the acting administrator.
   */
  editUser(
    context: Context,
    input: { userId: string } & UserEdit,
  ): Promise<{ outcome: 'saved'; account: Account } | { outcome: 'invalid'; errors: FieldError[] }>;
  /**
   * SPEC A4: audit records, newest first, filtered by user and type; at most `limit` (100 by
   * default, at most 1000).
   */
  auditEvents(
    context: Context,
    input: { userId?: string; type?: string; limit?: number },
  ): Promise<AuditEntry[]>;
  /**
   * SPEC A2, N2: the enrolment invitation by email ("add users"): the portal's address and the
   * user's username, in the user's language. Audited when sent; the outcome says why not.
   */
  sendInvitation(
    context: Context,
    input: {
      userId: string;
      /**
       * SPEC A2, M5: also a new initial PIN ("reset PIN" too), generated under the policy, set
       * with "PIN change required" as a reset sets it, and returned once to be shown once.
       */
      withPin?: boolean;
    },
  ): Promise<{ outcome: Invitation; pin: string | null }>;
  /** SPEC N1: each channel's voice or SMS provider and its last known state ("view reports"). */
  providerStates(context: Context): Promise<ProviderState[]>;
}

export type Invitation = 'sent' | 'no-email' | 'email-off' | 'no-portal-url' | 'failed';

/** A channel's provider as the admin console shows it. */
export interface ProviderState {
  channel: 'voice' | 'sms';
  /** `twilio`, `http` or `simulator`. */
  provider: string;
  state: 'ok' | 'failed' | 'unknown';
  /** When a request last reached it or failed to (epoch ms; 0: never). */
  checkedAt: number;
}

/** The most tags a user has, and the most characters of one. */
export const maxTags = 20;
export const tagMaxLength = 40;

/** Typed tags as the `tags` column keeps them (`,a,b,`, null for none), or null when wrong. */
function readTags(typed: string): { column: string | null } | null {
  const tags = [
    ...new Set(
      typed
        .split(',')
        .map((tag) => tag.trim().normalize('NFC').toLowerCase())
        .filter((tag) => tag !== ''),
    ),
  ];
  if (
    tags.length > maxTags ||
    tags.some((tag) => tag.length > tagMaxLength || /[\p{C}*]/u.test(tag))
  ) {
    return null;
  }
  return { column: tags.length ? `,${tags.join(',')},` : null };
}

/** An administrator's number: E.164 as typed, or what is wrong with it. */
function readE164(
  value: string | null | undefined,
  field: string,
  errors: FieldError[],
): string | null | undefined {
  if (value === undefined || value === null) return value;
  const parsed = value.trim().startsWith('+')
    ? parsePhone(value, 'NL')
    : ({ refused: 'invalid' } as const);
  if ('phone' in parsed) return parsed.phone;
  const message = parsed.refused === 'invalid' ? 'phone.errors.invalid' : 'phone.errors.notAllowed';
  errors.push({ field, message });
  return null;
}

function readExtension(value: string | null | undefined, field: string, errors: FieldError[]) {
  if (value === undefined) return undefined;
  if (value === null || value.trim() === '') return null;
  if (!isExtension(value.trim())) errors.push({ field, message: 'phone.errors.extension' });
  return value.trim();
}

/** The row's columns an edit changes, or the errors of its fields. */
function editedColumns(user: UserRow, edit: UserEdit) {
  const errors: FieldError[] = [];
  const columns: Partial<UserRow> = {};
  if (edit.displayName !== undefined) {
    const name = edit.displayName.trim();
    if (!isDisplayName(name)) {
      errors.push({ field: 'displayName', message: 'admin.users.errors.displayName' });
    }
    columns.display_name = name;
  }
  if (edit.email !== undefined) {
    const email = edit.email?.trim() || null;
    if (email !== null && !isEmail(email)) {
      errors.push({ field: 'email', message: 'admin.users.errors.email' });
    }
    columns.email = email;
  }
  if (edit.group !== undefined) {
    const read = readGroup(edit.group ?? '');
    if (!read) errors.push({ field: 'group', message: 'adminUsers.form.errors.group' });
    columns.user_group = read?.group ?? null;
  }
  if (edit.tags !== undefined) {
    const read = readTags(edit.tags);
    if (!read) {
      errors.push({
        field: 'tags',
        message: 'adminUsers.form.errors.tags',
        values: { max: maxTags, length: tagMaxLength },
      });
    }
    columns.tags = read?.column ?? null;
  }
  if (edit.language !== undefined) {
    if (edit.language !== null && !isLanguage(edit.language)) {
      errors.push({ field: 'language', message: 'preferences.language.errors.choose' });
    }
    columns.language = edit.language;
  }
  const numbers = {
    phone: readE164(edit.phone, 'phone', errors),
    phone_extension: readExtension(edit.phoneExtension, 'phoneExtension', errors),
    backup_phone: readE164(edit.backupPhone, 'backupPhone', errors),
    backup_extension: readExtension(edit.backupExtension, 'backupExtension', errors),
    mobile_phone: readE164(edit.mobilePhone, 'mobilePhone', errors),
  };
  for (const [column, value] of Object.entries(numbers)) {
    if (value !== undefined) Object.assign(columns, { [column]: value });
  }
  const after = { ...user, ...columns };
  if (after.backup_phone !== null && after.phone === null) {
    errors.push({ field: 'backupPhone', message: 'admin.users.errors.backupWithoutPhone' });
  }
  if (edit.defaultMethod !== undefined) {
    const method = methods.find((m) => m === edit.defaultMethod) ?? null;
    if (edit.defaultMethod !== null && method === null) {
      errors.push({ field: 'defaultMethod', message: 'preferences.method.errors.choose' });
    }
    columns.default_method = method;
  }
  return { errors, columns, after };
}

/** Thrown inside a transaction to undo it: the last manager of administrators would go. */
class LastManagerError extends Error {}

const toSummary = (user: UserRow): UserSummary => ({
  id: user.id,
  username: user.username,
  displayName: user.display_name,
  email: user.email,
  group: user.user_group,
  role: user.role,
  disabled: user.disabled !== 0,
  lockedUntil: user.locked_until,
});

/** The columns of the numbers called or texted, and their extensions: ways to sign in. */
const phoneColumns: readonly (keyof UserRow)[] = [
  'phone',
  'phone_extension',
  'backup_phone',
  'backup_extension',
  'mobile_phone',
];

const phonesOf = (user: UserRow) =>
  [user.phone, user.backup_phone, user.mobile_phone].filter((p) => p !== null);

const scopeText = (group: string | null) => (group === null ? 'every group' : `group ${group}`);

export function createAdministrationService(deps: MfaServiceDependencies): AdministrationService {
  const { db, users, settings, audit, devices, bypasses, changes, secondFactor, argon2 } = deps;
  const now = deps.now ?? Date.now;
  const grants = createAdminGrantsRepository(db);
  const administrators = createAdministrators({ users, grants });
  const { authorise } = administrators;

  /**
   * No user: `not-found` only for an actor whose permission reaches every user. To one limited
   * to some groups, no one looks like someone outside them, so that the answer does not tell
   * who exists there.
   */
  async function noSuchUser(context: Context, permission: AdminPermission): Promise<never> {
    await authorise(context, permission, 'everyone');
    throw new MfaError('not-found', 'No such user');
  }

  /** The user, once the actor is allowed `permission` on them. */
  async function target(context: Context, userId: string, permission: AdminPermission) {
    // An id with a control character is no one's (and PostgreSQL refuses a NUL in text).
    const user = /\p{C}/u.test(userId) ? undefined : await users.findById(userId);
    if (!user) return noSuchUser(context, permission);
    await authorise(context, permission, user);
    return user;
  }

  async function commit(
    context: Context,
    user: UserRow,
    change: Change,
    writes: (trx: Db, time: number) => Promise<void>,
  ): Promise<void> {
    await commitChange(db, now(), { user, change, context }, writes);
  }

  /** Undoes the transaction's writes when no manager of administrators would be left. */
  async function keepAManager(trx: Db): Promise<void> {
    if ((await grants.countManagers(trx)) === 0) throw new LastManagerError();
  }

  return {
    ...createImportOperations(deps, administrators),

    async permissions(context) {
      return administrators.grantsOfActor(context);
    },

    async searchUsers(context, input) {
      const scope = await administrators.scopeOf(context, 'view-users');
      const page = Math.max(1, Math.floor(input.page ?? 1));
      const rows = await users.search(
        {
          username: input.username,
          name: input.name,
          email: input.email,
          group: input.group,
          tag: input.tag,
          phone: input.phone,
          status: input.status,
          groups: scope.all ? null : scope.groups,
          sort: input.sort ?? 'username',
          descending: input.descending ?? false,
          offset: (page - 1) * usersPerPage,
          limit: usersPerPage,
        },
        now(),
      );
      return {
        users: rows.slice(0, usersPerPage).map(toSummary),
        page,
        hasNext: rows.length > usersPerPage,
      };
    },

    async userDetails(context, { userId }) {
      const user = await target(context, userId, 'view-users');
      const [enrolment, pending, events, held, allowed] = await Promise.all([
        secondFactor.enrolmentOf(user),
        bypasses.pending(user),
        audit.recentForUser(user.id),
        administrators.grantsOf(user.id),
        administrators.allowedOn(context, adminPermissions, user),
      ]);
      return {
        account: toAccount(user, enrolment),
        bypass: pending ?? null,
        activity: events.map(toActivity),
        grants: held,
        allowed,
      };
    },

    async resetPin(context, input) {
      const user = await target(context, input.userId, 'reset-pin');
      const { pinMinLength } = await settings.read();
      let pin: string;
      if (input.generate) {
        pin = generatePin({ minLength: pinMinLength }, phonesOf(user));
      } else {
        const errors = newPinErrors(input.pin, input.pinConfirmation, pinMinLength, phonesOf(user));
        if (errors.length > 0) return { outcome: 'invalid', errors };
        pin = input.pin;
      }
      const pinHash = await hashSecret(pin, argon2);
      const change: Change = {
        type: 'change.pin',
        reason: `reset by ${actedBy(context)}`,
        notice: 'factorChanged',
        what: 'pin',
      };
      await commit(context, user, change, async (trx, time) => {
        await trx
          .updateTable('users')
          .set({
            pin_hash: pinHash,
            pin_change_required: input.changeRequired ? 1 : 0,
            updated_at: time,
          })
          .where('id', '=', user.id)
          .execute();
      });
      void changes.notify(user, change, context);
      return { outcome: 'reset', pin: input.generate ? pin : null };
    },

    async setDisabled(context, { userId, disabled }) {
      const user = await target(context, userId, 'edit-users');
      const change: Change = {
        type: disabled ? 'account.disabled' : 'account.enabled',
        reason: `by ${actedBy(context)}`,
      };
      try {
        await commit(context, user, change, async (trx, time) => {
          await users.setDisabled(trx, user.id, disabled, time);
          if (disabled && user.role === 'admin') await keepAManager(trx);
        });
      } catch (error) {
        if (error instanceof LastManagerError) return { outcome: 'last-manager' };
        throw error;
      }
      return { outcome: 'saved' };
    },

    async removeDevice(context, { userId, deviceId }) {
      await target(context, userId, 'reset-devices');
      const removed = await removeWayToSignIn(
        deps,
        context,
        userId,
        { deviceId },
        { lastMayGo: true },
      );
      if (removed.outcome !== 'removed') throw new MfaError('not-found', 'No such device');
      return { outcome: 'removed' };
    },

    async deleteUser(context, { userId }) {
      const user = await target(context, userId, 'delete-users');
      const change: Change = { type: 'user.deleted', reason: `by ${actedBy(context)}` };
      try {
        await commit(context, user, change, async (trx) => {
          // Its devices, answers, bypasses, drafts and grants go with it (ON DELETE CASCADE).
          await trx.deleteFrom('users').where('id', '=', user.id).execute();
          if (user.role === 'admin') await keepAManager(trx);
        });
      } catch (error) {
        if (error instanceof LastManagerError) return { outcome: 'last-manager' };
        throw error;
      }
      return { outcome: 'deleted' };
    },

    async listAdministrators(context) {
      const scope = await administrators.scopeOf(context, 'manage-administrators');
      const admins = (await users.findAdministrators()).filter(
        (user) => scope.all || (user.user_group !== null && scope.groups.includes(user.user_group)),
      );
      return Promise.all(
        admins.map(async (user) => ({
          user: toSummary(user),
          grants: await administrators.grantsOf(user.id),
        })),
      );
    },

    async grant(context, { userId, permission, group }) {
      const user = await target(context, userId, 'manage-administrators');
      if (!isPermission(permission)) {
        return { outcome: 'invalid', message: `Unknown permission "${permission}".` };
      }
      const read = readGroup(group ?? '');
      if (!read) return { outcome: 'invalid', message: 'That is not the name of a group.' };
      const wanted: Grant = { permission, group: read.group };
      // No one gives a right they do not hold (SPEC A1).
      if (!grantsCover(await administrators.grantsOfActor(context), [wanted])) {
        throw new MfaError('not-allowed', 'A right the actor does not hold');
      }
      const change: Change = {
        type: 'admin.granted',
        reason: `${permission} for ${scopeText(wanted.group)}, by ${actedBy(context)}`,
      };
      await commit(context, user, change, async (trx, time) => {
        await grants.add(trx, user.id, [wanted], time);
      });
      return { outcome: 'granted' };
    },

    async revoke(context, { userId, permission, group }) {
      const user = await target(context, userId, 'manage-administrators');
      if (!isPermission(permission)) {
        return { outcome: 'invalid', message: `Unknown permission "${permission}".` };
      }
      const read = group === undefined ? { group: undefined } : readGroup(group ?? '');
      if (!read) return { outcome: 'invalid', message: 'That is not the name of a group.' };
      const held = await administrators.grantsOfActor(context);
      const taken = (await administrators.grantsOf(user.id)).filter(
        (g) => g.permission === permission && (read.group === undefined || g.group === read.group),
      );
      if (!grantsCover(held, taken)) {
        throw new MfaError('not-allowed', 'A right the actor does not hold');
      }
      const change: Change = {
        type: 'admin.revoked',
        reason: `${permission} for ${read.group === undefined ? 'all its groups' : scopeText(read.group)}, by ${actedBy(context)}`,
      };
      let count = 0;
      try {
        await commit(context, user, change, async (trx, time) => {
          count = await grants.remove(trx, user.id, permission, read.group, time);
          if (permission === 'manage-administrators') await keepAManager(trx);
        });
      } catch (error) {
        if (error instanceof LastManagerError) return { outcome: 'last-manager' };
        throw error;
      }
      return { outcome: 'revoked', count };
    },

    async scope(context, { permission }) {
      return scopeIn(await administrators.grantsOfActor(context), permission);
    },

    async addUser(context, { username: typed, ...fields }) {
      const read = readGroup(fields.group ?? '');
      // A group that is no group's name reaches nobody: refused unless every group is allowed.
      await authorise(context, 'add-users', {
        id: '',
        role: 'user',
        user_group: read?.group ?? null,
      });
      const username = typed.trim();
      const errors: FieldError[] = [];
      if (username === '') {
        errors.push({ field: 'username', message: 'adminUsers.form.errors.usernameMissing' });
      } else if (!isUsername(username)) {
        errors.push({
          field: 'username',
          message: 'adminUsers.form.errors.username',
          values: { max: usernameMaxLength },
        });
      }
      const blank = { phone: null, backup_phone: null } as UserRow;
      const edited = editedColumns(blank, fields);
      errors.push(...edited.errors);
      if (errors.length === 0 && (await users.findByUsername(username))) {
        errors.push({ field: 'username', message: 'adminUsers.form.errors.taken' });
      }
      if (errors.length > 0) return { outcome: 'invalid', errors };
      let created: UserRow;
      try {
        created = await users.create({
          username,
          displayName: edited.columns.display_name ?? '',
          passwordHash: null,
          role: 'user',
          group: edited.columns.user_group ?? null,
        });
      } catch (error) {
        if (!(error instanceof DuplicateUsernameError)) throw error;
        return {
          outcome: 'invalid',
          errors: [{ field: 'username', message: 'adminUsers.form.errors.taken' }],
        };
      }
      const change: Change = { type: 'user.created', reason: `by ${actedBy(context)}` };
      await commit(context, created, change, async (trx, time) => {
        await trx
          .updateTable('users')
          .set({ ...edited.columns, updated_at: time })
          .where('id', '=', created.id)
          .execute();
      });
      const saved = { ...created, ...edited.columns };
      return {
        outcome: 'created',
        account: toAccount(saved, await secondFactor.enrolmentOf(saved)),
      };
    },

    async createUser(context, typed) {
      const input = {
        ...typed,
        username: typed.username.trim(),
        displayName: typed.displayName.trim(),
        email: typed.email?.trim() || null,
      };
      const read = readGroup(input.group ?? '');
      if (!read) return { outcome: 'invalid', message: 'That is not the name of a group.' };
      // The console's rules for the same fields (addUser), in the command line's English.
      if (!isUsername(input.username)) {
        return {
          outcome: 'invalid',
          message: `A username has 1 to ${usernameMaxLength} characters, without spaces or control characters.`,
        };
      }
      if (!isDisplayName(input.displayName)) {
        return {
          outcome: 'invalid',
          message: 'A display name has at most 200 characters, without control characters.',
        };
      }
      if (input.email !== null && !isEmail(input.email)) {
        return { outcome: 'invalid', message: `${input.email} is not an email address.` };
      }
      const newcomer = { id: '', role: 'user', user_group: read.group } as const;
      await authorise(context, 'add-users', newcomer);
      // An administrator made here gets every permission: only one who holds them all may.
      const every = adminPermissions.map((permission) => ({ permission, group: null }));
      if (
        input.role === 'admin' &&
        !grantsCover(await administrators.grantsOfActor(context), every)
      ) {
        throw new MfaError('not-allowed', 'Rights the actor does not hold');
      }
      const problem = passwordProblem(input.password);
      if (problem) return { outcome: 'invalid', message: problem };
      const passwordHash = await hashSecret(input.password, argon2);
      try {
        const created = await users.create({ ...input, group: read.group, passwordHash });
        if (input.role === 'admin') {
          await db.transaction().execute(async (trx) => {
            await grants.add(trx, created.id, every, now());
          });
        }
        await audit.record({
          type: 'user.created',
          result: 'success',
          reason: input.role === 'admin' ? 'administrator' : null,
          user_id: created.id,
          username: created.username,
          display_name: created.display_name,
          email: created.email,
          phone: null,
          device: null,
          method: null,
          client_ip: context.clientIp ?? null,
          admin_id: adminOf(context),
        });
        return {
          outcome: 'created',
          account: toAccount(created, await secondFactor.enrolmentOf(created)),
        };
      } catch (error) {
        if (error instanceof DuplicateUsernameError) return { outcome: 'taken' };
        throw error;
      }
    },

    async findUser(context, { username }) {
      const user = await users.findByUsername(username);
      if (!user) {
        await authorise(context, 'view-users', 'everyone');
        return null;
      }
      await authorise(context, 'view-users', user);
      return toAccount(user, await secondFactor.enrolmentOf(user));
    },

    async issueBypass(context, { userId, seconds, reason }) {
      const user = await target(context, userId, 'issue-bypass');
      const { expiresAt } = await bypasses.issue(user, { seconds, reason }, context);
      const notified = await changes.notify(
        user,
        { type: 'bypass.issued', method: 'bypass', notice: 'bypassIssued', until: expiresAt },
        context,
      );
      return { expiresAt, notified };
    },

    async unlock(context, { userId }) {
      const user = await target(context, userId, 'unlock');
      const time = now();
      const wasLocked = user.locked_until !== null && user.locked_until > time;
      const change: Change = {
        type: 'account.unlocked',
        reason: `${wasLocked ? 'was locked' : 'was not locked'}, by ${actedBy(context)}`,
      };
      await commit(context, user, change, async (trx, at) => {
        await trx
          .updateTable('users')
          .set({
            failed_count: 0,
            locked_until: null,
            failure_window_start: null,
            failure_window_count: 0,
            updated_at: at,
          })
          .where('id', '=', user.id)
          .execute();
      });
      return { wasLocked };
    },

    async resetPassword(context, { userId, password }) {
      const user = await target(context, userId, 'edit-users');
      const problem = passwordProblem(password);
      if (problem) return { outcome: 'invalid', message: problem };
      const passwordHash = await hashSecret(password, argon2);
      const time = now();
      const change: Change = {
        type: 'password.reset',
        method: 'password',
        reason: `by ${actedBy(context)}`,
        notice: 'passwordReset',
      };
      await commit(context, user, change, async (trx, at) => {
        await trx
          .updateTable('users')
          .set({ password_hash: passwordHash, updated_at: at })
          .where('id', '=', user.id)
          .execute();
      });
      // Awaited: the command line tells the operator whether the user heard of it.
      const notified = await changes.notify(user, change, context);
      const lockedUntil =
        user.locked_until !== null && user.locked_until > time ? user.locked_until : null;
      return { outcome: 'reset', notified, lockedUntil };
    },

    async changeSetting(context, { key, value }) {
      await authorise(context, 'manage-settings', 'everyone');
      if (!isSettingKey(key)) return { outcome: 'invalid', message: `Unknown setting "${key}".` };
      try {
        const parsed = parseSetting(key, value);
        // No one can enrol more questions than a language offers (SPEC M6).
        if (key === 'questionsToEnrol' && Number(parsed) > (await fewestActiveQuestions(db))) {
          return {
            outcome: 'invalid',
            message: `questionsToEnrol must be at most ${await fewestActiveQuestions(db)}, the active questions of the language with the fewest.`,
          };
        }
        // Never more questions asked than enrolled, or the questions are never offered (M6).
        if (key === 'questionsToEnrol' || key === 'questionsToAnswer') {
          const current = await settings.read();
          const enrol = key === 'questionsToEnrol' ? Number(parsed) : current.questionsToEnrol;
          const answer = key === 'questionsToAnswer' ? Number(parsed) : current.questionsToAnswer;
          if (answer > enrol) {
            return {
              outcome: 'invalid',
              message: `questionsToAnswer (${answer}) must be at most questionsToEnrol (${enrol}).`,
            };
          }
        }
        await writeSettings(deps, context, { [key]: parsed });
        return { outcome: 'changed', value: formatSetting(parsed) };
      } catch (error) {
        if (error instanceof SettingError) return { outcome: 'invalid', message: error.message };
        throw error;
      }
    },

    async editUser(context, { userId, ...edit }) {
      const user = await target(context, userId, 'edit-users');
      const { errors, columns, after } = editedColumns(user, edit);
      // A user moves only to a group the actor may edit users of, too.
      if (columns.user_group !== undefined && columns.user_group !== user.user_group) {
        await authorise(context, 'edit-users', after);
      }
      const method = columns.default_method;
      const owned = await devices.forUser(userId);
      if (method !== undefined && method !== null && errors.length === 0) {
        if (!enrolmentFrom(after, owned, 0).methods.includes(method as Method)) {
          errors.push({ field: 'defaultMethod', message: 'preferences.method.errors.choose' });
        }
      }
      if (errors.length > 0) return { outcome: 'invalid', errors };
      // The form sends every field: the audit names those whose value changed.
      const changed = (Object.keys(columns) as (keyof UserRow)[]).filter(
        (column) => columns[column] !== user[column],
      );
      const number = (['phone', 'backup_phone', 'mobile_phone'] as const).find(
        (column) => changed.includes(column) && after[column] !== null,
      );
      const numbers = changed.some((c) => phoneColumns.includes(c));
      const change: Change = {
        type: 'user.updated',
        reason: changed.sort().join(', ') || null,
        ...(numbers
          ? {
              notice: 'factorChanged',
              what: changed.every((c) => c === 'mobile_phone' || !phoneColumns.includes(c))
                ? 'mobile'
                : 'phone',
              phone: number ? maskPhone(after[number] ?? '') : null,
            }
          : {}),
      };
      await commit(context, user, change, async (trx, time) => {
        await trx
          .updateTable('users')
          .set({ ...columns, updated_at: time })
          .where('id', '=', user.id)
          .execute();
      });
      const saved = { ...user, ...columns, updated_at: now() };
      // SPEC N2: a way to sign in changed for the user, who hears of it as of a change of their
      // own, at the address they had (an address changed with it may be someone else's).
      if (change.notice) void changes.notify(user.email ? user : saved, change, context);
      return { outcome: 'saved', account: toAccount(saved, await secondFactor.enrolmentOf(saved)) };
    },

    async auditEvents(context, { userId, type, limit = 100 }) {
      if (userId === undefined) await authorise(context, 'view-reports', 'everyone');
      else await target(context, userId, 'view-reports');
      const events = await audit.find({
        ...(userId === undefined ? {} : { userId }),
        ...(type === undefined ? {} : { type }),
        limit: Math.min(Math.max(1, Math.trunc(limit)), auditReadLimit),
      });
      return events.map((event) => ({
        type: event.type,
        result: event.result,
        reason: event.reason,
        method: event.method,
        device: event.device,
        time: event.occurred_at,
        clientIp: event.client_ip,
        userId: event.user_id,
        username: event.username,
        phone: event.phone,
        adminId: event.admin_id,
      }));
    },

    async sendInvitation(context, { userId, withPin = false }) {
      const user = await target(context, userId, 'add-users');
      let pin: string | null = null;
      if (withPin) {
        await authorise(context, 'reset-pin', user);
        // No PIN is set for an invitation that cannot go.
        const refusal = changes.invitationRefusal(user);
        if (refusal) return { outcome: refusal, pin: null };
        pin = generatePin({ minLength: (await settings.read()).pinMinLength }, phonesOf(user));
        const pinHash = await hashSecret(pin, argon2);
        const change: Change = {
          type: 'change.pin',
          reason: `initial PIN for the invitation, by ${actedBy(context)}`,
        };
        await commit(context, user, change, async (trx, time) => {
          await trx
            .updateTable('users')
            .set({ pin_hash: pinHash, pin_change_required: 1, updated_at: time })
            .where('id', '=', user.id)
            .execute();
        });
      }
      const outcome = await changes.invite(user, context, pin);
      if (outcome === 'sent') {
        const reason = `${pin ? 'with an initial PIN, ' : ''}by ${actedBy(context)}`;
        await audit.record(changeEvent(user, { type: 'user.invited', reason }, context));
      }
      return { outcome, pin };
    },

    async providerStates(context) {
      // Not about any user: "view reports" for some group is enough.
      await administrators.scopeOf(context, 'view-reports');
      return (await deps.providerStates?.()) ?? [];
    },
  };
}
