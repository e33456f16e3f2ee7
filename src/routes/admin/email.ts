import { Router, type Response } from 'express';
import createError from 'http-errors';
import type { Template } from '../../core/email-templates.ts';
import type { Services } from '../../services.ts';
import { adminContextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';

const doneNotices = new Set(['sent', 'saved', 'reset']);

const paramsOf = (res: Response) => {
  const { kind, language } = res.req.params;
  return {
    kind: typeof kind === 'string' ? kind : '',
    language: typeof language === 'string' ? language : '',
  };
};

const templatePath = (kind: string, language: string) =>
  `/admin/email/templates/${encodeURIComponent(kind)}/${encodeURIComponent(language)}`;

/**
 * SPEC N2, A3: SMTP's state (deployment configuration, read-only) and a test message, and the
 * wording of each email per language with a preview. Every route: a signed-in administrator
 * (the journey) with "manage settings" for every group (the core; others get the localised 403,
 * nothing changed or sent). They obey no portal setting; the test message needs SMTP_HOST.
 */
export function adminEmailRoutes(services: Services): Router {
  const { emailAdmin } = services.mfa;
  const router = Router();

  async function renderOverview(
    res: Response,
    status: number,
    options: { errors?: FieldError[]; to?: string; problem?: string; reason?: string } = {},
  ) {
    const overview = await emailAdmin.overview(adminContextOf(res));
    const done = res.req.query.done;
    res.status(status).render('pages/admin/email/index', {
      ...overview,
      templatePath,
      notice: typeof done === 'string' && doneNotices.has(done) ? `adminEmail.done.${done}` : '',
      problem: options.problem ?? '',
      reason: options.reason ?? '',
      errors: options.errors ?? [],
      to: options.to ?? '',
    });
  }

  // Administrator with "manage settings" for every group.
  router.get('/admin/email', async (_req, res) => {
    await renderOverview(res, 200);
  });

  // Administrator with "manage settings" for every group: one message to the address typed, a
  // few an hour (429 beyond).
  router.post('/admin/email/test', async (req, res) => {
    const form = readForm(req.body, ['to'] as const);
    const sent = await emailAdmin.sendTest(adminContextOf(res), form);
    if (sent.outcome === 'invalid') {
      await renderOverview(res, 400, { errors: sent.errors, to: form.to });
    } else if (sent.outcome === 'too-many') {
      await renderOverview(res, 429, { problem: 'adminEmail.test.tooMany', to: form.to });
    } else if (sent.outcome === 'email-off') {
      await renderOverview(res, 409, { problem: 'adminEmail.test.off', to: form.to });
    } else if (sent.outcome === 'failed') {
      await renderOverview(res, 502, {
        problem: 'adminEmail.test.failed',
        reason: sent.reason,
        to: form.to,
      });
    } else {
      res.redirect(303, res.locals.url('/admin/email?done=sent'));
    }
  });

  async function renderTemplate(
    res: Response,
    status: number,
    options: { errors?: FieldError[]; typed?: Template; preview?: Template } = {},
  ) {
    const { kind, language } = paramsOf(res);
    const current = await emailAdmin.template(adminContextOf(res), { kind, language });
    res.status(status).render('pages/admin/email/template', {
      kind,
      language,
      action: templatePath(kind, language),
      ...current,
      typed: options.typed ?? current.template,
      preview: options.preview ?? null,
      errors: options.errors ?? [],
    });
  }

  // Administrator with "manage settings" for every group.
  router.get('/admin/email/templates/:kind/:language', async (_req, res) => {
    await renderTemplate(res, 200);
  });

  // Administrator with "manage settings" for every group: preview (nothing saved), save, or
  // back to the shipped text.
  router.post('/admin/email/templates/:kind/:language', async (req, res) => {
    const form = readForm(req.body, ['subject', 'body', 'action'] as const);
    const { kind, language } = paramsOf(res);
    const input = { kind, language, subject: form.subject, body: form.body };
    const typed = { subject: form.subject, body: form.body };
    const context = adminContextOf(res);
    if (form.action === 'preview') {
      const previewed = await emailAdmin.preview(context, input);
      if (previewed.outcome === 'invalid') {
        await renderTemplate(res, 400, { errors: previewed.errors, typed });
      } else {
        await renderTemplate(res, 200, { typed, preview: previewed.message });
      }
      return;
    }
    if (form.action === 'reset') {
      await emailAdmin.resetTemplate(context, { kind, language });
      res.redirect(303, res.locals.url('/admin/email?done=reset'));
      return;
    }
    if (form.action !== 'save') throw createError(400, 'Unknown action');
    const saved = await emailAdmin.saveTemplate(context, input);
    if (saved.outcome === 'invalid') {
      await renderTemplate(res, 400, { errors: saved.errors, typed });
      return;
    }
    res.redirect(303, res.locals.url('/admin/email?done=saved'));
  });

  return router;
}
