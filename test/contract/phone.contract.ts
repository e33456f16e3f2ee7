import { describe, expect, it } from 'vitest';
import type { Context } from '../../src/core/context.ts';
import type { MfaService } from '../../src/core/mfa-service.ts';
import type { ContractSubject } from './mfa-service.contract.ts';

/**
 * SPEC M1, M2, J2, J3: calls and texts through the MfaService alone, for an implementation with a
 * voice/SMS provider. The test stands in for the provider: what a phone does (keys pressed, a
 * call that rings out) reaches the core through the interface's provider reports.
 */

const cli: Context = { actor: { kind: 'cli' }, clientIp: undefined, language: 'en' };
const password = 'contract password 1';
const amsterdam = { country: 'NL', number: '020 123 4567', extension: '' };

/** Every value crosses the interface as JSON would carry it: nothing is lost on the way. */
function serialisable<T>(value: T): T {
  expect(JSON.parse(JSON.stringify(value))).toEqual(value);
  return value;
}

export function phoneServiceContract(start: () => Promise<ContractSubject>) {
  let counter = 0;

  async function withSubject(test: (mfa: MfaService) => Promise<void>) {
    const subject = await start();
    try {
      await test(subject.mfa);
    } finally {
      await subject.close();
    }
  }

  /** A new user, and the context of their own requests. */
  async function newUser(mfa: MfaService) {
    const created = await mfa.administration.createUser(cli, {
      username: `phone-${String(++counter)}-${String(Date.now())}`,
      displayName: 'Phone User',
      email: null,
      password,
      role: 'user',
    });
    if (created.outcome !== 'created') throw new Error('user not created');
    const context: Context = {
      actor: { kind: 'user', userId: created.account.id },
      clientIp: '192.0.2.20',
      language: 'en',
    };
    return { account: created.account, context };
  }

  describe('calls and texts', () => {
    it('sets up a phone: the number checked, called, and proven once by the keys pressed', () =>
      withSubject(async (mfa) => {
        const { account, context } = await newUser(mfa);
        const userId = account.id;
        const invalid = await mfa.phone.beginEnrolment(context, {
          userId,
          method: 'phone',
          phone: { ...amsterdam, number: '12' },
          backup: null,
          pin: '',
          pinConfirmation: '',
        });
        expect(serialisable(invalid)).toEqual({
          outcome: 'invalid',
          errors: [{ field: 'phoneNumber', message: 'phone.errors.invalid' }],
        });
        const begun = await mfa.phone.beginEnrolment(context, {
          userId,
          method: 'phone',
          phone: amsterdam,
          backup: null,
          pin: '',
          pinConfirmation: '',
        });
        if (begun.outcome !== 'begun') throw new Error('not begun');
        const attempt = { purpose: 'enrolment', draftId: begun.draftId } as const;
        const started = serialisable(await mfa.phone.startCall(context, { userId, ...attempt }));
        expect(started).toMatchObject({ outcome: 'started', next: 'wait' });
        if (started.outcome !== 'started') return;
        expect(serialisable(await mfa.phone.wait(context, { userId, ...attempt }))).toEqual({
          outcome: 'pending',
          method: 'phone',
          phone: '+31 ••• 67',
        });
        await mfa.phone.keypadInput(cli, { verificationId: started.verificationId, digits: '#' });
        expect(await mfa.phone.wait(context, { userId, ...attempt })).toEqual({
          outcome: 'proven',
          method: 'phone',
        });
        // An approval is taken once: the page reloaded cannot use it again.
        expect(await mfa.phone.wait(context, { userId, ...attempt })).toMatchObject({
          outcome: 'denied',
        });
        // The draft is the user's own: nobody else waits on it.
        const other = await newUser(mfa);
        expect(
          await mfa.phone.wait(other.context, { userId: other.account.id, ...attempt }),
        ).toEqual({ outcome: 'gone' });
      }));

    it('saves new numbers only once the new one answered, and only once', () =>
      withSubject(async (mfa) => {
        const { account, context } = await newUser(mfa);
        const userId = account.id;
        const begun = await mfa.phone.beginChange(context, {
          userId,
          kind: 'phone',
          phone: amsterdam,
          backup: null,
        });
        if (begun.outcome !== 'begun') throw new Error('not begun');
        const change = { userId, draftId: begun.draftId };
        expect(await mfa.phone.saveChange(context, change)).toEqual({ outcome: 'unproven' });
        const started = await mfa.phone.startCall(context, { ...change, purpose: 'change' });
        if (started.outcome !== 'started') throw new Error('not called');
        await mfa.phone.keypadInput(cli, { verificationId: started.verificationId, digits: '#' });
        expect(await mfa.phone.wait(context, { ...change, purpose: 'change' })).toEqual({
          outcome: 'proven',
          method: 'phone',
        });
        expect(serialisable(await mfa.phone.saveChange(context, change))).toEqual({
          outcome: 'saved',
          method: 'phone',
          pinNeeded: false,
        });
        expect(await mfa.phone.saveChange(context, change)).toEqual({ outcome: 'gone' });
        const saved = await mfa.administration.findUser(cli, { username: account.username });
        expect(saved).toMatchObject({ phone: '+31201234567', methods: ['phone'] });
        const same = await mfa.phone.beginChange(context, {
          userId,
          kind: 'phone',
          phone: amsterdam,
          backup: null,
        });
        expect(same).toEqual({ outcome: 'unchanged' });
      }));

    it('tells why a call did not prove the number, and ends the change', () =>
      withSubject(async (mfa) => {
        const { account, context } = await newUser(mfa);
        const begun = await mfa.phone.beginChange(context, {
          userId: account.id,
          kind: 'phone',
          phone: amsterdam,
          backup: null,
        });
        if (begun.outcome !== 'begun') throw new Error('not begun');
        const attempt = { userId: account.id, purpose: 'change', draftId: begun.draftId } as const;
        const started = await mfa.phone.startCall(context, attempt);
        if (started.outcome !== 'started') throw new Error('not called');
        await mfa.phone.callUnanswered(cli, { verificationId: started.verificationId });
        const denied = serialisable(await mfa.phone.wait(context, attempt));
        expect(denied).toMatchObject({
          outcome: 'denied',
          method: 'phone',
          reason: 'no answer',
          change: { kind: 'phone', failed: 'phone', numbers: { phone: '+31201234567' } },
        });
        expect(await mfa.phone.wait(context, attempt)).toEqual({ outcome: 'gone' });
      }));

    it('calls and texts nobody for a locked account (SPEC M8)', () =>
      withSubject(async (mfa) => {
        const { account, context } = await newUser(mfa);
        const { lockoutThreshold } = await mfa.signIn.settings(cli);
        for (let i = 0; i < lockoutThreshold; i++) {
          await mfa.signIn.signIn(context, { username: account.username, password: `wrong ${i}` });
        }
        for (const kind of ['phone', 'mobile'] as const) {
          const begun = await mfa.phone.beginChange(
            context,
            kind === 'phone'
              ? { userId: account.id, kind, phone: amsterdam, backup: null }
              : { userId: account.id, kind, mobile: { country: 'FR', number: '06 12 34 56 78' } },
          );
          if (begun.outcome !== 'begun') throw new Error('not begun');
          const attempt = {
            userId: account.id,
            purpose: 'change',
            draftId: begun.draftId,
          } as const;
          const started =
            kind === 'phone'
              ? await mfa.phone.startCall(context, attempt)
              : await mfa.phone.startText(context, attempt);
          expect(started).toMatchObject({ outcome: 'locked' });
          expect(await mfa.phone.wait(context, attempt)).toEqual({ outcome: 'gone' });
        }
      }));
  });
}
