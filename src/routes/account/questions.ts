import { Router, type Response } from 'express';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { signedInAccount, requireChangeAllowed, requireRecentProof } from './permissions.ts';
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
  const { mfa } = services;
  const router = Router();
  router.use(
    '/account/questions',
    requireChangeAllowed(services, 'questions'),
    requireRecentProof(services),
  );

  const questionsOf = (res: Response) =>
    mfa.account.securityQuestions(contextOf(res), { userId: signedInAccount(res).id });

  async function renderQuestions(
    res: Response,
    status: number,
    values: QuestionValues,
    errors: FieldError[],
  ) {
    const { count, questions } = await questionsOf(res);
    res.status(status).render('pages/account/questions', { count, questions, values, errors });
  }

  router.get('/account/questions', async (_req, res) => {
    await renderQuestions(res, 200, { questionIds: [], answers: [] }, []);
  });

  router.post('/account/questions', async (req, res) => {
    const count = res.locals.portalSettings?.questionsToEnrol ?? 0;
    const names = Array.from({ length: count }, (_, i) => [`question${i}`, `answer${i}`]).flat();
    const form: Record<string, string> = readForm(req.body, names);
    const questionIds = Array.from({ length: count }, (_, i) => form[`question${i}`] ?? '');
    const answers = Array.from({ length: count }, (_, i) => form[`answer${i}`] ?? '');
    const saved = await mfa.account.replaceAnswers(contextOf(res), {
      userId: signedInAccount(res).id,
      answers: questionIds.map((questionId, i) => ({ questionId, answer: answers[i] ?? '' })),
    });
    if (saved.outcome === 'invalid') {
      await renderQuestions(res, 400, { questionIds, answers }, saved.errors);
      return;
    }
    res.redirect(303, res.locals.url('/account?done=questions'));
  });

  return router;
}
