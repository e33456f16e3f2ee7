import { Router, type Response } from 'express';
import { normaliseAnswer } from '../../core/answers.ts';
import { hashSecret } from '../../core/passwords.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { accountUser, requireChangeAllowed, requireRecentProof } from './permissions.ts';
import { contextOf } from '../context.ts';

interface QuestionValues {
  questionIds: string[];
  answers: string[];
}

/**
 * SPEC J3, M6: choose and answer the questions again. The new answers replace all the old ones
 * at once, so the fallback never asks a mix of old and new.
 */
export function questionRoutes(services: Services): Router {
  const router = Router();
  router.use(
    '/account/questions',
    requireChangeAllowed(services, 'questions'),
    requireRecentProof(services),
  );

  async function questionsToEnrol(res: Response): Promise<number> {
    return (res.locals.portalSettings ?? (await services.settings.read())).questionsToEnrol;
  }

  async function renderQuestions(
    res: Response,
    status: number,
    values: QuestionValues,
    errors: FieldError[],
  ) {
    res.status(status).render('pages/account/questions', {
      count: await questionsToEnrol(res),
      questions: await services.questions.forLanguage(res.locals.lng),
      values,
      errors,
    });
  }

  router.get('/account/questions', async (_req, res) => {
    await renderQuestions(res, 200, { questionIds: [], answers: [] }, []);
  });

  router.post('/account/questions', async (req, res) => {
    const count = await questionsToEnrol(res);
    const names = Array.from({ length: count }, (_, i) => [`question${i}`, `answer${i}`]).flat();
    const form: Record<string, string> = readForm(req.body, names);
    const user = accountUser(res);
    const known = new Set((await services.questions.forLanguage(res.locals.lng)).map((q) => q.id));
    const questionIds = Array.from({ length: count }, (_, i) => form[`question${i}`] ?? '');
    const answers = Array.from({ length: count }, (_, i) => form[`answer${i}`] ?? '');
    const errors: FieldError[] = [];
    questionIds.forEach((id, i) => {
      if (!known.has(id)) {
        errors.push({ field: `question${i}`, message: 'setup.questions.errors.choose' });
      } else if (questionIds.indexOf(id) !== i) {
        errors.push({ field: `question${i}`, message: 'setup.questions.errors.duplicate' });
      }
      const answer = answers[i]?.trim() ?? '';
      if (answer === '') {
        errors.push({ field: `answer${i}`, message: 'setup.questions.errors.answerMissing' });
      } else if (answer.length > 200) {
        errors.push({ field: `answer${i}`, message: 'setup.questions.errors.answerTooLong' });
      }
    });
    if (errors.length > 0) {
      await renderQuestions(res, 400, { questionIds, answers }, errors);
      return;
    }
    const hashed = await Promise.all(
      questionIds.map(async (questionId, i) => ({
        question_id: questionId,
        answer_hash: await hashSecret(normaliseAnswer(answers[i] ?? ''), services.argon2),
      })),
    );
    await services.questions.replaceAnswers(user.id, hashed);
    await services.changes.record(
      user,
      { type: 'change.questions', method: 'questions', notice: 'factorChanged', what: 'questions' },
      contextOf(res),
    );
    res.redirect(303, res.locals.url('/account?done=questions'));
  });

  return router;
}
