import type { Response } from 'express';
import createError from 'http-errors';
import type { AdminPermission } from '../../core/administrators.ts';
import type { AdministrationService } from '../../core/service/administration.ts';
import { adminContextOf } from '../context.ts';

/** A user's page in the console, with `?done=` for the confirmation of an action. */
export const userPath = (res: Response, userId: string, done?: string) =>
  res.locals.url(`/admin/users/${encodeURIComponent(userId)}${done ? `?done=${done}` : ''}`);

/**
 * The details of the user a page is for (`:id`), once the administrator may `permission` them:
 * a form is refused before it is shown, as its action would be.
 */
export async function detailsFor(
  administration: AdministrationService,
  res: Response,
  permission: AdminPermission,
) {
  const details = await administration.userDetails(adminContextOf(res), {
    userId: String(res.req.params.id),
  });
  if (!details.allowed.includes(permission)) {
    throw createError(403, `Not allowed: ${permission}`, { page: 'notAllowed' });
  }
  return details;
}
