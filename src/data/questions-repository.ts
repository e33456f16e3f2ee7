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
