import { randomUUID } from 'node:crypto';
import type { Db } from './schema.ts';

export interface Question {
  id: string;
  text: string;
}

/** Security questions per language (SPEC M6) and each user's hashed answers. */
export function createQuestionsRepository(db: Db) {
  return {
    async forLanguage(language: string): Promise<Question[]> {
      return db
        .selectFrom('security_questions')
        .select(['id', 'text'])
        .where('language', '=', language)
        .where('active', '=', 1)
        .orderBy('position')
        .execute();
    },

    /** Every question, retired ones too, with how many users answered each (SPEC M6, A3). */
    async all(): Promise<
      (Question & { language: string; position: number; active: boolean; answers: number })[]
    > {
      const rows = await db
        .selectFrom('security_questions')
        .leftJoin('security_answers', 'security_answers.question_id', 'security_questions.id')
        .select(({ fn }) => [
          'security_questions.id',
          'security_questions.language',
          'security_questions.text',
          'security_questions.active',
          'security_questions.position',
          fn.count<number | string | bigint>('security_answers.user_id').as('answers'),
        ])
        .groupBy([
          'security_questions.id',
          'security_questions.language',
          'security_questions.text',
          'security_questions.active',
          'security_questions.position',
        ])
        .orderBy('security_questions.language')
        .orderBy('security_questions.position')
        .execute();
      return rows.map((row) => ({
        ...row,
        active: row.active !== 0,
        answers: Number(row.answers),
      }));
    },

    async add(language: string, text: string, position?: number): Promise<string> {
      const id = randomUUID();
      const last = await db
        .selectFrom('security_questions')
        .select(({ fn }) => fn.max('position').as('last'))
        .where('language', '=', language)
        .executeTakeFirst();
      const next = (last?.last ?? -1) + 1;
      await db
        .insertInto('security_questions')
        .values({ id, language, text, position: position ?? next, active: 1 })
        .execute();
      return id;
    },

    async setText(id: string, text: string): Promise<void> {
      await db.updateTable('security_questions').set({ text }).where('id', '=', id).execute();
    },

    async setActive(id: string, active: boolean): Promise<void> {
      await db
        .updateTable('security_questions')
        .set({ active: active ? 1 : 0 })
        .where('id', '=', id)
        .execute();
    },

    async answersOf(userId: string) {
      return db
        .selectFrom('security_answers')
        .innerJoin('security_questions', 'security_questions.id', 'security_answers.question_id')
        .select(['security_answers.question_id', 'security_answers.answer_hash', 'security_questions.text', 'security_questions.language'])
        .where('security_answers.user_id', '=', userId)
        .execute();
    },

    /** A user's new answers replace all the old ones at once, or none of them do. */
    async replaceAnswers(
      userId: string,
      answers: { question_id: string; answer_hash: string }[],
      now = Date.now(),
    ): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('security_answers').where('user_id', '=', userId).execute();
        await trx
          .insertInto('security_answers')
          .values(answers.map((answer) => ({ ...answer, user_id: userId })))
          .execute();
        await trx.updateTable('users').set({ updated_at: now }).where('id', '=', userId).execute();
      });
    },
  };
}

export type QuestionsRepository = ReturnType<typeof createQuestionsRepository>;
