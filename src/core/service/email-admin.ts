import { createAdminGrantsRepository } from '../../data/admin-grants-repository.ts';
import { noUser } from '../../data/audit-repository.ts';
import { createEmailTemplatesRepository } from '../../data/email-templates-repository.ts';
import type { SmtpState } from '../../providers/email.ts';
import { createAdministrators } from '../administrators.ts';
import { adminOf, type Context } from '../context.ts';
import { dateFormat } from '../dates.ts';
import {
  defaultTemplate,
  placeholdersOf,
  renderTemplate,
  templateErrors,
  templateKinds,
  type Template,
  type TemplateKind,
} from '../email-templates.ts';
import { isLanguage, languages } from '../languages.ts';
import { MfaError, type FieldError } from '../mfa-service.ts';
import type { MfaServiceDependencies } from './index.ts';
import { isEmail } from '../user-fields.ts';

/** One email in one language, as the console lists it. */
export interface TemplateSummary {
  kind: TemplateKind;
  language: string;
  /** An administrator stored a wording; otherwise the shipped text is sent. */
  customised: boolean;
}

export interface TemplateInput {
  kind: string;
  language: string;
  subject: string;
  body: string;
}

/**
 * SPEC N2, A3: email for an administrator holding "manage settings" for every group. SMTP is
 * deployment configuration, shown and tried ("send a test message"), never changed here; the
 * wording of each email per language is stored, previewed, and refused with the reason when it
 * does not render. Every change and test message is audited with the administrator.
 */
export interface EmailAdministration {
  overview(context: Context): Promise<{
    smtp: SmtpState;
    /** Whether email can go out at all (SMTP_HOST set). */
    enabled: boolean;
    templates: TemplateSummary[];
  }>;
  /**
   * A short message to the address typed, over the configured SMTP server, now; at most
   * `testMessagesPerHour` an hour per administrator and one at a time, so that the console is no
   * relay for mail to anyone (SPEC S5).
   */
  sendTest(
    context: Context,
    input: { to: string },
  ): Promise<
    | { outcome: 'sent' }
    | { outcome: 'email-off' }
    | { outcome: 'too-many'; max: number }
    | { outcome: 'failed'; reason: string }
    | { outcome: 'invalid'; errors: FieldError[] }
  >;
  /** The wording sent now (stored, or the shipped text) and the placeholders it may use. */
  template(
    context: Context,
    input: { kind: string; language: string },
  ): Promise<{ template: Template; customised: boolean; placeholders: readonly string[] }>;
  /** The email a wording gives with example values; nothing is saved. */
  preview(
    context: Context,
    input: TemplateInput,
  ): Promise<
    { outcome: 'preview'; message: Template } | { outcome: 'invalid'; errors: FieldError[] }
  >;
  saveTemplate(
    context: Context,
    input: TemplateInput,
  ): Promise<{ outcome: 'saved' } | { outcome: 'invalid'; errors: FieldError[] }>;
  /** Back to the shipped text for that email and language. */
  resetTemplate(context: Context, input: { kind: string; language: string }): Promise<void>;
}

/** Test messages an administrator may send an hour (each one audited, as `email.test`). */
export const testMessagesPerHour = 10;

export function createEmailAdministration(deps: MfaServiceDependencies): EmailAdministration {
  const { db, users, audit, translate, logger } = deps;
  const now = deps.now ?? Date.now;
  const templates = deps.emailTemplates ?? createEmailTemplatesRepository(db);
  const administrators = createAdministrators({ users, grants: createAdminGrantsRepository(db) });
  const allowed = (context: Context) =>
    administrators.authorise(context, 'manage-settings', 'everyone');
  const smtp: SmtpState = deps.smtp ?? {
    host: '',
    port: 587,
    secure: false,
    authenticated: false,
    from: '',
  };

  const record = (context: Context, type: string, result: 'success' | 'failure', reason: string) =>
    audit.record({
      type,
      result,
      reason: reason.slice(0, 1000),
      ...noUser,
      device: null,
      method: null,
      client_ip: context.clientIp ?? null,
      admin_id: adminOf(context),
    });

  /** The email and language named, or `not-found` (a link no page of ours makes). */
  function which(input: { kind: string; language: string }) {
    const { kind, language } = input;
    if (!(templateKinds as readonly string[]).includes(kind) || !isLanguage(language)) {
      throw new MfaError('not-found', 'No such email');
    }
    return { kind: kind as TemplateKind, language };
  }

  const trimmed = (input: TemplateInput): Template => ({
    subject: input.subject.trim(),
    body: input.body.replace(/\r\n/g, '\n').replace(/\s+$/, ''),
  });

  /** Example values, in the language of the email, for a preview. */
  function examples(language: string): Record<string, string> {
    const t = (key: string) => translate(language, key);
    const format = (time: number) => dateFormat(language, 'fullDateTime', '').format(time);
    return {
      name: t('adminEmail.example.name'),
      username: t('adminEmail.example.username'),
      portal_url: deps.portalUrl || 'https://mfa.example.org',
      pin: '482915',
      what: t('notices.what.app'),
      until: format(now() + 15 * 60_000),
      when: format(now()),
      ip: '192.0.2.10',
    };
  }

  /** Administrators sending a test message now (in this process). */
  const sending = new Set<string>();

  async function sendTestTo(context: Context, address: string) {
    const email = deps.email;
    if (!email) return { outcome: 'email-off' as const };
    const t = (key: string, values?: Record<string, unknown>) =>
      translate(context.language, key, values);
    try {
      await email.send({
        to: address,
        language: context.language,
        subject: t('adminEmail.test.subject'),
        text: t('adminEmail.test.body', { server: `${smtp.host}:${smtp.port}` }),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn({ err: error }, 'test email failed');
      await record(context, 'email.test', 'failure', `to ${address}: ${reason}`);
      return { outcome: 'failed' as const, reason };
    }
    await record(context, 'email.test', 'success', `to ${address}`);
    return { outcome: 'sent' as const };
  }

  return {
    async overview(context) {
      await allowed(context);
      const customised = await templates.customised();
      return {
        smtp,
        enabled: deps.email !== undefined,
        templates: templateKinds.flatMap((kind) =>
          languages.map((language) => ({
            kind,
            language,
            customised: customised.has(`${kind}/${language}`),
          })),
        ),
      };
    },

    async sendTest(context, { to }) {
      await allowed(context);
      const address = to.trim();
      if (!isEmail(address)) {
        return { outcome: 'invalid', errors: [{ field: 'to', message: 'adminEmail.errors.to' }] };
      }
      if (!deps.email) return { outcome: 'email-off' };
      const admin = adminOf(context) ?? '';
      // One at a time (taken before any await), then counted from the audit: every instance's.
      if (sending.has(admin)) return { outcome: 'too-many', max: testMessagesPerHour };
      sending.add(admin);
      try {
        const sent = await db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.countAll<number | string | bigint>().as('count'))
          .where('type', '=', 'email.test')
          .where('admin_id', '=', admin)
          .where('occurred_at', '>', now() - 3600_000)
          .executeTakeFirstOrThrow();
        if (Number(sent.count) >= testMessagesPerHour) {
          return { outcome: 'too-many', max: testMessagesPerHour };
        }
        return await sendTestTo(context, address);
      } finally {
        sending.delete(admin);
      }
    },

    async template(context, input) {
      await allowed(context);
      const { kind, language } = which(input);
      const stored = await templates.find(kind, language);
      return {
        template: stored ?? defaultTemplate(translate, kind, language),
        customised: stored !== undefined,
        placeholders: placeholdersOf[kind],
      };
    },

    async preview(context, input) {
      await allowed(context);
      const { kind, language } = which(input);
      const template = trimmed(input);
      const errors = templateErrors(kind, template);
      if (errors.length > 0) return { outcome: 'invalid', errors };
      return { outcome: 'preview', message: renderTemplate(kind, template, examples(language)) };
    },

    async saveTemplate(context, input) {
      await allowed(context);
      const { kind, language } = which(input);
      const template = trimmed(input);
      const errors = templateErrors(kind, template);
      if (errors.length > 0) return { outcome: 'invalid', errors };
      await templates.save(kind, language, template, adminOf(context), now());
      await record(
        context,
        'email.template.saved',
        'success',
        `${kind} ${language}: ${template.subject}`,
      );
      return { outcome: 'saved' };
    },

    async resetTemplate(context, input) {
      await allowed(context);
      const { kind, language } = which(input);
      if (await templates.remove(kind, language)) {
        await record(context, 'email.template.reset', 'success', `${kind} ${language}`);
      }
    },
  };
}
