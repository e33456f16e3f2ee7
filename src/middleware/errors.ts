import type { ErrorRequestHandler, RequestHandler } from 'express';
import createError from 'http-errors';
import type { i18n } from 'i18next';
import type { Logger } from 'pino';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  SocketClosedUnexpectedlyError,
  TimeoutError,
} from 'redis';
import { MfaError, type MfaErrorCode } from '../core/mfa-service.ts';
import { detectLanguage, setViewDefaults } from './i18n.ts';

const pageByStatus: Record<number, string> = {
  400: 'badRequest',
  401: 'sessionExpired',
  403: 'forbidden',
  404: 'notFound',
  405: 'badRequest',
  413: 'tooLarge',
  415: 'badRequest',
  429: 'tooManyRequests',
  503: 'unavailable',
};

/** A call the journey should not have made, refused by the core (SPEC §2). */
const statusOfMfaError: Record<MfaErrorCode, number> = {
  'not-found': 404,
  conflict: 409,
  'not-allowed': 403,
  unavailable: 503,
};

// Network failures, and PostgreSQL's admin shutdown, cannot-connect-now and missing-database codes.
const outageCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P03',
  '3D000',
]);

// Redis's client names none of its errors: they are told apart by class.
const redisOutages = [
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  SocketClosedUnexpectedlyError,
  TimeoutError,
];

// node-postgres says so in words: a connection lost, or none to be had in time.
const databaseOutage =
  /database is locked|Connection terminated|timeout exceeded when trying to connect|Query read timeout/i;

/** A database or Redis that went away is an outage, not a bug: say "temporarily unavailable". */
function isDependencyOutage(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code } = error as { code?: unknown };
  return (
    (typeof code === 'string' && outageCodes.has(code)) ||
    redisOutages.some((outage) => error instanceof outage) ||
    (error instanceof Error && databaseOutage.test(error.message))
  );
}

export function notFound(): RequestHandler {
  return (_req, _res, next) => {
    next(createError(404));
  };
}

/** Every error becomes a page in the user's language; 5xx only when it is really ours (S9). */
export function errorHandler(i18next: i18n, logger: Logger, basePath: string): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const details = (typeof error === 'object' && error !== null ? error : {}) as {
      status?: unknown;
      statusCode?: unknown;
      expose?: unknown;
      page?: unknown;
      code?: unknown;
      /** false when no page of the portal would help: the link would lead to the same refusal. */
      backLink?: unknown;
    };
    let status =
      error instanceof MfaError
        ? statusOfMfaError[error.code]
        : Number(details.status ?? details.statusCode ?? 500);
    if (!Number.isInteger(status) || status < 400 || status > 599) status = 500;
    if (status >= 500 && isDependencyOutage(error)) status = 503;
    const outage = status === 503;

    if (outage) logger.warn({ err: error, reqId: req.id }, 'request failed: a dependency is down');
    else if (status >= 500) logger.error({ err: error, reqId: req.id }, 'request failed');
    else
      logger.info({ status, reqId: req.id, reason: (error as Error).message }, 'request refused');

    // A refusal without a page of its own is still the request's fault, not "something went wrong".
    // Only a refused CSRF token means the form has expired; csrf-sync marks it so, as any other
    // CSRF check must. Any other 403 is a page the user cannot open.
    const page =
      typeof details.page === 'string'
        ? details.page
        : details.code === 'EBADCSRFTOKEN'
          ? 'formExpired'
          : (pageByStatus[status] ?? (status < 500 ? 'badRequest' : 'serverError'));
    // Errors raised before the language was known (a malformed URL, say) still get a page.
    if (typeof res.locals.url !== 'function') {
      setViewDefaults(res, i18next, basePath, detectLanguage(i18next, req, res), '/');
    }
    if (status === 503) res.set('Retry-After', '30');
    res.set('Cache-Control', 'no-store');
    res.status(status).render('errors/error', { page, backLink: details.backLink !== false });
  };
}
