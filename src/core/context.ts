/**
 * Who acts, from where, in which language: carried by every call into the core (SPEC §2), and
 * recorded with every audit event. Plain data, so that a portal on another host can send it.
 */
export type Actor =
  /** A user acting on their own account, or a visitor who has not signed in yet. */
  | { kind: 'user'; userId: string | null }
  /** A helpdesk administrator acting on someone's account (SPEC A1). */
  | { kind: 'admin'; adminId: string }
  /** The command line on the server. */
  | { kind: 'cli' }
  /** A client of the Web Service SDK. */
  | { kind: 'sdk'; clientId: string };

export interface Context {
  actor: Actor;
  clientIp: string | undefined;
  /** The language of the page, for a message the call causes when the account has none. */
  language: string;
}

/** The acting administrator, for the audit's `admin_id` (SPEC A4). */
export function adminOf(context: Pick<Context, 'actor'>): string | null {
  return context.actor.kind === 'admin' ? context.actor.adminId : null;
}

/** Who acted, in words for an audit record: `cli`, `admin <id>`, `sdk <client>` or `user`. */
export function actedBy(context: Pick<Context, 'actor'>): string {
  const { actor } = context;
  if (actor.kind === 'admin') return `admin ${actor.adminId}`;
  if (actor.kind === 'sdk') return `sdk ${actor.clientId}`;
  return actor.kind;
}

/** A context for the command line and for work with no request behind it. */
export const cliContext: Context = { actor: { kind: 'cli' }, clientIp: undefined, language: 'en' };
