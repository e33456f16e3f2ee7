import { createAdminGrantsRepository } from '../../data/admin-grants-repository.ts';
import { createAuditRepository, noUser } from '../../data/audit-repository.ts';
import { createQuestionsRepository } from '../../data/questions-repository.ts';
import type { Db } from '../../data/schema.ts';
import { createAdministrators } from '../administrators.ts';
import { normaliseAnswer } from '../answers.ts';
import { adminOf, type Context } from '../context.ts';
import { isLanguage, languages } from '../languages.ts';
import { MfaError, type FieldError } from '../mfa-service.ts';
import type { MfaServiceDependencies } from './index.ts';

/** A security question as the console lists it (SPEC M6). */
export interface QuestionView {
  id: string;
  language: string;
  text: string;
  /** Offered for new enrolments; a retired question still verifies the answers given to it. */
  active: boolean;
  /** How many users answered it. */
  answers: number;
}

/** The most characters of a question. */
export const questionMaxLength = 200;

/** The bounds of "questions to enrol" and "to answer" whatever the list (SPEC §5). */
export const questionCountBounds = { min: 1, max: 10 } as const;

/**
 * SPEC M6, A3: the security questions per language and how many a user enrols and answers,
 * for an administrator holding "manage settings" for every group (they apply to every user).
 *
 * The rule for a question's wording: an answer is an answer to the words the user read. A
 * question nobody answered yet is simply reworded. A question with answers is never reworded
 * under them: the new wording becomes a new question in its place, and the old one is retired,
 * so the users who answered it keep being asked the words they answered, and their answers keep
 * verifying, until they choose their questions again.
 */
export interface QuestionsAdministration {
  list(context: Context): Promise<{
    questions: QuestionView[];
    questionsToEnrol: number;
    questionsToAnswer: number;
  }>;
  add(
    context: Context,
    input: { language: string; text: string },
  ): Promise<{ outcome: 'added'; id: string } | { outcome: 'invalid'; errors: FieldError[] }>;
  /** A new wording: in place when unanswered, else a new question in its place (above). */
  edit(
    context: Context,
    input: { questionId: string; text: string },
  ): Promise<
    | { outcome: 'reworded' | 'unchanged' }
    | { outcome: 'replaced'; id: string }
    | { outcome: 'invalid'; errors: FieldError[] }
  >;
  /**
   * Retires a question (no longer offered; its answers still verify) or offers it again. A
   * language keeps at least "questions to enrol" active questions.
   */
  setRetired(
    context: Context,
    input: { questionId: string; retired: boolean },
  ): Promise<{ outcome: 'saved' } | { outcome: 'too-few'; needed: number }>;
  /**
   * "Questions to enrol" and "to answer" from their text form: whole numbers, to answer no more
   * than to enrol, to enrol no more than the active questions of any language.
   */
  changeCounts(
    context: Context,
    input: { questionsToEnrol: string; questionsToAnswer: string },
  ): Promise<{ outcome: 'saved' } | { outcome: 'invalid'; errors: FieldError[] }>;
}

/** The fewest active questions of any language: no one can enrol more than that. */
export async function fewestActiveQuestions(db: Db): Promise<number> {
  const questions = await createQuestionsRepository(db).all();
  return Math.min(
    ...languages.map(
      (language) => questions.filter((q) => q.active && q.language === language).length,
    ),
  );
}

const readWhole = (typed: string): number | null =>
  /^\s*\d{1,3}\s*$/.test(typed) ? Number(typed.trim()) : null;

export function createQuestionsAdministration(
  deps: MfaServiceDependencies,
): QuestionsAdministration {
  const { db, users, settings } = deps;
  const now = deps.now ?? Date.now;
  const administrators = createAdministrators({ users, grants: createAdminGrantsRepository(db) });
  const allowed = (context: Context) =>
    administrators.authorise(context, 'manage-settings', 'everyone');

  const record = (trx: Db, context: Context, type: string, reason: string) =>
    createAuditRepository(trx).record(
      {
        type,
        result: 'success',
        reason: reason.slice(0, 1000),
        ...noUser,
        device: null,
        method: null,
        client_ip: context.clientIp ?? null,
        admin_id: adminOf(context),
      },
      now(),
    );

  async function question(questionId: string): Promise<QuestionView & { position: number }> {
    const found = (await createQuestionsRepository(db).all()).find((q) => q.id === questionId);
    if (!found) throw new MfaError('not-found', 'No such question');
    return found;
  }

  /** What is wrong with a question's text in its language, beside the question `except`. */
  async function textErrors(language: string, text: string, except?: string) {
    const errors: FieldError[] = [];
    const trimmed = text.trim();
    if (trimmed === '')
      errors.push({ field: 'text', message: 'adminQuestions.errors.textMissing' });
    else if (
      trimmed.length > questionMaxLength ||
      /[\p{C}\uFFFD]/u.test(trimmed.replace(/[\u00a0\u202f]/g, ' '))
    ) {
      errors.push({
        field: 'text',
        message: 'adminQuestions.errors.textTooLong',
        values: { max: questionMaxLength },
      });
    } else {
      const others = (await createQuestionsRepository(db).all()).filter(
        (q) => q.active && q.language === language && q.id !== except,
      );
      if (others.some((q) => normaliseAnswer(q.text) === normaliseAnswer(trimmed))) {
        errors.push({ field: 'text', message: 'adminQuestions.errors.duplicate' });
      }
    }
    return errors;
  }

  return {
    async list(context) {
      await allowed(context);
      const current = await settings.read();
      const questions = (await createQuestionsRepository(db).all()).map((q): QuestionView => ({
        id: q.id,
        language: q.language,
        text: q.text,
        active: q.active,
        answers: q.answers,
      }));
      return {
        questions,
        questionsToEnrol: current.questionsToEnrol,
        questionsToAnswer: current.questionsToAnswer,
      };
    },

    async add(context, { language, text }) {
      await allowed(context);
      const errors: FieldError[] = [];
      if (!isLanguage(language)) {
        errors.push({ field: 'language', message: 'adminQuestions.errors.language' });
      } else {
        errors.push(...(await textErrors(language, text)));
      }
      if (errors.length > 0) return { outcome: 'invalid', errors };
      const id = await db.transaction().execute(async (trx) => {
        const added = await createQuestionsRepository(trx).add(language, text.trim());
        await record(trx, context, 'questions.added', `${language} ${added}: ${text.trim()}`);
        return added;
      });
      return { outcome: 'added', id };
    },

    async edit(context, { questionId, text }) {
      await allowed(context);
      const before = await question(questionId);
      const wording = text.trim();
      if (wording === before.text) return { outcome: 'unchanged' };
      const errors = await textErrors(before.language, text, questionId);
      if (errors.length > 0) return { outcome: 'invalid', errors };
      if (before.answers === 0) {
        await db.transaction().execute(async (trx) => {
          await createQuestionsRepository(trx).setText(questionId, wording);
          await record(
            trx,
            context,
            'questions.reworded',
            `${before.language} ${questionId}: ${before.text} → ${wording}`,
          );
        });
        return { outcome: 'reworded' };
      }
      const id = await db.transaction().execute(async (trx) => {
        const repository = createQuestionsRepository(trx);
        const added = await repository.add(before.language, wording, before.position);
        await repository.setActive(questionId, false);
        await record(
          trx,
          context,
          'questions.replaced',
          `${before.language} ${questionId} (retired, ${before.answers} answers kept): ${before.text} → ${added}: ${wording}`,
        );
        return added;
      });
      return { outcome: 'replaced', id };
    },

    async setRetired(context, { questionId, retired }) {
      await allowed(context);
      const before = await question(questionId);
      if (before.active === !retired) return { outcome: 'saved' };
      const needed = (await settings.read()).questionsToEnrol;
      return db.transaction().execute(async (trx) => {
        const repository = createQuestionsRepository(trx);
        if (retired) {
          // The language's active questions locked first (PostgreSQL; SQLite runs one
          // transaction at a time) and counted after: of two retirements at once, the second
          // counts what the first left, and neither can leave fewer than "questions to enrol".
          await trx
            .updateTable('security_questions')
            .set((eb) => ({ active: eb.ref('active') }))
            .where('language', '=', before.language)
            .where('active', '=', 1)
            .execute();
          const active = await repository.forLanguage(before.language);
          if (!active.some((q) => q.id === questionId)) return { outcome: 'saved' as const };
          if (active.length - 1 < needed) return { outcome: 'too-few' as const, needed };
        }
        await repository.setActive(questionId, !retired);
        await record(
          trx,
          context,
          retired ? 'questions.retired' : 'questions.reinstated',
          `${before.language} ${questionId}: ${before.text}`,
        );
        return { outcome: 'saved' as const };
      });
    },

    async changeCounts(context, input) {
      await allowed(context);
      const errors: FieldError[] = [];
      const fewest = await fewestActiveQuestions(db);
      const toEnrol = readWhole(input.questionsToEnrol);
      const toAnswer = readWhole(input.questionsToAnswer);
      const max = Math.min(questionCountBounds.max, fewest);
      if (toEnrol === null || toEnrol < questionCountBounds.min || toEnrol > max) {
        errors.push({
          field: 'questionsToEnrol',
          message: 'adminQuestions.errors.toEnrol',
          values: { min: questionCountBounds.min, max },
        });
      }
      const answerMax = Math.min(toEnrol ?? max, max);
      if (toAnswer === null || toAnswer < questionCountBounds.min || toAnswer > answerMax) {
        errors.push({
          field: 'questionsToAnswer',
          message: 'adminQuestions.errors.toAnswer',
          values: { min: questionCountBounds.min, max: answerMax },
        });
      }
      if (errors.length > 0 || toEnrol === null || toAnswer === null) {
        return { outcome: 'invalid', errors };
      }
      const current = await settings.read();
      const changed = [
        ['questionsToEnrol', current.questionsToEnrol, toEnrol],
        ['questionsToAnswer', current.questionsToAnswer, toAnswer],
      ] as const;
      for (const [key, old, value] of changed) {
        if (old === value) continue;
        await settings.write(key, value);
        await record(db, context, 'settings.changed', `${key}: ${old} → ${value}`);
      }
      return { outcome: 'saved' };
    },
  };
}
