import { Router, type Response } from 'express';
import type { Scope } from '../../core/administrators.ts';
import type { Account } from '../../core/mfa-service.ts';
import type { UserEdit } from '../../core/service/administration.ts';
import { languages } from '../../i18n.ts';
import type { Services } from '../../services.ts';
import { adminContextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';
import { detailsFor, userPath } from './user-pages.ts';

const fields = [
  'displayName',
  'email',
  'group',
  'tags',
  'language',
  'phone',
  'phoneExtension',
  'backupPhone',
  'backupExtension',
  'mobilePhone',
] as const;
type Typed = Record<(typeof fields)[number] | 'username' | 'defaultMethod', string>;

/** The form as the core takes it: empty texts are "none". */
function editOf(form: Record<(typeof fields)[number], string>): UserEdit & { displayName: string } {
  const orNull = (value: string) => (value.trim() === '' ? null : value);
  return {
    displayName: form.displayName,
    email: orNull(form.email),
    group: orNull(form.group),
    tags: form.tags,
    language: orNull(form.language),
    phone: orNull(form.phone),
    phoneExtension: orNull(form.phoneExtension),
    backupPhone: orNull(form.backupPhone),
    backupExtension: orNull(form.backupExtension),
    mobilePhone: orNull(form.mobilePhone),
  };
}

/** The form filled in with a user's details. */
const typedOf = (account: Account): Typed => ({
  username: account.username,
  displayName: account.displayName,
  email: account.email ?? '',
  group: account.group ?? '',
  tags: account.tags.join(', '),
  defaultMethod: account.defaultMethod ?? '',
  language: account.language ?? '',
  phone: account.phone ?? '',
  phoneExtension: account.phoneExtension ?? '',
  backupPhone: account.backupPhone ?? '',
  backupExtension: account.backupExtension ?? '',
  mobilePhone: account.mobilePhone ?? '',
});

const empty = Object.fromEntries(
  ['username', 'defaultMethod', ...fields].map((f) => [f, '']),
) as Typed;

/**
 * SPEC A2 "add" and "edit": one form for both. The group is a choice among the groups the
 * administrator holds the permission for, or free text when they hold it for every group; the
 * core checks it either way. The journey lets only a signed-in administrator into /admin.
 */
export function adminUserFormRoutes(services: Services): Router {
  const { administration } = services.mfa;
  const router = Router();

  function render(
    res: Response,
    status: number,
    view: { account: Account | null; typed: Typed; scope: Scope; errors: FieldError[] },
  ) {
    res.status(status).render('pages/admin/users/form', { ...view, languages });
  }

  /** Where "add users" reaches; refused (403) when nowhere. */
  async function addScope(res: Response) {
    const scope = await administration.scope(adminContextOf(res), { permission: 'add-users' });
    if (!scope.all && scope.groups.length === 0) {
      // The core refuses the same: one refusal page for both.
      await administration.addUser(adminContextOf(res), { username: '', displayName: '' });
    }
    return scope;
  }

  // Signed-in administrator with "add users" for some group.
  router.get('/admin/users/new', async (_req, res) => {
    render(res, 200, { account: null, typed: empty, scope: await addScope(res), errors: [] });
  });

  // Signed-in administrator with "add users" for the group chosen.
  router.post('/admin/users/new', async (req, res) => {
    const form = readForm(req.body, ['username', ...fields] as const);
    const added = await administration.addUser(adminContextOf(res), {
      ...editOf(form),
      username: form.username,
    });
    if (added.outcome === 'invalid') {
      render(res, 400, {
        account: null,
        typed: { ...form, defaultMethod: '' },
        scope: await addScope(res),
        errors: added.errors,
      });
      return;
    }
    res.redirect(303, userPath(res, added.account.id, 'created'));
  });

  async function editScope(res: Response) {
    return administration.scope(adminContextOf(res), { permission: 'edit-users' });
  }

  // Signed-in administrator with "edit users" for the user's group.
  router.get('/admin/users/:id/edit', async (_req, res) => {
    const { account } = await detailsFor(administration, res, 'edit-users');
    render(res, 200, { account, typed: typedOf(account), scope: await editScope(res), errors: [] });
  });

  // Signed-in administrator with "edit users" for the user's group and for the group chosen.
  router.post('/admin/users/:id/edit', async (req, res) => {
    const form = readForm(req.body, [...fields, 'defaultMethod'] as const);
    const userId = req.params.id;
    const edited = await administration.editUser(adminContextOf(res), {
      userId,
      ...editOf(form),
      // The user's methods as the form offered them; none: the portal's default method.
      defaultMethod: form.defaultMethod === '' ? null : form.defaultMethod,
    });
    if (edited.outcome === 'invalid') {
      const { account } = await detailsFor(administration, res, 'edit-users');
      const typed = { ...form, username: account.username };
      render(res, 400, { account, typed, scope: await editScope(res), errors: edited.errors });
      return;
    }
    res.redirect(303, userPath(res, userId, 'saved'));
  });

  return router;
}
