import type { Logger } from 'pino';
import {
  createAuditRepository,
  type AuditEvent,
  type AuditRepository,
  type NewAuditEvent,
} from '../data/audit-repository.ts';
import type { EmailTemplatesRepository } from '../data/email-templates-repository.ts';
import type { Db } from '../data/schema.ts';
import type { UserRow } from '../data/users-repository.ts';
import type { Email } from '../providers/email.ts';
import { adminOf, type Context } from './context.ts';
import { dateFormat } from './dates.ts';
import {
  defaultTemplate,
  renderTemplate,
  templateErrors,
  type MessageKind,
} from './email-templates.ts';
import type { Translate } from './phone-verification.ts';

/** The security notices a user gets by email (SPEC N2, J3). */
export type Notice =
  | 'factorAdded'
  | 'factorChanged'
  | 'factorRemoved'
  | 'bypassIssued'
  | 'lockedOut'
  | 'passwordReset';

export interface Change {
  /** Audit type, e.g. `change.phone`, `device.added`. */
  type: string;
  /** A change succeeded; an event such as a lockout is only recorded. */
  result?: 'success' | 'info';
  method?: string | null;
  device?: string | null;
  /** Masked, never the full number. */
  phone?: string | null;
  reason?: string | null;
  /** The email to send, if the change is one the user must hear about. */
  notice?: Notice;
  /** What changed, as the notice names it: a key under `notices.what` (phone, app, pin…). */
  what?: string;
  /** A bypass or lockout notice: when it ends. */
  until?: number;
}

/** The audit record of a change, for a change written in a transaction with its record. */
export function changeEvent(user: UserRow, change: Change, context: Context): NewAuditEvent {
  return {
    type: change.type,
    result: change.result ?? 'success',
    reason: change.reason ?? null,
    user_id: user.id,
    username: user.username,
    display_name: user.display_name,
    email: user.email,
    phone: change.phone ?? null,
    device: change.device ?? null,
    method: change.method ?? null,
    client_ip: context.clientIp ?? null,
    admin_id: adminOf(context),
  };
}

/** The writes of one change and its audit record, together or not at all. */
export async function commitChange(
  db: Db,
  time: number,
  record: { user: UserRow; change: Change; context: Context },
  writes: (trx: Db, time: number) => Promise<void>,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await writes(trx, time);
    await createAuditRepository(trx).record(
      changeEvent(record.user, record.change, record.context),
      time,
    );
  });
}

/** One line of "Recent activity": a sign-in, a check or a change (SPEC J3, A4). */
export interface ActivityEntry {
  /** The audit type, e.g. `sign-in.second-step`, `device.added`. */
  type: string;
  result: string;
  method: string | null;
  device: string | null;
  /** Epoch ms. */
  time: number;
  clientIp: string | null;
}

export const toActivity = (event: AuditEvent): ActivityEntry => ({
  type: event.type,
  result: event.result,
  method: event.method,
  device: event.device,
  time: event.occurred_at,
  clientIp: event.client_ip,
});

export interface ChangesDependencies {
  audit: AuditRepository;
  email: Email | undefined;
  translate: Translate;
  /** Where the times in notices are told (TIME_ZONE); the server's own when empty. */
  timeZone?: string;
  logger: Logger;
  portalUrl: string;
  /** The administrators' wording of the emails (SPEC N2); the shipped text without it. */
  templates?: EmailTemplatesRepository;
  now?: () => number;
}

/**
 * Self-service changes (SPEC J3): each is audited and, when it touches a factor or issues a
 * bypass, announced to the user by email in their language. A mail server that is slow or down
 * never blocks or undoes the change: the failure is logged and the audit record stays.
 */
export function createChanges(deps: ChangesDependencies) {
  const { audit, email, translate, logger, portalUrl, templates, timeZone = '' } = deps;
  const now = deps.now ?? Date.now;

  /**
   * SPEC N2, the one way an email is written: the administrators' wording for its language when
   * they stored one, else the shipped text, both rendered by `renderTemplate`.
   */
  async function compose(
    kind: MessageKind,
    user: UserRow,
    language: string,
    values: Record<string, string>,
  ) {
    const shipped = defaultTemplate(translate, kind, language);
    const stored = kind === 'passwordReset' ? undefined : await templates?.find(kind, language);
    const all = {
      name: user.display_name || user.username,
      username: user.username,
      portal_url: portalUrl,
      ...values,
    };
    // A stored wording was checked when saved; one that no longer renders (a placeholder a
    // later release dropped) must not cost the user their notice.
    if (stored && templateErrors(kind, stored).length === 0) {
      return renderTemplate(kind, stored, all);
    }
    if (stored) logger.warn({ kind, language }, 'stored email template does not render');
    return renderTemplate(kind, shipped, all);
  }

  function noticeValues(change: Change, language: string, context: Context) {
    const t = (key: string) => translate(language, key);
    const format = (time: number) => dateFormat(language, 'fullDateTime', timeZone).format(time);
    return {
      what:
        t(`notices.what.${change.what ?? 'factor'}`) + (change.device ? ` (${change.device})` : ''),
      until: format(change.until ?? now()),
      when: format(now()),
      ip: context.clientIp ?? t('notices.unknownAddress'),
    };
  }

  /**
   * Sends the change's notice, if it has one and the user an address. Never rejects: it resolves
   * to whether the mail server took the message. Pages do not wait for it, so a slow mail server
   * never holds them up; the command line does, before it exits.
   */
  async function notify(user: UserRow, change: Change, context: Context): Promise<boolean> {
    if (!change.notice || !email || !user.email) return false;
    const language = user.language ?? context.language;
    try {
      const message = await compose(
        change.notice,
        user,
        language,
        noticeValues(change, language, context),
      );
      await email.send({ to: user.email, language, subject: message.subject, text: message.body });
      return true;
    } catch (error) {
      logger.warn({ err: error, userId: user.id, notice: change.notice }, 'notice email failed');
      return false;
    }
  }

  /**
   * The enrolment invitation (SPEC A2, N2): where to sign in and, when the administrator just
   * set one, the initial PIN, in the user's language. Awaited, unlike notices: the administrator
   * is told whether the mail server took it.
   */
  function invitationRefusal(user: UserRow): 'no-email' | 'email-off' | 'no-portal-url' | null {
    if (!email) return 'email-off';
    if (!portalUrl) return 'no-portal-url';
    if (!user.email) return 'no-email';
    return null;
  }

  async function invite(
    user: UserRow,
    context: Context,
    pin: string | null,
  ): Promise<'sent' | 'no-email' | 'email-off' | 'no-portal-url' | 'failed'> {
    const refusal = invitationRefusal(user);
    if (refusal) return refusal;
    if (!email || !user.email) return 'email-off';
    const language = user.language ?? context.language;
    try {
      const message = await compose('invitation', user, language, { pin: pin ?? '' });
      await email.send({ to: user.email, language, subject: message.subject, text: message.body });
      return 'sent';
    } catch (error) {
      logger.warn({ err: error, userId: user.id }, 'invitation email failed');
      return 'failed';
    }
  }

  return {
    /** Audits the change, then sends its notice when email is set up and the user has an address. */
    async record(user: UserRow, change: Change, context: Context): Promise<void> {
      await audit.record(changeEvent(user, change, context));
      void notify(user, change, context);
    },

    /** The notice alone, for an event audited elsewhere (an enrolment, a bypass, a lockout). */
    notify,

    invite,

    /** Why no invitation could go to the user now, or null: before a PIN is set for one. */
    invitationRefusal,

    /** Whether notices can go out at all: email is set up (SPEC N1). */
    emailEnabled: email !== undefined,
  };
}

export type Changes = ReturnType<typeof createChanges>;
