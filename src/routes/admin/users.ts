import { Router, type Request, type Response } from 'express';
import createError from 'http-errors';
import { defaultBypassSeconds, maxBypassSeconds } from '../../core/bypass.ts';
import { dateFormat } from '../../core/dates.ts';
import { pinMethods } from '../../core/method-policy.ts';
import { maskPhone } from '../../core/phone-numbers.ts';
import type { AdminPermission } from '../../core/administrators.ts';
import type { UserSearchInput } from '../../core/service/administration.ts';
import type { Services } from '../../services.ts';
import { eventName } from '../activity.ts';
import { adminContextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';
import { detailsFor as detailsOf, userPath } from './user-pages.ts';

const statuses = ['enabled', 'disabled', 'locked', 'not-enrolled', 'bypass-pending'] as const;
const sorts = ['username', 'name', 'email', 'group'] as const;
const textFields = ['username', 'name', 'email', 'group', 'tag', 'phone'] as const;
/** The most characters of a search text, and of a bypass's reason. */
const searchMaxLength = 256;
const reasonMaxLength = 200;

/** The confirmations the user page may show after an action: `?done=unlocked`. */
const doneNotices = new Set([
  'unlocked',
  'bypass',
  'pin',
  'disabled',
  'enabled',
  'app-removed',
  'token-removed',
  'created',
  'saved',
  'granted',
  'invited',
]);

const oneOf = <T extends string>(list: readonly T[], value: string): value is T =>
  (list as readonly string[]).includes(value);

/** The search form as sent (GET, so that a search can be bookmarked), and what is wrong in it. */
function readSearch(query: Request['query']) {
  const typed: Record<string, string> = {};
  for (const key of [...textFields, 'status', 'sort', 'order', 'page']) {
    const value = query[key];
    if (value !== undefined && typeof value !== 'string') throw createError(400, `${key} twice`);
    typed[key] = (value ?? '').trim();
  }
  const errors: FieldError[] = [];
  for (const field of textFields) {
    const text = typed[field] ?? '';
    // The query parser puts U+FFFD for bytes that are not UTF-8: not what anyone typed (S9).
    if (text.length > searchMaxLength || /[\p{C}\uFFFD]/u.test(text)) {
      errors.push({
        field,
        message: 'adminUsers.search.errors.text',
        values: { max: searchMaxLength },
      });
    }
  }
  const status = typed.status ?? '';
  if (status !== '' && !oneOf(statuses, status)) {
    errors.push({ field: 'status', message: 'adminUsers.search.errors.status' });
  }
  const sort = typed.sort || 'username';
  const page = typed.page || '1';
  // Sort, order and page come from the page's own links: anything else was not sent by it.
  if (
    !oneOf(sorts, sort) ||
    !['', 'asc', 'desc'].includes(typed.order ?? '') ||
    !/^[1-9]\d{0,5}$/.test(page)
  ) {
    throw createError(400, 'Unknown sort or page');
  }
  const input: UserSearchInput = {
    ...Object.fromEntries(textFields.map((f) => [f, typed[f] || undefined])),
    status: oneOf(statuses, status) ? status : undefined,
    sort,
    descending: typed.order === 'desc',
    page: Number(page),
  };
  return { typed, input, errors };
}

/**
 * SPEC A2: the helpdesk's users. The journey lets only a signed-in administrator into /admin;
 * each page and action then needs its permission for the target user's group, which the core
 * decides (src/core/administrators.ts): a refusal is the 403 page, and nothing changes.
 */
export function adminUserRoutes(services: Services): Router {
  const { administration } = services.mfa;
  const router = Router();

  // Signed-in administrator with "view users" (results: only the groups it covers).
  router.get('/admin/users', async (req, res) => {
    const { typed, input, errors } = readSearch(req.query);
    const context = adminContextOf(res);
    // Searched even when the form is wrong: without "view users" the page is refused first.
    const searched = await administration.searchUsers(context, errors.length ? {} : input);
    const found = errors.length ? { users: [], page: 1, hasNext: false } : searched;
    // Links keep the criteria and change one thing: the sort, the order or the page.
    const linkTo = (change: Record<string, string>) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries({ ...typed, ...change })) {
        if (value) params.set(key, value);
      }
      return res.locals.url(`/admin/users?${params.toString()}`);
    };
    const adding = await administration.scope(context, { permission: 'add-users' });
    res.status(errors.length ? 400 : 200).render('pages/admin/users/index', {
      canAdd: adding.all || adding.groups.length > 0,
      deleted: req.query.done === 'deleted',
      typed,
      statuses,
      sorts,
      sort: input.sort,
      descending: input.descending,
      found,
      linkTo,
      errors,
    });
  });

  async function renderUser(res: Response, userId: string, status = 200, problem = '') {
    const details = await administration.userDetails(adminContextOf(res), { userId });
    const { account } = details;
    const notice = typeof res.req.query.done === 'string' ? res.req.query.done : '';
    const policy = await services.mfa.signIn.settings(adminContextOf(res));
    res.status(status).render('pages/admin/users/show', {
      ...details,
      // SPEC M5: an initial PIN is offered with the invitation when a method's mode asks for one.
      offerPin: pinMethods(policy).length > 0 && details.allowed.includes('reset-pin'),
      phone: account.phone ? maskPhone(account.phone) : '',
      mobile: account.mobilePhone ? maskPhone(account.mobilePhone) : '',
      locked: account.lockedUntil !== null && account.lockedUntil > Date.now(),
      notice: doneNotices.has(notice) ? `adminUsers.done.${notice}` : '',
      problem,
      eventName,
      formatTime: dateFormat(res.locals.lng, 'dateTime', services.config.TIME_ZONE),
    });
  }

  // Signed-in administrator with "view users" for the user's group.
  router.get('/admin/users/:id', async (req, res) => {
    await renderUser(res, req.params.id);
  });

  // Signed-in administrator with "unlock" for the user's group.
  router.post('/admin/users/:id/unlock', async (req, res) => {
    readForm(req.body, []);
    await administration.unlock(adminContextOf(res), { userId: req.params.id });
    res.redirect(303, userPath(res, req.params.id, 'unlocked'));
  });

  // Signed-in administrator with "add users" for the user's group, and "reset PIN" for it when
  // the invitation carries a new initial PIN; sends email, writes the audit. The PIN is shown
  // once, on this response, and kept nowhere else.
  router.post('/admin/users/:id/invite', async (req, res) => {
    const form = readForm(req.body, ['pin'] as const);
    if (form.pin !== '' && form.pin !== 'new') throw createError(400, 'Unknown pin choice');
    const userId = req.params.id;
    const { outcome, pin } = await administration.sendInvitation(adminContextOf(res), {
      userId,
      withPin: form.pin === 'new',
    });
    if (pin !== null) {
      const { account } = await administration.userDetails(adminContextOf(res), { userId });
      res.set('Cache-Control', 'no-store');
      res.status(outcome === 'sent' ? 200 : 503).render('pages/admin/users/invited-with-pin', {
        account,
        pin,
        sent: outcome === 'sent',
      });
      return;
    }
    if (outcome === 'sent') {
      res.redirect(303, userPath(res, userId, 'invited'));
      return;
    }
    await renderUser(res, userId, outcome === 'failed' ? 503 : 409, `adminUsers.invite.${outcome}`);
  });

  // Signed-in administrator with "edit users" for the user's group.
  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    router.post(`/admin/users/:id/${action}`, async (req, res) => {
      readForm(req.body, []);
      const userId = req.params.id;
      const saved = await administration.setDisabled(adminContextOf(res), { userId, disabled });
      if (saved.outcome === 'last-manager') {
        await renderUser(res, userId, 409, 'adminUsers.show.lastManager');
        return;
      }
      res.redirect(303, userPath(res, userId, disabled ? 'disabled' : 'enabled'));
    });
  }

  const detailsFor = (res: Response, permission: AdminPermission) =>
    detailsOf(administration, res, permission);

  async function renderBypass(
    res: Response,
    status: number,
    errors: FieldError[],
    typed: { seconds?: string; reason?: string },
  ) {
    const { account } = await detailsFor(res, 'issue-bypass');
    res.status(status).render('pages/admin/users/bypass', {
      account,
      seconds: typed.seconds ?? String(defaultBypassSeconds),
      reason: typed.reason ?? '',
      maxSeconds: maxBypassSeconds,
      errors,
    });
  }

  // Signed-in administrator with "issue bypass" for the user's group (the form, too).
  router.get('/admin/users/:id/bypass', async (_req, res) => {
    await renderBypass(res, 200, [], {});
  });

  // Signed-in administrator with "issue bypass" for the user's group.
  router.post('/admin/users/:id/bypass', async (req, res) => {
    const form = readForm(req.body, ['seconds', 'reason'] as const);
    const errors: FieldError[] = [];
    const seconds = Number(form.seconds.trim());
    if (!/^\d+$/.test(form.seconds.trim()) || seconds < 1 || seconds > maxBypassSeconds) {
      errors.push({
        field: 'seconds',
        message: 'adminUsers.bypass.errors.seconds',
        values: { max: maxBypassSeconds },
      });
    }
    const reason = form.reason.trim();
    if (reason === '')
      errors.push({ field: 'reason', message: 'adminUsers.bypass.errors.reasonMissing' });
    else if (reason.length > reasonMaxLength || /\p{C}/u.test(reason)) {
      errors.push({
        field: 'reason',
        message: 'adminUsers.bypass.errors.reasonTooLong',
        values: { max: reasonMaxLength },
      });
    }
    if (errors.length) {
      await renderBypass(res, 400, errors, form);
      return;
    }
    await administration.issueBypass(adminContextOf(res), {
      userId: req.params.id,
      seconds,
      reason,
    });
    res.redirect(303, userPath(res, req.params.id, 'bypass'));
  });

  async function renderPin(res: Response, status: number, errors: FieldError[], mode = '') {
    const { account } = await detailsFor(res, 'reset-pin');
    res.status(status).render('pages/admin/users/pin', {
      account,
      mode,
      pinMinLength: (await services.mfa.signIn.settings(adminContextOf(res))).pinMinLength,
      errors,
    });
  }

  // Signed-in administrator with "reset PIN" for the user's group.
  router.get('/admin/users/:id/pin', async (_req, res) => {
    await renderPin(res, 200, []);
  });

  // Signed-in administrator with "reset PIN" for the user's group. A generated PIN is shown
  // once, on this response, and kept nowhere else.
  router.post('/admin/users/:id/pin', async (req, res) => {
    const form = readForm(req.body, ['mode', 'pin', 'pinConfirmation'] as const);
    if (form.mode !== 'generate' && form.mode !== 'set') {
      await renderPin(res, 400, [{ field: 'mode-0', message: 'adminUsers.pin.errors.mode' }]);
      return;
    }
    const userId = req.params.id;
    const reset = await administration.resetPin(
      adminContextOf(res),
      // SPEC M5: a PIN the helpdesk knows is changed by the user at the next verification.
      form.mode === 'generate'
        ? { userId, changeRequired: true, generate: true }
        : {
            userId,
            changeRequired: true,
            generate: false,
            pin: form.pin,
            pinConfirmation: form.pinConfirmation,
          },
    );
    if (reset.outcome === 'invalid') {
      // The user's own PIN messages say "your PIN"; the administrator reads the same problems
      // about someone else's PIN.
      const errors = reset.errors.map((error) => ({
        ...error,
        message: error.message.replace(/^pin\.errors\./, 'adminUsers.pin.errors.'),
      }));
      await renderPin(res, 400, errors, form.mode);
      return;
    }
    if (reset.pin === null) {
      res.redirect(303, userPath(res, userId, 'pin'));
      return;
    }
    const { account } = await administration.userDetails(adminContextOf(res), { userId });
    res.set('Cache-Control', 'no-store');
    res.render('pages/admin/users/pin-generated', { account, pin: reset.pin });
  });

  return router;
}
