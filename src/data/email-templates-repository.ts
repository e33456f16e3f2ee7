import type { Template, TemplateKind } from '../core/email-templates.ts';
import type { Db } from './schema.ts';

/** The administrators' wording of each email per language (SPEC N2); no row: the shipped text. */
export function createEmailTemplatesRepository(db: Db) {
  return {
    async find(kind: TemplateKind, language: string): Promise<Template | undefined> {
      return db
        .selectFrom('email_templates')
        .select(['subject', 'body'])
        .where('kind', '=', kind)
        .where('language', '=', language)
        .executeTakeFirst();
    },

    /** Which emails have a stored wording, as `kind/language`. */
    async customised(): Promise<Set<string>> {
      const rows = await db.selectFrom('email_templates').select(['kind', 'language']).execute();
      return new Set(rows.map((row) => `${row.kind}/${row.language}`));
    },

    async save(
      kind: TemplateKind,
      language: string,
      template: Template,
      updatedBy: string | null,
      now = Date.now(),
    ): Promise<void> {
      const row = { ...template, updated_at: now, updated_by: updatedBy };
      await db
        .insertInto('email_templates')
        .values({ kind, language, ...row })
        .onConflict((oc) => oc.columns(['kind', 'language']).doUpdateSet(row))
        .execute();
    },

    /** Back to the shipped text; whether there was a stored wording. */
    async remove(kind: TemplateKind, language: string): Promise<boolean> {
      const result = await db
        .deleteFrom('email_templates')
        .where('kind', '=', kind)
        .where('language', '=', language)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}

export type EmailTemplatesRepository = ReturnType<typeof createEmailTemplatesRepository>;
