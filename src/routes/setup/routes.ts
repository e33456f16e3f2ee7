import { Router, type Response } from 'express';
import createError from 'http-errors';
import type { CompletionOutcome, ProofOutcome } from '../../core/service/enrolment.ts';
import { startSignedInSession } from '../../middleware/session.ts';
import type { Services } from '../../services.ts';
import { activationFor } from '../app-activation.ts';
import { contextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';
import { renderLocked } from '../locked.ts';
import { tokenChoices, tokenFields } from '../token-form.ts';
import { phoneSetupRoutes } from './phone-routes.ts';

/** The user whose password was just proven: only they reach User Setup (SPEC S10). */
function userIdOf(res: Response): string {
  const id = res.locals.pendingUser?.id;
  if (id === undefined) throw createError(401);
  return id;
}

/** SPEC J2: User Setup. The core keeps the setup in progress; nothing is saved before the end. */
export function setupRoutes(services: Services): Router {
  const { enrolment } = services.mfa;
  const router = Router();

  /** Saved: the user is signed in, with the proof of the method they have just set up. */
  async function finish(
    res: Response,
    outcome: Exclude<CompletionOutcome, { outcome: 'invalid' }>,
  ) {
    const req = res.req;
    if (outcome.outcome === 'not-started') {
      res.redirect(303, res.locals.url('/setup'));
      return;
    }
    delete req.session.enrolmentDraftId;
    await startSignedInSession(
      req,
      userIdOf(res),
      services.config.SESSION_ABSOLUTE_HOURS * 3_600_000,
    );
    req.session.provenAt = Date.now();
    res.redirect(303, res.locals.url('/account?enrolled'));
  }

  /** After the proof: the questions when the portal uses them, otherwise the setup is saved. */
  async function afterProof(res: Response, proven: Extract<ProofOutcome, { outcome: 'proven' }>) {
    res.req.session.enrolmentDraftId = proven.draftId;
    const outcome =
      proven.next === 'questions'
        ? undefined
        : await enrolment.complete(contextOf(res), {
            userId: userIdOf(res),
            draftId: proven.draftId,
            answers: [],
          });
    // Questions to answer, or the portal started to ask them meanwhile.
    if (outcome === undefined || outcome.outcome === 'invalid') {
      res.redirect(303, res.locals.url('/setup/questions'));
      return;
    }
    await finish(res, outcome);
  }

  async function renderChoice(res: Response, status: number, chosen: string, errors: FieldError[]) {
    const offered = await enrolment.offeredMethods(contextOf(res), { userId: userIdOf(res) });
    res.status(status).render('pages/setup/choose', { offered, chosen, errors });
  }

  router.get('/setup', async (req, res) => {
    const context = contextOf(res);
    const userId = userIdOf(res);
    const methods = await enrolment.offeredMethods(context, { userId });
    if (methods.length === 1) {
      res.redirect(res.locals.url(`/setup/${methods[0] ?? 'app'}`));
      return;
    }
    const draftId = req.session.enrolmentDraftId;
    const progress = draftId ? await enrolment.progress(context, { userId, draftId }) : null;
    res.render('pages/setup/choose', {
      offered: methods,
      errors: [],
      chosen: progress?.method ?? '',
    });
  });

  router.post('/setup', async (req, res) => {
    const form = readForm(req.body, ['method'] as const);
    const begun = await enrolment.begin(contextOf(res), {
      userId: userIdOf(res),
      method: form.method,
      draftId: req.session.enrolmentDraftId,
    });
    if (begun.outcome === 'invalid') {
      await renderChoice(res, 400, '', begun.errors);
      return;
    }
    req.session.enrolmentDraftId = begun.draftId;
    res.redirect(303, res.locals.url(`/setup/${form.method}`));
  });

  async function renderApp(res: Response, status: number, errors: FieldError[]) {
    const { activation, pin } = await enrolment.appSetup(contextOf(res), {
      userId: userIdOf(res),
      draftId: res.req.session.enrolmentDraftId,
      issuer: res.locals.t('common.productName'),
    });
    res.status(status).render('pages/setup/app', {
      activation: activation ? await activationFor(activation) : undefined,
      pinRequired: pin.required,
      pinMinLength: pin.minLength,
      errors,
    });
  }

  router.get('/setup/app', async (_req, res) => {
    await renderApp(res, 200, []);
  });

  router.post('/setup/app/generate', async (req, res) => {
    readForm(req.body, []);
    const { draftId } = await enrolment.generateAppSeed(contextOf(res), {
      userId: userIdOf(res),
      draftId: req.session.enrolmentDraftId,
    });
    req.session.enrolmentDraftId = draftId;
    res.redirect(303, res.locals.url('/setup/app'));
  });

  router.post('/setup/app', async (req, res) => {
    const form = readForm(req.body, ['code', 'pin', 'pinConfirmation'] as const);
    const draftId = req.session.enrolmentDraftId;
    const outcome =
      draftId === undefined
        ? ({ outcome: 'not-started' } as const)
        : await enrolment.proveApp(contextOf(res), { userId: userIdOf(res), draftId, ...form });
    if (outcome.outcome === 'not-started') {
      res.redirect(303, res.locals.url('/setup/app'));
      return;
    }
    if (outcome.outcome === 'invalid') {
      await renderApp(res, 400, outcome.errors);
      return;
    }
    await afterProof(res, outcome);
  });

  router.get('/setup/token', async (_req, res) => {
    const offered = await enrolment.offeredMethods(contextOf(res), { userId: userIdOf(res) });
    if (!offered.includes('token')) throw createError(404);
    res.render('pages/setup/token', { values: {}, choices: tokenChoices, errors: [] });
  });

  router.post('/setup/token', async (req, res) => {
    const form = readForm(req.body, tokenFields);
    const outcome = await enrolment.proveToken(contextOf(res), {
      userId: userIdOf(res),
      draftId: req.session.enrolmentDraftId,
      token: form,
    });
    if (outcome.outcome === 'invalid') {
      // A secret or code typed once is never shown again.
      const values = { ...form, secret: '', code: '' };
      res
        .status(400)
        .render('pages/setup/token', { values, choices: tokenChoices, errors: outcome.errors });
      return;
    }
    await afterProof(res, outcome);
  });

  function renderImported(res: Response, status: number, serial = '', errors: FieldError[] = []) {
    res.status(status).render('pages/account/token-imported', {
      action: '/setup/token/imported',
      back: { href: '/setup', text: 'setup.otherMethod' },
      values: { serial },
      errors,
    });
  }

  router.get('/setup/token/imported', async (_req, res) => {
    const offered = await enrolment.offeredMethods(contextOf(res), { userId: userIdOf(res) });
    if (!offered.includes('token')) throw createError(404);
    renderImported(res, 200);
  });

  router.post('/setup/token/imported', async (req, res) => {
    const form = readForm(req.body, ['serial', 'code'] as const);
    const outcome = await enrolment.proveImportedToken(contextOf(res), {
      userId: userIdOf(res),
      draftId: req.session.enrolmentDraftId,
      ...form,
    });
    if (outcome.outcome === 'locked') {
      renderLocked(res, outcome.until);
      return;
    }
    if (outcome.outcome === 'invalid') {
      renderImported(res, 400, form.serial, outcome.errors);
      return;
    }
    await afterProof(res, outcome);
  });

  function renderQuestions(
    res: Response,
    status: number,
    page: { count: number; questions: { id: string; text: string }[] },
    values: { questionIds: string[]; answers: string[] },
    errors: FieldError[],
  ) {
    res.status(status).render('pages/setup/questions', { ...page, values, errors });
  }

  router.get('/setup/questions', async (req, res) => {
    const context = contextOf(res);
    const userId = userIdOf(res);
    const draftId = req.session.enrolmentDraftId;
    const progress = draftId ? await enrolment.progress(context, { userId, draftId }) : null;
    if (!progress?.proven) {
      res.redirect(res.locals.url('/setup'));
      return;
    }
    const page = await enrolment.questions(context, { userId });
    renderQuestions(res, 200, page, { questionIds: [], answers: [] }, []);
  });

  router.post('/setup/questions', async (req, res) => {
    const context = contextOf(res);
    const userId = userIdOf(res);
    const page = await enrolment.questions(context, { userId });
    const names = Array.from({ length: page.count }, (_, i) => [`question${i}`, `answer${i}`]);
    const form: Record<string, string> = readForm(req.body, names.flat());
    const draftId = req.session.enrolmentDraftId;
    if (draftId === undefined) {
      res.redirect(303, res.locals.url('/setup'));
      return;
    }
    const questionIds = names.map(([question]) => form[question ?? ''] ?? '');
    const answers = names.map(([, answer]) => form[answer ?? ''] ?? '');
    const outcome = await enrolment.complete(context, {
      userId,
      draftId,
      answers: questionIds.map((questionId, i) => ({ questionId, answer: answers[i] ?? '' })),
    });
    if (outcome.outcome === 'invalid') {
      renderQuestions(res, 400, page, { questionIds, answers }, outcome.errors);
      return;
    }
    await finish(res, outcome);
  });

  phoneSetupRoutes(router, services, { afterProof });
  return router;
}
