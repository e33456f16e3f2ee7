import type { Context } from '../../src/core/context.ts';

export { cliContext } from '../../src/core/context.ts';

/** A visitor who has not signed in yet. */
export const visitorContext: Context = {
  actor: { kind: 'user', userId: null },
  clientIp: undefined,
  language: 'en',
};

/** A user acting on their own account. */
export const userContext = (userId: string): Context => ({
  actor: { kind: 'user', userId },
  clientIp: undefined,
  language: 'en',
});
