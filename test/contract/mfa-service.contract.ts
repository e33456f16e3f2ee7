import { describe, expect, it } from 'vitest';
import type { Context } from '../../src/core/context.ts';
import type { MfaService } from '../../src/core/mfa-service.ts';
import { decodeBase32 } from '../../src/core/otp.ts';
import { appCode } from '../helpers/two-step.ts';

/**
 * SPEC §2: what any implementation of the MfaService must do, driven through the interface alone
 * (set-up included): the in-process core today (in-process.test.ts, on SQLite and PostgreSQL),
 * the Web Service SDK client later, with the same cases.
 */
export interface ContractSubject {
  mfa: MfaService;
  close(): Promise<void>;
}

const cli: Context = { actor: { kind: 'cli' }, clientIp: undefined, language: 'en' };
const visitor: Context = {
  actor: { kind: 'user', userId: null },
  clientIp: '192.0.2.10',
  language: 'en',
};
const password = 'contract password 1';

/** Every value crosses the interface as JSON would carry it: nothing is lost on the way. */
function serialisable<T>(value: T): T {
  expect(JSON.parse(JSON.stringify(value))).toEqual(value);
  return value;
}

export function mfaServiceContract(start: () => Promise<ContractSubject>) {
  let counter = 0;
  const uniqueName = (prefix: string) => `${prefix}-${String(++counter)}-${String(Date.now())}`;

  async function withSubject(test: (mfa: MfaService) => Promise<void>) {
    const subject = await start();
    try {
      await test(subject.mfa);
    } finally {
      await subject.close();
    }
  }

  async function newUser(
    mfa: MfaService,
    role: 'user' | 'admin' = 'user',
    group: string | null = null,
  ) {
    const username = uniqueName('contract');
    const created = serialisable(
      await mfa.administration.createUser(cli, {
        username,
        displayName: 'Contract User',
        email: null,
        password,
        role,
        group,
      }),
    );
    if (created.outcome !== 'created') throw new Error('user not created');
    return created.account;
  }

  describe('sign-in and the journey', () => {
    it('creates a user once, and finds them by name in any case', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        expect(account).toMatchObject({ role: 'user', hasPin: false, methods: [], devices: [] });
        expect(account).not.toHaveProperty('password_hash');
        const again = await mfa.administration.createUser(cli, {
          username: account.username.toUpperCase(),
          displayName: '',
          email: null,
          password,
          role: 'user',
        });
        expect(again).toEqual({ outcome: 'taken' });
        const found = await mfa.administration.findUser(cli, {
          username: account.username.toUpperCase(),
        });
        expect(serialisable(found)?.id).toBe(account.id);
        expect(await mfa.administration.findUser(cli, { username: uniqueName('nobody') })).toBe(
          null,
        );
      }));

    it('adds a username sent several times at once once, the others refused as taken', () =>
      withSubject(async (mfa) => {
        const username = uniqueName('twice');
        const added = await Promise.all(
          [username, username.toUpperCase(), username].map((name) =>
            mfa.administration.addUser(cli, { username: name, displayName: '' }),
          ),
        );
        expect(added.filter((a) => a.outcome === 'created')).toHaveLength(1);
        const taken = [{ field: 'username', message: 'adminUsers.form.errors.taken' }];
        expect(added.filter((a) => a.outcome === 'invalid')).toEqual([
          { outcome: 'invalid', errors: taken },
          { outcome: 'invalid', errors: taken },
        ]);
        const created = await mfa.administration.createUser(cli, {
          username,
          displayName: '',
          email: null,
          password,
          role: 'user',
        });
        expect(created).toEqual({ outcome: 'taken' });
      }));

    it('refuses a wrong password and an unknown user alike, and leads a new user to enrol', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const wrong = await mfa.signIn.signIn(visitor, {
          username: account.username,
          password: 'not it',
        });
        const unknown = await mfa.signIn.signIn(visitor, {
          username: uniqueName('nobody'),
          password,
        });
        expect(wrong).toEqual({ next: 'refused' });
        expect(unknown).toEqual(wrong);
        const right = serialisable(
          await mfa.signIn.signIn(visitor, { username: account.username, password }),
        );
        expect(right).toEqual({ next: 'enrol', userId: account.id });
        const journey = serialisable(
          await mfa.signIn.journey(visitor, { userId: undefined, pendingUserId: account.id }),
        );
        expect(journey.stage).toBe('enrolling');
        if (journey.stage !== 'enrolling') return;
        expect(journey.account.id).toBe(account.id);
        expect(journey.admin).toBe(false);
      }));

    it('locks the account after the threshold of wrong passwords, right password or not', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const { lockoutThreshold } = await mfa.signIn.settings(cli);
        for (let i = 0; i < lockoutThreshold; i++) {
          await mfa.signIn.signIn(visitor, { username: account.username, password: `wrong ${i}` });
        }
        const locked = await mfa.signIn.signIn(visitor, { username: account.username, password });
        expect(locked).toEqual({ next: 'refused' });
        const view = await mfa.administration.findUser(cli, { username: account.username });
        expect(view?.lockedUntil).toBeGreaterThan(Date.now());
      }));

    it('has no stage for an unknown session and ends a session when sign-in is switched off', () =>
      withSubject(async (mfa) => {
        expect(
          await mfa.signIn.journey(visitor, { userId: 'no-such-id', pendingUserId: undefined }),
        ).toEqual({ stage: 'anonymous' });
        const user = await newUser(mfa);
        const admin = await newUser(mfa, 'admin');
        const changed = await mfa.administration.changeSetting(cli, {
          key: 'allowUserLogin',
          value: 'false',
        });
        expect(changed).toEqual({ outcome: 'changed', value: 'false' });
        expect(
          await mfa.signIn.journey(visitor, { userId: user.id, pendingUserId: undefined }),
        ).toEqual({ stage: 'ended', reason: 'signInOff' });
        const adminJourney = await mfa.signIn.journey(visitor, {
          userId: admin.id,
          pendingUserId: undefined,
        });
        expect(adminJourney).toMatchObject({ stage: 'signed-in', admin: true });
      }));

    it('refuses a setting outside its bounds and an unknown one, changing nothing', () =>
      withSubject(async (mfa) => {
        const before = await mfa.signIn.settings(cli);
        expect(
          await mfa.administration.changeSetting(cli, { key: 'deviceLimit', value: '99' }),
        ).toMatchObject({ outcome: 'invalid' });
        expect(
          await mfa.administration.changeSetting(cli, { key: 'colour', value: 'red' }),
        ).toMatchObject({ outcome: 'invalid' });
        expect(await mfa.signIn.settings(cli)).toEqual(before);
      }));
  });

  const asAdmin = (account: { id: string }): Context => ({
    actor: { kind: 'admin', adminId: account.id },
    clientIp: '192.0.2.30',
    language: 'en',
  });
  const grant = (
    mfa: MfaService,
    actor: Context,
    userId: string,
    permission: string,
    group: string | null = null,
  ) => mfa.administration.grant(actor, { userId, permission, group });

  describe('administration', () => {
    /** An administrator with what a helpdesk needs for every group, as its context. */
    async function helpdeskOf(mfa: MfaService): Promise<Context> {
      const admin = await newUser(mfa);
      for (const permission of ['view-users', 'edit-users', 'reset-pin', 'view-reports']) {
        await grant(mfa, cli, admin.id, permission);
      }
      return asAdmin(admin);
    }

    it('edits a user’s details, phones and method, audited with the acting administrator', () =>
      withSubject(async (mfa) => {
        const helpdesk = await helpdeskOf(mfa);
        const account = await newUser(mfa);
        const userId = account.id;
        const refused = await mfa.administration.editUser(helpdesk, {
          userId,
          email: 'not an address',
          language: 'de',
          backupPhone: '+31201234568',
          mobilePhone: '0612345678',
          defaultMethod: 'app',
        });
        expect(refused).toEqual({
          outcome: 'invalid',
          errors: [
            { field: 'email', message: 'admin.users.errors.email' },
            { field: 'language', message: 'preferences.language.errors.choose' },
            { field: 'mobilePhone', message: 'phone.errors.invalid' },
            { field: 'backupPhone', message: 'admin.users.errors.backupWithoutPhone' },
          ],
        });
        const edited = serialisable(
          await mfa.administration.editUser(helpdesk, {
            userId,
            email: 'lotte@example.test',
            language: 'nl',
            phone: '+31 20 123 4567',
            phoneExtension: '12,3',
            mobilePhone: '+33612345678',
            defaultMethod: 'sms',
          }),
        );
        expect(edited).toMatchObject({
          outcome: 'saved',
          account: {
            email: 'lotte@example.test',
            language: 'nl',
            phone: '+31201234567',
            phoneExtension: '12,3',
            mobilePhone: '+33612345678',
            defaultMethod: 'sms',
            methods: expect.arrayContaining(['phone', 'sms']) as unknown,
          },
        });
        // A method the user does not have is refused.
        expect(
          await mfa.administration.editUser(helpdesk, { userId, defaultMethod: 'token' }),
        ).toMatchObject({ outcome: 'invalid' });
        const [event, ...older] = serialisable(
          await mfa.administration.auditEvents(helpdesk, { userId, type: 'user.updated' }),
        );
        expect(older).toEqual([]);
        expect(event).toMatchObject({
          userId,
          result: 'success',
          adminId: helpdesk.actor.kind === 'admin' ? helpdesk.actor.adminId : null,
          clientIp: '192.0.2.30',
        });
        expect(event?.reason).toContain('email');
        // Without "edit users" and "view reports", nothing is changed or read.
        const viewer = await newUser(mfa);
        await grant(mfa, cli, viewer.id, 'view-users');
        await expect(
          mfa.administration.editUser(asAdmin(viewer), { userId, email: 'x@example.test' }),
        ).rejects.toMatchObject({ code: 'not-allowed' });
        await expect(
          mfa.administration.auditEvents(asAdmin(viewer), { userId }),
        ).rejects.toMatchObject({ code: 'not-allowed' });
        expect(
          await mfa.administration.findUser(cli, { username: account.username }),
        ).toMatchObject({ email: 'lotte@example.test' });
      }));

    it('disables and enables a user, and sets a PIN the policy accepts', () =>
      withSubject(async (mfa) => {
        const helpdesk = await helpdeskOf(mfa);
        const account = await newUser(mfa);
        const userId = account.id;
        expect(await mfa.administration.setDisabled(helpdesk, { userId, disabled: true })).toEqual({
          outcome: 'saved',
        });
        expect(await mfa.signIn.signIn(visitor, { username: account.username, password })).toEqual({
          next: 'refused',
        });
        await mfa.administration.setDisabled(helpdesk, { userId, disabled: false });
        expect(await mfa.signIn.signIn(visitor, { username: account.username, password })).toEqual({
          next: 'enrol',
          userId,
        });
        const pin = (typed: string) =>
          ({ userId, generate: false, pin: typed, pinConfirmation: typed }) as const;
        expect(await mfa.administration.resetPin(helpdesk, pin('12'))).toMatchObject({
          outcome: 'invalid',
          errors: [{ field: 'pin' }],
        });
        expect(await mfa.administration.resetPin(helpdesk, pin('8264'))).toEqual({
          outcome: 'reset',
          pin: null,
        });
        const found = await mfa.administration.findUser(helpdesk, { username: account.username });
        expect(found).toMatchObject({ hasPin: true, disabled: false, failedAttempts: 0 });
        const types = (await mfa.administration.auditEvents(helpdesk, { userId })).map(
          (e) => e.type,
        );
        expect(types.slice(0, 3)).toEqual(['change.pin', 'sign-in.password', 'account.enabled']);
        expect(types).toContain('account.disabled');
        await expect(
          mfa.administration.setDisabled(helpdesk, { userId: 'no-such-user', disabled: true }),
        ).rejects.toMatchObject({ code: 'not-found' });
      }));

    async function lockOut(mfa: MfaService, username: string) {
      const { lockoutThreshold } = await mfa.signIn.settings(cli);
      for (let i = 0; i < lockoutThreshold; i++) {
        await mfa.signIn.signIn(visitor, { username, password: `wrong ${i}` });
      }
    }

    it('unlocks a locked account, and says whether it was locked', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        await lockOut(mfa, account.username);
        expect(await mfa.signIn.signIn(visitor, { username: account.username, password })).toEqual({
          next: 'refused',
        });
        expect(serialisable(await mfa.administration.unlock(cli, { userId: account.id }))).toEqual({
          wasLocked: true,
        });
        const found = await mfa.administration.findUser(cli, { username: account.username });
        expect(found?.lockedUntil).toBe(null);
        expect(await mfa.signIn.signIn(visitor, { username: account.username, password })).toEqual({
          next: 'enrol',
          userId: account.id,
        });
        expect(await mfa.administration.unlock(cli, { userId: account.id })).toEqual({
          wasLocked: false,
        });
        await expect(
          mfa.administration.unlock(cli, { userId: 'no-such-user' }),
        ).rejects.toMatchObject({ code: 'not-found' });
      }));

    it('resets a password under the policy; the old one stops working, a lockout stays', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const userId = account.id;
        const short = await mfa.administration.resetPassword(cli, { userId, password: 'short' });
        expect(short).toMatchObject({ outcome: 'invalid' });
        expect(await mfa.signIn.signIn(visitor, { username: account.username, password })).toEqual({
          next: 'enrol',
          userId,
        });
        const newPassword = 'a brand new password';
        const reset = serialisable(
          await mfa.administration.resetPassword(cli, { userId, password: newPassword }),
        );
        expect(reset).toEqual({ outcome: 'reset', notified: false, lockedUntil: null });
        expect(await mfa.signIn.signIn(visitor, { username: account.username, password })).toEqual({
          next: 'refused',
        });
        expect(
          await mfa.signIn.signIn(visitor, { username: account.username, password: newPassword }),
        ).toEqual({ next: 'enrol', userId });

        await lockOut(mfa, account.username);
        const whileLocked = await mfa.administration.resetPassword(cli, {
          userId,
          password: 'yet another password',
        });
        expect(whileLocked.outcome === 'reset' && whileLocked.lockedUntil).toBeGreaterThan(
          Date.now(),
        );
        await mfa.administration.unlock(cli, { userId });
        const asUser: Context = { ...visitor, actor: { kind: 'user', userId } };
        const { activity } = await mfa.account.overview(asUser, { userId });
        expect(activity.map((event) => event.type).slice(0, 2)).toEqual([
          'account.unlocked',
          'password.reset',
        ]);
        await expect(
          mfa.administration.resetPassword(cli, { userId: 'no-such-user', password: newPassword }),
        ).rejects.toMatchObject({ code: 'not-found' });
      }));

    it('creates no user whose password breaks the policy', () =>
      withSubject(async (mfa) => {
        const username = uniqueName('short');
        const created = await mfa.administration.createUser(cli, {
          username,
          displayName: '',
          email: null,
          password: 'short',
          role: 'user',
        });
        expect(created).toMatchObject({ outcome: 'invalid' });
        expect(await mfa.administration.findUser(cli, { username })).toBe(null);
      }));
  });

  describe('administrators (SPEC A1)', () => {
    it('gives a new administrator every permission for every group, and a grant makes one', () =>
      withSubject(async (mfa) => {
        const root = await newUser(mfa, 'admin');
        const every = serialisable(await mfa.administration.permissions(asAdmin(root)));
        expect(every).toHaveLength(12);
        expect(every.every((g) => g.group === null)).toBe(true);
        expect(await mfa.administration.permissions(cli)).toEqual(every);

        const user = await newUser(mfa);
        expect(await mfa.administration.permissions(asAdmin(user))).toEqual([]);
        expect(await grant(mfa, cli, user.id, 'unlock', 'sales')).toEqual({ outcome: 'granted' });
        expect(await grant(mfa, cli, user.id, 'unlock', 'sales')).toEqual({ outcome: 'granted' });
        expect(await mfa.administration.permissions(asAdmin(user))).toEqual([
          { permission: 'unlock', group: 'sales' },
        ]);
        const journey = await mfa.signIn.journey(visitor, {
          userId: user.id,
          pendingUserId: undefined,
        });
        expect(journey).toMatchObject({ stage: 'signed-in', admin: true });
        const admins = serialisable(await mfa.administration.listAdministrators(cli));
        expect(admins.map((a) => [a.user.username, a.grants.length])).toEqual(
          [
            [root.username, 12],
            [user.username, 1],
          ].sort(),
        );
        expect(await grant(mfa, cli, user.id, 'fly', null)).toMatchObject({ outcome: 'invalid' });

        expect(
          await mfa.administration.revoke(cli, { userId: user.id, permission: 'unlock' }),
        ).toEqual({ outcome: 'revoked', count: 1 });
        expect(await mfa.administration.permissions(asAdmin(user))).toEqual([]);
        const after = await mfa.signIn.journey(visitor, {
          userId: user.id,
          pendingUserId: undefined,
        });
        expect(after).toMatchObject({ stage: 'signed-in', admin: false });
      }));

    it('keeps the last administrator who can manage administrators', () =>
      withSubject(async (mfa) => {
        const root = await newUser(mfa, 'admin');
        const revokeManaging = (actor: Context, userId: string) =>
          mfa.administration.revoke(actor, { userId, permission: 'manage-administrators' });
        expect(await revokeManaging(asAdmin(root), root.id)).toEqual({ outcome: 'last-manager' });
        expect(await revokeManaging(cli, root.id)).toEqual({ outcome: 'last-manager' });
        expect(
          await mfa.administration.setDisabled(cli, { userId: root.id, disabled: true }),
        ).toEqual({ outcome: 'last-manager' });
        expect(await mfa.administration.permissions(asAdmin(root))).toHaveLength(12);

        // A manager for one group only does not count: they cannot reach everyone.
        const scoped = await newUser(mfa);
        await grant(mfa, cli, scoped.id, 'manage-administrators', 'sales');
        expect(await revokeManaging(cli, root.id)).toEqual({ outcome: 'last-manager' });

        const second = await newUser(mfa);
        await grant(mfa, asAdmin(root), second.id, 'manage-administrators');
        // Only someone who holds all of the root's rights may take one: the root itself here.
        await expect(revokeManaging(asAdmin(second), root.id)).rejects.toMatchObject({
          code: 'not-allowed',
        });
        expect(await revokeManaging(asAdmin(root), root.id)).toEqual({
          outcome: 'revoked',
          count: 1,
        });
        expect(
          await mfa.administration.setDisabled(cli, {
            userId: second.id,
            disabled: true,
          }),
        ).toEqual({ outcome: 'last-manager' });
        expect(
          (await mfa.administration.findUser(cli, { username: second.username }))?.disabled,
        ).toBe(false);
      }));

    it('lets no administrator give a right they do not hold, nor act on a stronger one', () =>
      withSubject(async (mfa) => {
        const root = await newUser(mfa, 'admin');
        const lead = await newUser(mfa, 'user', 'sales');
        await grant(mfa, cli, lead.id, 'manage-administrators', 'sales');
        await grant(mfa, cli, lead.id, 'unlock', 'sales');
        const colleague = await newUser(mfa, 'user', 'sales');
        const outsider = await newUser(mfa, 'user', 'hr');
        const asLead = asAdmin(lead);

        expect(await grant(mfa, asLead, colleague.id, 'unlock', 'sales')).toEqual({
          outcome: 'granted',
        });
        for (const [permission, group] of [
          ['unlock', null],
          ['unlock', 'hr'],
          ['issue-bypass', 'sales'],
          ['manage-administrators', null],
        ] as const) {
          await expect(grant(mfa, asLead, colleague.id, permission, group)).rejects.toMatchObject({
            code: 'not-allowed',
          });
        }
        await expect(grant(mfa, asLead, outsider.id, 'unlock', 'sales')).rejects.toMatchObject({
          code: 'not-allowed',
        });
        await expect(
          mfa.administration.revoke(asLead, { userId: root.id, permission: 'unlock' }),
        ).rejects.toMatchObject({ code: 'not-allowed' });
        expect(await mfa.administration.permissions(asAdmin(colleague))).toEqual([
          { permission: 'unlock', group: 'sales' },
        ]);

        // Everything for every group, but not "manage administrators": no bypass for the root.
        const helpdesk = await newUser(mfa);
        for (const permission of ['issue-bypass', 'unlock', 'edit-users', 'reset-pin']) {
          await grant(mfa, cli, helpdesk.id, permission);
        }
        const asHelpdesk = asAdmin(helpdesk);
        const bypass = { seconds: 300, reason: 'takeover' };
        await expect(
          mfa.administration.issueBypass(asHelpdesk, { userId: root.id, ...bypass }),
        ).rejects.toMatchObject({ code: 'not-allowed' });
        await expect(
          mfa.administration.resetPassword(asHelpdesk, {
            userId: root.id,
            password: 'a takeover password',
          }),
        ).rejects.toMatchObject({ code: 'not-allowed' });
        await mfa.administration.issueBypass(asHelpdesk, { userId: outsider.id, ...bypass });
        const signedIn = await mfa.signIn.signIn(visitor, { username: root.username, password });
        expect(signedIn).toEqual({ next: 'enrol', userId: root.id });
      }));

    it('answers an id that cannot be anyone’s as no such user, on every database (S9)', () =>
      withSubject(async (mfa) => {
        for (const userId of ['no-such-user', 'a\u0000b', '\u0000', 'x'.repeat(10_000)]) {
          for (const operation of [
            () => mfa.administration.userDetails(cli, { userId }),
            () => mfa.administration.unlock(cli, { userId }),
            () => mfa.administration.auditEvents(cli, { userId }),
          ]) {
            await expect(operation(), JSON.stringify(userId.slice(0, 9))).rejects.toMatchObject({
              code: 'not-found',
            });
          }
        }
      }));

    it('lets no administrator change their own account here: My account asks for a proof (J3)', () =>
      withSubject(async (mfa) => {
        const root = await newUser(mfa, 'admin');
        await newUser(mfa, 'admin');
        const self = asAdmin(root);
        const userId = root.id;
        const changes: [string, () => Promise<unknown>][] = [
          [
            'issueBypass',
            () => mfa.administration.issueBypass(self, { userId, seconds: 300, reason: 'me' }),
          ],
          ['unlock', () => mfa.administration.unlock(self, { userId })],
          ['resetPin', () => mfa.administration.resetPin(self, { userId, generate: true })],
          ['setDisabled', () => mfa.administration.setDisabled(self, { userId, disabled: true })],
          ['editUser', () => mfa.administration.editUser(self, { userId, phone: '+31201234567' })],
          [
            'resetPassword',
            () =>
              mfa.administration.resetPassword(self, { userId, password: 'my own new password' }),
          ],
        ];
        for (const [name, change] of changes) {
          await expect(change(), name).rejects.toMatchObject({ code: 'not-allowed' });
        }
        const details = await mfa.administration.userDetails(self, { userId });
        expect(details.allowed).toEqual(['view-users', 'manage-administrators', 'view-reports']);
        expect(details.bypass).toBe(null);
        expect(details.account).toMatchObject({ disabled: false, hasPin: false, phone: null });
        expect(details.activity.map((event) => event.type)).toEqual(['user.created']);
        expect(await mfa.signIn.signIn(visitor, { username: root.username, password })).toEqual({
          next: 'enrol',
          userId,
        });
      }));

    it('refuses a scoped administrator every operation outside their groups, changing nothing', () =>
      withSubject(async (mfa) => {
        await newUser(mfa, 'admin');
        const scoped = await newUser(mfa, 'user', 'sales');
        for (const permission of [
          'view-users',
          'add-users',
          'edit-users',
          'reset-pin',
          'unlock',
          'issue-bypass',
          'manage-settings',
          'manage-administrators',
        ]) {
          await grant(mfa, cli, scoped.id, permission, 'sales');
        }
        const actor = asAdmin(scoped);
        const inside = await newUser(mfa, 'user', 'sales');
        const outside = await newUser(mfa, 'user', 'hr');
        const noGroup = await newUser(mfa);
        const operations: [string, (userId: string, username: string) => Promise<unknown>][] = [
          ['findUser', (_id, username) => mfa.administration.findUser(actor, { username })],
          ['userDetails', (userId) => mfa.administration.userDetails(actor, { userId })],
          [
            'issueBypass',
            (userId) =>
              mfa.administration.issueBypass(actor, { userId, seconds: 300, reason: 'test' }),
          ],
          ['unlock', (userId) => mfa.administration.unlock(actor, { userId })],
          [
            'resetPassword',
            (userId) =>
              mfa.administration.resetPassword(actor, { userId, password: 'another password 9' }),
          ],
          [
            'resetPin (set)',
            (userId) =>
              mfa.administration.resetPin(actor, {
                userId,
                generate: false,
                pin: '4820',
                pinConfirmation: '4820',
              }),
          ],
          [
            'resetPin (generate)',
            (userId) => mfa.administration.resetPin(actor, { userId, generate: true }),
          ],
          [
            'setDisabled',
            (userId) => mfa.administration.setDisabled(actor, { userId, disabled: true }),
          ],
          ['grant', (userId) => grant(mfa, actor, userId, 'unlock', 'sales')],
          [
            'revoke',
            (userId) => mfa.administration.revoke(actor, { userId, permission: 'unlock' }),
          ],
        ];
        // No one: refused alike, so that the answer does not tell who exists outside the groups.
        const nobody = {
          id: '00000000-0000-4000-8000-000000000000',
          username: uniqueName('nobody'),
        };
        for (const [name, operation] of operations) {
          for (const target of [outside, noGroup, nobody]) {
            await expect(
              operation(target.id, target.username),
              `${name} ${target.username}`,
            ).rejects.toMatchObject({
              code: 'not-allowed',
            });
          }
        }
        for (const target of [outside, noGroup]) {
          const unchanged = await mfa.administration.userDetails(cli, { userId: target.id });
          expect(unchanged.account).toMatchObject({ disabled: false, hasPin: false, role: 'user' });
          expect(unchanged.bypass).toBe(null);
          expect(unchanged.activity.map((event) => event.type)).toEqual(['user.created']);
          expect(await mfa.signIn.signIn(visitor, { username: target.username, password })).toEqual(
            {
              next: 'enrol',
              userId: target.id,
            },
          );
        }
        for (const [name, operation] of operations) {
          await expect(operation(inside.id, inside.username), name).resolves.toBeDefined();
        }
        const created = (group: string | null) =>
          mfa.administration.createUser(actor, {
            username: uniqueName('new'),
            displayName: '',
            email: null,
            password,
            role: 'user',
            group,
          });
        expect(await created('sales')).toMatchObject({ outcome: 'created' });
        await expect(created('hr')).rejects.toMatchObject({ code: 'not-allowed' });
        await expect(created(null)).rejects.toMatchObject({ code: 'not-allowed' });
        await expect(
          mfa.administration.changeSetting(actor, { key: 'allowBypass', value: 'true' }),
        ).rejects.toMatchObject({ code: 'not-allowed' });
        const found = await mfa.administration.searchUsers(actor, {});
        expect(found.users.every((user) => user.group === 'sales')).toBe(true);
        expect(found.users.map((user) => user.id)).toContain(inside.id);
        const admins = await mfa.administration.listAdministrators(actor);
        expect(admins.map((a) => a.user.id)).toEqual([scoped.id]);

        const plain: Context = { ...visitor, actor: { kind: 'user', userId: inside.id } };
        expect(await mfa.administration.permissions(plain)).toEqual([]);
        await expect(mfa.administration.searchUsers(plain, {})).rejects.toMatchObject({
          code: 'not-allowed',
        });
        await expect(mfa.administration.unlock(plain, { userId: inside.id })).rejects.toMatchObject(
          { code: 'not-allowed' },
        );
      }));

    it('finds users by each field with * wildcards, group and status, sorted and paged', () =>
      withSubject(async (mfa) => {
        const make = async (
          username: string,
          displayName: string,
          email: string,
          group: string | null,
        ) => {
          const created = await mfa.administration.createUser(cli, {
            username,
            displayName,
            email,
            password,
            role: 'user',
            group,
          });
          if (created.outcome !== 'created') throw new Error('not created');
          return created.account;
        };
        const anna = await make('anna.smit', 'Anna Smit', 'anna@example.org', 'sales');
        await make('bert.jansen', 'Bert Jansen', 'bert@example.com', 'hr');
        const carla = await make('carla_x', 'Carla Smit-de Wit', 'carla@example.org', 'sales');
        const names = async (input: Parameters<MfaService['administration']['searchUsers']>[1]) =>
          (await mfa.administration.searchUsers(cli, input)).users.map((u) => u.username);
        expect(await names({ username: 'anna.smit' })).toEqual(['anna.smit']);
        expect(await names({ username: 'ANNA*' })).toEqual(['anna.smit']);
        expect(await names({ username: 'anna' })).toEqual([]);
        expect(await names({ name: '*smit*' })).toEqual(['anna.smit', 'carla_x']);
        expect(await names({ email: '*@example.org', sort: 'name', descending: true })).toEqual([
          'carla_x',
          'anna.smit',
        ]);
        expect(await names({ group: 'hr' })).toEqual(['bert.jansen']);
        // _ and % are characters like any other, not wildcards.
        expect(await names({ username: 'carla_*' })).toEqual(['carla_x']);
        expect(await names({ username: 'carla%' })).toEqual([]);
        await mfa.administration.setDisabled(cli, { userId: carla.id, disabled: true });
        expect(await names({ status: 'disabled' })).toEqual(['carla_x']);
        await mfa.administration.issueBypass(cli, {
          userId: anna.id,
          seconds: 300,
          reason: 'test',
        });
        expect(await names({ status: 'bypass-pending' })).toEqual(['anna.smit']);
        expect(await names({ status: 'not-enrolled', group: 'sales' })).toEqual([
          'anna.smit',
          'carla_x',
        ]);

        for (let i = 0; i < 25; i++)
          await make(`page-${String(i).padStart(2, '0')}`, '', `p${i}@example.net`, 'paged');
        const first = await mfa.administration.searchUsers(cli, { group: 'paged' });
        expect(first).toMatchObject({ page: 1, hasNext: false });
        expect(first.users).toHaveLength(25);
        const all = await mfa.administration.searchUsers(cli, {});
        expect(all.hasNext).toBe(true);
        const second = serialisable(await mfa.administration.searchUsers(cli, { page: 2 }));
        expect(second).toMatchObject({ page: 2, hasNext: false });
        expect(second.users.map((u) => u.username)).toEqual(['page-22', 'page-23', 'page-24']);
      }));

    it('resets a PIN as typed under the policy, or generates one and returns it once', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const userId = account.id;
        const weak = await mfa.administration.resetPin(cli, {
          userId,
          generate: false,
          pin: '1234',
          pinConfirmation: '1234',
        });
        expect(weak).toMatchObject({ outcome: 'invalid', errors: [{ field: 'pin' }] });
        expect((await mfa.administration.userDetails(cli, { userId })).account.hasPin).toBe(false);
        expect(
          await mfa.administration.resetPin(cli, {
            userId,
            generate: false,
            pin: '4820',
            pinConfirmation: '4820',
          }),
        ).toEqual({ outcome: 'reset', pin: null });
        const generated = serialisable(
          await mfa.administration.resetPin(cli, { userId, generate: true }),
        );
        const { pinMinLength } = await mfa.signIn.settings(cli);
        expect(generated.outcome === 'reset' && generated.pin).toMatch(
          new RegExp(`^\\d{${pinMinLength}}$`),
        );
        const details = serialisable(await mfa.administration.userDetails(cli, { userId }));
        expect(details.account.hasPin).toBe(true);
        expect(details.activity.map((event) => event.type)).toEqual([
          'change.pin',
          'change.pin',
          'user.created',
        ]);
      }));
  });

  describe('second step', () => {
    it('offers nothing to a user with no way in, and counts every code towards the lockout', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const asUser: Context = { ...visitor, actor: { kind: 'user', userId: account.id } };
        const journey = serialisable(
          await mfa.signIn.journey(asUser, { userId: undefined, pendingUserId: account.id }),
        );
        expect(journey).toMatchObject({ stage: 'enrolling' });
        expect(journey.stage === 'enrolling' && journey.secondStep).toEqual({
          methods: [],
          preferred: null,
          questions: false,
          codeDigits: { app: [6], token: [] },
          appPin: false,
          maskedNumbers: { phone: null, sms: null },
        });
        const { lockoutThreshold } = await mfa.signIn.settings(cli);
        const code = {
          userId: account.id,
          purpose: 'proof',
          method: 'app',
          code: '123456',
        } as const;
        for (let i = 1; i < lockoutThreshold; i++) {
          expect(await mfa.secondStep.checkCode(asUser, code)).toEqual({ outcome: 'invalid' });
        }
        const locked = serialisable(await mfa.secondStep.checkCode(asUser, code));
        expect(locked).toMatchObject({ outcome: 'locked' });
        expect(locked.outcome === 'locked' && locked.until).toBeGreaterThan(Date.now());
        await expect(
          mfa.secondStep.questionsToAsk(asUser, { userId: account.id }),
        ).rejects.toMatchObject({ code: 'not-found' });
        await expect(
          mfa.secondStep.checkAnswers(asUser, {
            userId: account.id,
            purpose: 'sign-in.second-step',
            answers: [],
          }),
        ).rejects.toMatchObject({ code: 'not-found' });
        expect(
          await mfa.signIn.journey(asUser, { userId: undefined, pendingUserId: 'no-such-user' }),
        ).toEqual({ stage: 'anonymous' });
      }));
  });

  describe('bypass', () => {
    it('lets the next sign-in skip the second step once, issued by an administrator', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const admin = await newUser(mfa);
        await mfa.administration.grant(cli, {
          userId: admin.id,
          permission: 'issue-bypass',
          group: null,
        });
        const helpdesk: Context = {
          actor: { kind: 'admin', adminId: admin.id },
          clientIp: undefined,
          language: 'en',
        };
        const issued = serialisable(
          await mfa.administration.issueBypass(helpdesk, {
            userId: account.id,
            seconds: 300,
            reason: 'phone lost',
          }),
        );
        expect(issued.expiresAt).toBeGreaterThan(Date.now());
        const first = await mfa.signIn.signIn(visitor, { username: account.username, password });
        expect(first).toEqual({ next: 'signed-in', userId: account.id });
        const second = await mfa.signIn.signIn(visitor, { username: account.username, password });
        expect(second).toEqual({ next: 'enrol', userId: account.id });
        await expect(
          mfa.administration.issueBypass(helpdesk, {
            userId: 'no-such-user',
            seconds: 300,
            reason: 'x',
          }),
        ).rejects.toMatchObject({ code: 'not-found' });
      }));
  });
  describe('my account', () => {
    const as = (account: { id: string }): Context => ({
      actor: { kind: 'user', userId: account.id },
      clientIp: '192.0.2.20',
      language: 'en',
    });

    it('saves a language and new answers, lists them as recent activity, and refuses bad input', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const context = as(account);
        const userId = account.id;
        expect(await mfa.account.setLanguage(context, { userId, language: 'de' })).toEqual({
          outcome: 'invalid',
          errors: [{ field: 'language-0', message: 'preferences.language.errors.choose' }],
        });
        expect(await mfa.account.setLanguage(context, { userId, language: 'fr' })).toEqual({
          outcome: 'saved',
        });
        const { count, questions } = serialisable(
          await mfa.account.securityQuestions(context, { userId }),
        );
        expect(questions.length).toBeGreaterThanOrEqual(count);
        const answers = questions
          .slice(0, count)
          .map((q, i) => ({ questionId: q.id, answer: `answer ${i}` }));
        const repeated = answers.map((a) => ({ ...a, questionId: answers[0]?.questionId ?? '' }));
        const refused = await mfa.account.replaceAnswers(context, { userId, answers: repeated });
        expect(refused).toMatchObject({ outcome: 'invalid' });
        expect(await mfa.account.replaceAnswers(context, { userId, answers })).toEqual({
          outcome: 'saved',
        });
        const found = await mfa.administration.findUser(cli, { username: account.username });
        expect(found).toMatchObject({ language: 'fr' });
        expect(Number(found?.answeredQuestions)).toBe(count);
        const { activity, bypass } = serialisable(await mfa.account.overview(context, { userId }));
        expect(bypass).toBe(null);
        expect(activity.map((e) => e.type).slice(0, 2)).toEqual([
          'change.questions',
          'change.language',
        ]);
        expect(activity[0]).toMatchObject({ result: 'success', clientIp: '192.0.2.20' });
      }));

    it('lets a user change only their own account', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const other = await newUser(mfa);
        await expect(
          mfa.account.setLanguage(as(other), { userId: account.id, language: 'nl' }),
        ).rejects.toMatchObject({ code: 'not-allowed' });
        await expect(mfa.account.overview(as(other), { userId: account.id })).rejects.toMatchObject(
          { code: 'not-allowed' },
        );
        await expect(mfa.account.overview(cli, { userId: 'no-such-user' })).rejects.toMatchObject({
          code: 'not-found',
        });
      }));

    it('starts and cancels a bypass of the user’s own, only when the settings allow it', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const context = as(account);
        const userId = account.id;
        await expect(mfa.account.issueBypass(context, { userId })).rejects.toMatchObject({
          code: 'not-allowed',
        });
        await mfa.administration.changeSetting(cli, { key: 'allowBypass', value: 'true' });
        const issued = serialisable(await mfa.account.issueBypass(context, { userId }));
        expect(issued).toMatchObject({ outcome: 'issued' });
        const status = serialisable(await mfa.account.bypassStatus(context, { userId }));
        expect(status.pending).toMatchObject({ issuedBy: 'user' });
        expect(await mfa.account.cancelBypass(context, { userId })).toEqual({
          outcome: 'cancelled',
        });
        expect(await mfa.account.cancelBypass(context, { userId })).toEqual({ outcome: 'none' });
        const signedIn = await mfa.signIn.signIn(visitor, { username: account.username, password });
        expect(signedIn).toEqual({ next: 'enrol', userId });
      }));
  });

  describe('User Setup', () => {
    const asUser = (userId: string): Context => ({ ...visitor, actor: { kind: 'user', userId } });

    /** The mobile app's seed made by the core and proven with a current code. */
    async function provenApp(mfa: MfaService, userId: string) {
      const context = asUser(userId);
      const { draftId } = await mfa.enrolment.generateAppSeed(context, { userId });
      const setup = serialisable(
        await mfa.enrolment.appSetup(context, { userId, draftId, issuer: 'Contract' }),
      );
      const secret = decodeBase32(setup.activation?.secret ?? '');
      const proven = serialisable(
        await mfa.enrolment.proveApp(context, { userId, draftId, code: appCode(secret) }),
      );
      expect(proven).toEqual({ outcome: 'proven', draftId, next: 'questions' });
      return draftId;
    }

    async function answersFor(mfa: MfaService, userId: string) {
      const { count, questions } = await mfa.enrolment.questions(asUser(userId), { userId });
      return questions.slice(0, count).map((q, i) => ({ questionId: q.id, answer: `a ${i}` }));
    }

    it('saves the mobile app only with the answers, and then asks for the second step', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const context = asUser(account.id);
        expect(await mfa.enrolment.offeredMethods(context, { userId: account.id })).toContain(
          'app',
        );
        const draftId = await provenApp(mfa, account.id);
        const pending = { userId: undefined, pendingUserId: account.id };
        expect(await mfa.signIn.journey(context, pending)).toMatchObject({ stage: 'enrolling' });
        const answers = await answersFor(mfa, account.id);
        const refused = await mfa.enrolment.complete(context, {
          userId: account.id,
          draftId,
          answers: answers.map((a) => ({ ...a, answer: '' })),
        });
        expect(refused).toMatchObject({ outcome: 'invalid' });
        expect(await mfa.signIn.journey(context, pending)).toMatchObject({ stage: 'enrolling' });
        expect(
          serialisable(
            await mfa.enrolment.complete(context, { userId: account.id, draftId, answers }),
          ),
        ).toEqual({ outcome: 'enrolled' });
        const journey = await mfa.signIn.journey(context, pending);
        expect(journey).toMatchObject({
          stage: 'second-step',
          account: { methods: ['app'], devices: [{ kind: 'app' }], answeredQuestions: 4 },
        });
        expect(await mfa.signIn.signIn(visitor, { username: account.username, password })).toEqual({
          next: 'second-step',
          userId: account.id,
        });
      }));

    it('saves one of two setups finished at once, and refuses the other as a conflict', () =>
      withSubject(async (mfa) => {
        const account = await newUser(mfa);
        const drafts = [await provenApp(mfa, account.id), await provenApp(mfa, account.id)];
        const answers = await answersFor(mfa, account.id);
        const outcomes = await Promise.allSettled(
          drafts.map((draftId) =>
            mfa.enrolment.complete(asUser(account.id), { userId: account.id, draftId, answers }),
          ),
        );
        expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
        const refusal = outcomes.find((o) => o.status === 'rejected');
        expect(refusal?.reason).toMatchObject({ code: 'conflict' });
        const view = await mfa.administration.findUser(cli, { username: account.username });
        expect(view?.devices).toHaveLength(1);
      }));
  });
}
