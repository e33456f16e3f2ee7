import { offeredMethods, pinRequired } from '../../core/method-policy.ts';
import { Router, type Response } from 'express';
import createError from 'http-errors';
import { appActivation, appDeviceParameters, proveNewDevice } from '../../core/devices.ts';
import { generateOtpSecret } from '../../core/otp.ts';
import type { UserRow } from '../../data/users-repository.ts';
import { startSignedInSession } from '../../middleware/session.ts';
import type { Services } from '../../services.ts';
import { activationFor } from '../app-activation.ts';
import { readForm, type FieldError } from '../form.ts';
import { checkToken, tokenChoices, tokenFields } from '../token-form.ts';
import { phoneSetupRoutes } from './phone-routes.ts';
import { codeError, newPinErrors, readCode } from './validation.ts';
import { contextOf } from '../context.ts';

function userOf(res: Response): UserRow {
  const user = res.locals.pendingUser && res.locals.userRow;
  if (!user) throw createError(401);
  return user;
}

/** SPEC J2: User Setup. Nothing is saved until the last step succeeds. */
export function setupRoutes(services: Services): Router {
  const { secondFactor, settings: settingsRepository, questions, phoneVerification } = services;
  const offered = async () =>
    offeredMethods(await settingsRepository.read(), phoneVerification !== undefined);
  const router = Router();

  async function finish(
    res: Response,
    user: UserRow,
    answers: { questionId: string; answer: string }[],
  ) {
    const req = res.req;
    const draft = req.session.enrolment;
    if (!draft?.proof) throw createError(400, 'Setup not proven');
    await secondFactor.completeEnrolment(
      user,
      {
        method: draft.method,
        ...(draft.device && draft.sealedSecret
          ? {
              device: {
                ...draft.device,
                secret: secondFactor.openDraftSecret(user, draft.sealedSecret),
                lastStep: draft.proof.lastStep,
                counter: draft.proof.counter,
              },
            }
          : {}),
        ...(draft.pinHash ? { pinHash: draft.pinHash } : {}),
        ...(draft.phone ? { phone: draft.phone } : {}),
        ...(draft.mobilePhone ? { mobilePhone: draft.mobilePhone } : {}),
        answers,
      },
      contextOf(res),
    );
    delete req.session.enrolment;
    void services.changes.notify(
      user,
      {
        type: 'enrolment',
        notice: 'factorAdded',
        what: draft.method === 'sms' ? 'mobile' : draft.method,
        device: draft.device?.serial ?? null,
      },
      contextOf(res),
    );
    await startSignedInSession(req, user.id, services.config.SESSION_ABSOLUTE_HOURS * 3_600_000);
    req.session.provenAt = Date.now();
    res.redirect(303, res.locals.url('/account?enrolled'));
  }

  /** After the proof: questions when configured, otherwise done. */
  async function afterProof(res: Response, user: UserRow) {
    const settings = await settingsRepository.read();
    if (settings.useSecurityQuestions) res.redirect(303, res.locals.url('/setup/questions'));
    else await finish(res, user, []);
  }

  router.get('/setup', async (req, res) => {
    const methods = await offered();
    if (methods.length === 1) {
      res.redirect(res.locals.url(`/setup/${methods[0] ?? 'app'}`));
      return;
    }
    res.render('pages/setup/choose', {
      offered: methods,
      errors: [],
      chosen: req.session.enrolment?.method ?? '',
    });
  });

  router.post('/setup', async (req, res) => {
    const form = readForm(req.body, ['method'] as const);
    const methods = await offered();
    const method = methods.find((m) => m === form.method);
    if (!method) {
      res.status(400).render('pages/setup/choose', {
        offered: methods,
        chosen: '',
        errors: [{ field: 'method-0', message: 'setup.errors.chooseMethod' }],
      });
      return;
    }
    req.session.enrolment = { method };
    res.redirect(303, res.locals.url(`/setup/${method}`));
  });

  async function renderApp(res: Response, status: number, errors: FieldError[]) {
    const req = res.req;
    const user = userOf(res);
    const settings = await settingsRepository.read();
    const draft = req.session.enrolment;
    const activation =
      draft?.method === 'app' && draft.sealedSecret
        ? await activationFor(
            appActivation(
              secondFactor.openDraftSecret(user, draft.sealedSecret),
              user.username,
              res.locals.t('common.productName'),
            ),
          )
        : undefined;
    res.status(status).render('pages/setup/app', {
      activation,
      pinRequired: pinRequired('app', settings),
      pinMinLength: settings.pinMinLength,
      errors,
    });
  }

  router.get('/setup/app', async (_req, res) => {
    if (!(await offered()).includes('app')) throw createError(404);
    await renderApp(res, 200, []);
  });

  router.post('/setup/app/generate', async (req, res) => {
    readForm(req.body, []);
    if (!(await offered()).includes('app')) throw createError(404);
    req.session.enrolment = {
      method: 'app',
      sealedSecret: secondFactor.sealDraftSecret(userOf(res), generateOtpSecret()),
      device: { kind: 'app', name: 'Mobile app', serial: null, params: appDeviceParameters },
    };
    res.redirect(303, res.locals.url('/setup/app'));
  });

  router.post('/setup/app', async (req, res) => {
    const form = readForm(req.body, ['code', 'pin', 'pinConfirmation'] as const);
    const user = userOf(res);
    const settings = await settingsRepository.read();
    const draft = req.session.enrolment;
    if (draft?.method !== 'app' || !draft.sealedSecret) {
      res.redirect(303, res.locals.url('/setup/app'));
      return;
    }
    const errors = pinRequired('app', settings)
      ? newPinErrors(form.pin, form.pinConfirmation, settings.pinMinLength, [])
      : [];
    errors.push(...codeError('code', form.code, [6]));
    const code = readCode(form.code, [6]);
    const proof =
      errors.length === 0 && code
        ? proveNewDevice(
            secondFactor.openDraftSecret(user, draft.sealedSecret),
            appDeviceParameters,
            code,
            Date.now(),
          )
        : undefined;
    if (errors.length === 0 && !proof)
      errors.push({ field: 'code', message: 'codes.errors.wrong' });
    if (!proof || errors.length > 0) {
      await renderApp(res, 400, errors);
      return;
    }
    req.session.enrolment = {
      ...draft,
      proof,
      ...(pinRequired('app', settings) ? { pinHash: await secondFactor.hashPin(form.pin) } : {}),
    };
    await afterProof(res, user);
  });

  router.get('/setup/token', async (_req, res) => {
    if (!(await offered()).includes('token')) throw createError(404);
    res.render('pages/setup/token', { values: {}, choices: tokenChoices, errors: [] });
  });

  router.post('/setup/token', async (req, res) => {
    const form = readForm(req.body, tokenFields);
    const user = userOf(res);
    if (!(await offered()).includes('token')) throw createError(404);
    const { errors, token } = checkToken(form);
    if (!token) {
      const values = { ...form, secret: '', code: '' };
      res.status(400).render('pages/setup/token', { values, choices: tokenChoices, errors });
      return;
    }
    req.session.enrolment = {
      method: 'token',
      sealedSecret: secondFactor.sealDraftSecret(user, token.secret),
      device: { kind: 'token', name: token.serial, serial: token.serial, params: token.params },
      proof: token.proof,
    };
    await afterProof(res, user);
  });

  async function renderQuestions(
    res: Response,
    status: number,
    values: { questionIds: string[]; answers: string[] },
    errors: FieldError[],
  ) {
    const settings = await settingsRepository.read();
    res.status(status).render('pages/setup/questions', {
      count: settings.questionsToEnrol,
      questions: await questions.forLanguage(res.locals.lng),
      values,
      errors,
    });
  }

  router.get('/setup/questions', async (req, res) => {
    if (!req.session.enrolment?.proof) {
      res.redirect(res.locals.url('/setup'));
      return;
    }
    await renderQuestions(res, 200, { questionIds: [], answers: [] }, []);
  });

  router.post('/setup/questions', async (req, res) => {
    const settings = await settingsRepository.read();
    const count = settings.questionsToEnrol;
    const names = Array.from({ length: count }, (_, i) => [`question${i}`, `answer${i}`]).flat();
    const form: Record<string, string> = readForm(req.body, names);
    const user = userOf(res);
    if (!req.session.enrolment?.proof) {
      res.redirect(303, res.locals.url('/setup'));
      return;
    }
    const known = new Set((await questions.forLanguage(res.locals.lng)).map((q) => q.id));
    const questionIds = Array.from({ length: count }, (_, i) => form[`question${i}`] ?? '');
    const answers = Array.from({ length: count }, (_, i) => form[`answer${i}`] ?? '');
    const errors: FieldError[] = [];
    questionIds.forEach((id, i) => {
      if (!known.has(id))
        errors.push({ field: `question${i}`, message: 'setup.questions.errors.choose' });
      else if (questionIds.indexOf(id) !== i) {
        errors.push({ field: `question${i}`, message: 'setup.questions.errors.duplicate' });
      }
      const answer = answers[i]?.trim() ?? '';
      if (answer === '')
        errors.push({ field: `answer${i}`, message: 'setup.questions.errors.answerMissing' });
      else if (answer.length > 200) {
        errors.push({ field: `answer${i}`, message: 'setup.questions.errors.answerTooLong' });
      }
    });
    if (errors.length > 0) {
      await renderQuestions(res, 400, { questionIds, answers }, errors);
      return;
    }
    await finish(
      res,
      user,
      questionIds.map((questionId, i) => ({ questionId, answer: answers[i] ?? '' })),
    );
  });

  phoneSetupRoutes(router, services, { afterProof, userOf });
  return router;
}
