import { Router, type Response } from 'express';
import createError from 'http-errors';
import type { Scope } from '../../core/administrators.ts';
import { previewMinutes, type ImportReport } from '../../core/service/imports.ts';
import { maxUploadBytes } from '../../middleware/import-uploads.ts';
import type { Services } from '../../services.ts';
import { adminContextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';

const kinds = ['users', 'tokens'] as const;
const actions = ['add', 'update', 'unchanged', 'refuse'] as const;

const countsOf = (report: ImportReport) =>
  Object.fromEntries(
    actions.map((action) => [action, report.lines.filter((l) => l.action === action).length]),
  ) as Record<(typeof actions)[number], number>;

/**
 * SPEC A2 "import" (issue 13): the command line's imports in the console. The upload is read
 * and previewed, nothing saved; the core keeps the file sealed under an id only this
 * administrator can confirm, for `previewMinutes`, and the confirmation saves that file, not one
 * sent again (which could differ from what was reviewed). The journey lets only a signed-in
 * administrator into /admin; every page needs "import users" for some group, tokens for every
 * group, and users outside the administrator's groups are refused line by line by the core.
 */
export function adminImportRoutes(services: Services): Router {
  const { administration } = services.mfa;
  const router = Router();

  async function importScope(res: Response): Promise<Scope> {
    const scope = await administration.scope(adminContextOf(res), { permission: 'import-users' });
    if (!scope.all && scope.groups.length === 0) {
      throw createError(403, 'Not allowed: import-users', { page: 'notAllowed' });
    }
    return scope;
  }

  async function renderForm(
    res: Response,
    status: number,
    view: { kind: string; errors: FieldError[]; notice?: string; saved?: Record<string, number> },
  ) {
    res.status(status).render('pages/admin/import/index', {
      scope: await importScope(res),
      maxMegabytes: maxUploadBytes / 1024 / 1024,
      minutes: previewMinutes,
      notice: '',
      saved: null,
      ...view,
    });
  }

  function renderPreview(res: Response, status: number, id: string, report: ImportReport) {
    res.status(status).render('pages/admin/import/preview', {
      id,
      report,
      counts: countsOf(report),
      minutes: previewMinutes,
      changed: status === 409,
    });
  }

  // Signed-in administrator with "import users" for some group. `?added=…` after a save.
  router.get('/admin/import', async (req, res) => {
    const numbers = actions.map((action) => req.query[action]);
    const saved = numbers.every((n) => typeof n === 'string' && /^\d{1,9}$/.test(n))
      ? Object.fromEntries(actions.map((action, i) => [action, Number(numbers[i])]))
      : undefined;
    await renderForm(res, 200, { kind: 'users', errors: [], ...(saved ? { saved } : {}) });
  });

  // Signed-in administrator with "import users" (tokens: for every group). A preview only.
  router.post('/admin/import', async (req, res) => {
    const form = readForm(req.body, ['kind', 'file', 'key', 'password'] as const);
    const kind = kinds.find((k) => k === form.kind);
    const errors: FieldError[] = [];
    if (!kind) errors.push({ field: 'kind-0', message: 'adminImport.errors.kind' });
    if (form.file.trim() === '') errors.push({ field: 'file', message: 'adminImport.errors.file' });
    const key = form.key.trim();
    if (kind === 'tokens' && key !== '' && !/^(?:[0-9a-fA-F]{2}){16,32}$/.test(key)) {
      errors.push({ field: 'key', message: 'adminImport.errors.key' });
    }
    if (kind === 'tokens' && key !== '' && form.password !== '') {
      errors.push({ field: 'password', message: 'adminImport.errors.keyAndPassword' });
    }
    if (!kind || errors.length > 0) {
      await renderForm(res, 400, { kind: form.kind, errors });
      return;
    }
    const staged = await administration.stageImport(adminContextOf(res), {
      kind,
      text: form.file,
      ...(kind === 'tokens' && key !== '' ? { key: Buffer.from(key, 'hex') } : {}),
      ...(kind === 'tokens' && form.password !== '' ? { password: form.password } : {}),
    });
    if (staged.outcome === 'unreadable') {
      const message = `adminImport.errors.unreadable${kind === 'tokens' ? 'Tokens' : 'Users'}`;
      await renderForm(res, 400, { kind, errors: [{ field: 'file', message }] });
      return;
    }
    renderPreview(res, 200, staged.id, staged.report);
  });

  // Signed-in administrator with "import users", confirming a preview of their own.
  router.post('/admin/import/confirm', async (req, res) => {
    const form = readForm(req.body, ['id'] as const);
    const applied = await administration.applyStagedImport(adminContextOf(res), { id: form.id });
    if (applied.outcome === 'expired') {
      await renderForm(res, 409, { kind: 'users', errors: [], notice: 'adminImport.expired' });
      return;
    }
    if (applied.outcome === 'changed') {
      renderPreview(res, 409, applied.id, applied.report);
      return;
    }
    const params = new URLSearchParams(
      Object.entries(countsOf(applied.report)).map(([action, n]): [string, string] => [
        action,
        String(n),
      ]),
    );
    res.redirect(303, res.locals.url(`/admin/import?${params.toString()}`));
  });

  return router;
}
