import type { Request, RequestHandler } from 'express';
import createError from 'http-errors';
import { importFileText } from '../core/csv.ts';
import type { Services } from '../services.ts';

/** The largest import file the console takes; larger ones go through the command line. */
export const maxUploadBytes = 10 * 1024 * 1024;
/** Room for the form's other fields and the multipart framing. */
const framingBytes = 64 * 1024;

const tooLarge = () =>
  createError(413, 'Import file too large', { page: 'importTooLarge', backLink: false });

async function readBody(req: Request, limit: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    received += chunk.length;
    // Node reads and drops the rest of the body after the answer, so the browser gets it.
    if (received > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The import page's upload (multipart/form-data, SPEC A2): read before the CSRF check, which
 * needs its `_csrf` field, and only for a signed-in administrator who may import users
 * somewhere, so that no one else (an anonymous visitor, any signed-in user) makes the portal
 * hold more than a small form: anyone else is refused before the body is read. Every field
 * becomes a string as urlencoded forms do (the file its text); a field sent twice becomes a
 * list, which `readForm` refuses, as it refuses any other field (`__proto__` too: the body has
 * no prototype, as the urlencoded parser's). The 16 KB limit of other forms stays as it is.
 */
export function setUpImportUploads(path: string, { mfa }: Pick<Services, 'mfa'>): RequestHandler {
  return async (req, res, next) => {
    const adminId = req.session.userId;
    if (
      req.method !== 'POST' ||
      req.path !== path ||
      !req.is('multipart/form-data') ||
      adminId === undefined
    ) {
      next();
      return;
    }
    const scope = await mfa.administration.scope(
      { actor: { kind: 'admin', adminId }, clientIp: req.ip, language: res.locals.lng },
      { permission: 'import-users' },
    );
    if (!scope.all && scope.groups.length === 0) {
      throw createError(403, 'Not allowed: import-users', { page: 'notAllowed' });
    }
    const bytes = await readBody(req, maxUploadBytes + framingBytes);
    const upload = new Response(bytes, {
      headers: { 'content-type': String(req.headers['content-type']) },
    });
    let form: FormData;
    try {
      // Node's own multipart reader (no dependency): the body is capped before it gets here.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      form = await upload.formData();
    } catch {
      throw createError(400, 'Unreadable multipart body');
    }
    const body = Object.create(null) as Record<string, string | string[]>;
    for (const [name, value] of form.entries()) {
      const text =
        typeof value === 'string' ? value : importFileText(Buffer.from(await value.arrayBuffer()));
      if (typeof value !== 'string' && value.size > maxUploadBytes) throw tooLarge();
      const before = body[name];
      body[name] = before === undefined ? text : [before].flat().concat(text);
    }
    req.body = body;
    next();
  };
}
