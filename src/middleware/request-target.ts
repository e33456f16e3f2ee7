import type { Request, RequestHandler } from 'express';
import createError from 'http-errors';

/** All a page of the portal is ever asked with: links, forms and HEAD. */
const pageMethods = ['GET', 'HEAD', 'POST'];

/**
 * The path and query asked for, also when the target is an absolute URL (legal, though only
 * proxies send one), so that a redirect built from it never names the host in that URL.
 */
export function pathAndQuery(req: Request): string {
  const query = req.originalUrl.indexOf('?');
  return req.path + (query === -1 ? '' : req.originalUrl.slice(query));
}

/**
 * SPEC S9: a request no page can answer is refused with a 4xx page before it reaches one.
 * Another method (OPTIONS, TRACE, WebDAV's…) gets 405. A target that is not a path (`OPTIONS *`,
 * `GET *`) gets 400: it would also pass by the session, which only looks at requests under its
 * cookie path, and leave the pages without `req.session`.
 *
 * IIS treats URLs without regard to case and Express mounts BASE_PATH the same way, but a
 * browser sends cookies only for their exact path, so `/multifactorauth/…` would reach the pages
 * without the session either. It is sent to the canonical case: GET and HEAD with a 302, a form
 * with a 307, so that the browser sends the same form again where its cookie applies and the
 * CSRF check runs as on any form. Both are temporary, so that a browser cannot keep a redirect
 * that a later change of BASE_PATH would turn into a loop.
 */
export function setUpRequestTarget(basePath: string): RequestHandler {
  return (req, res, next) => {
    if (!pageMethods.includes(req.method)) {
      res.set('Allow', pageMethods.join(', '));
      next(createError(405, `Method ${req.method} is not served`));
      return;
    }
    const path = req.path;
    if (!path.startsWith('/')) {
      next(createError(400, 'The request target is not a path'));
      return;
    }
    const prefix = path.slice(0, basePath.length);
    const rest = path.slice(basePath.length);
    if (
      prefix !== basePath &&
      prefix.toLowerCase() === basePath.toLowerCase() &&
      (rest === '' || rest.startsWith('/'))
    ) {
      res.redirect(
        req.method === 'POST' ? 307 : 302,
        basePath + pathAndQuery(req).slice(basePath.length),
      );
      return;
    }
    next();
  };
}
