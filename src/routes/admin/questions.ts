import { Router, type Response } from 'express';
import createError from 'http-errors';
import { isLanguage } from '../../core/languages.ts';
import type { Services } from '../../services.ts';
import { adminContextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';

/** The confirmations the list may show after an action: `?done=added`. */
const doneNotices = new Set([
  'added',
  'reworded',
  'replaced',
  'unchanged',
  'retired',
  'reinstated',
  'counts',
]);

const listPath = (res: Response, done: string, language = '') =>
  res.locals.url(`/admin/questions?done=${done}${language ? `&language=${language}` : ''}`);

/**
 * SPEC M6, A3: the security questions per language, added, reworded, retired and offered again,
 * and how many to enrol and to answer. Every route: a signed-in administrator (the journey) with
 * "manage settings" for every group (the core; others get the localised 403, nothing changed).
 * They obey no portal setting but change `questionsToEnrol` and `questionsToAnswer`.
 */
export function adminQuestionRoutes(services: Services): Router {
  const { questionsAdmin } = services.mfa;
  const router = Router();

  /** The list to come back to after an action on a question: its language's. */
  async function languageOf(res: Response, id: string) {
    const { questions } = await questionsAdmin.list(adminContextOf(res));
    return questions.find((q) => q.id === id)?.language ?? '';
  }

  async function renderList(
    res: Response,
    status: number,
    options: {
      errors?: FieldError[];
      typed?: Record<string, string>;
      problem?: string;
      needed?: number;
    } = {},
  ) {
    const list = await questionsAdmin.list(adminContextOf(res));
    const { done, language } = res.req.query;
    // One language at a time keeps the page light (SPEC P5); the page's own by default.
    const shown =
      typeof language === 'string' && isLanguage(language)
        ? language
        : (options.typed?.language ?? '') || res.locals.lng;
    res.status(status).render('pages/admin/questions/index', {
      ...list,
      questions: list.questions.filter((q) => q.language === shown),
      shown,
      notice:
        typeof done === 'string' && doneNotices.has(done) ? `adminQuestions.done.${done}` : '',
      problem: options.problem ?? '',
      needed: options.needed ?? 0,
      errors: options.errors ?? [],
      typed: {
        language: '',
        text: '',
        questionsToEnrol: String(list.questionsToEnrol),
        questionsToAnswer: String(list.questionsToAnswer),
        ...options.typed,
      },
    });
  }

  // Administrator with "manage settings" for every group.
  router.get('/admin/questions', async (_req, res) => {
    await renderList(res, 200);
  });

  // Administrator with "manage settings" for every group: a new question in one language.
  router.post('/admin/questions', async (req, res) => {
    const form = readForm(req.body, ['language', 'text'] as const);
    const added = await questionsAdmin.add(adminContextOf(res), form);
    if (added.outcome === 'invalid') {
      await renderList(res, 400, { errors: added.errors, typed: form });
      return;
    }
    res.redirect(303, listPath(res, 'added', form.language));
  });

  // Administrator with "manage settings" for every group: `questionsToEnrol`, `questionsToAnswer`.
  router.post('/admin/questions/counts', async (req, res) => {
    const form = readForm(req.body, ['questionsToEnrol', 'questionsToAnswer'] as const);
    const saved = await questionsAdmin.changeCounts(adminContextOf(res), form);
    if (saved.outcome === 'invalid') {
      await renderList(res, 400, { errors: saved.errors, typed: form });
      return;
    }
    res.redirect(303, listPath(res, 'counts'));
  });

  async function renderEdit(res: Response, status: number, errors: FieldError[], text?: string) {
    const { questions } = await questionsAdmin.list(adminContextOf(res));
    const question = questions.find((q) => q.id === res.req.params.id);
    if (!question) throw createError(404);
    res.status(status).render('pages/admin/questions/edit', {
      question,
      text: text ?? question.text,
      errors,
    });
  }

  // Administrator with "manage settings" for every group.
  router.get('/admin/questions/:id/edit', async (_req, res) => {
    await renderEdit(res, 200, []);
  });

  // Administrator with "manage settings" for every group: a new wording (the rule in the core).
  router.post('/admin/questions/:id/edit', async (req, res) => {
    const form = readForm(req.body, ['text'] as const);
    const edited = await questionsAdmin.edit(adminContextOf(res), {
      questionId: req.params.id,
      text: form.text,
    });
    if (edited.outcome === 'invalid') {
      await renderEdit(res, 400, edited.errors, form.text);
      return;
    }
    res.redirect(303, listPath(res, edited.outcome, await languageOf(res, req.params.id)));
  });

  // Administrator with "manage settings" for every group: retire, or offer again.
  for (const [action, retired] of [
    ['retire', true],
    ['reinstate', false],
  ] as const) {
    router.post(`/admin/questions/:id/${action}`, async (req, res) => {
      readForm(req.body, [] as const);
      const saved = await questionsAdmin.setRetired(adminContextOf(res), {
        questionId: req.params.id,
        retired,
      });
      if (saved.outcome === 'too-few') {
        await renderList(res, 409, { problem: 'adminQuestions.tooFew', needed: saved.needed });
        return;
      }
      res.redirect(
        303,
        listPath(res, retired ? 'retired' : 'reinstated', await languageOf(res, req.params.id)),
      );
    });
  }

  return router;
}
