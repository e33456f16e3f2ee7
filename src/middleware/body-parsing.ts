import express, { type RequestHandler } from 'express';
import createError from 'http-errors';

/**
 * A form body whose percent-encoded bytes are not UTF-8 is refused (400), not read with
 * replacement characters: a name or a number is what the person typed, or nothing (S9).
 */
function requireUtf8(_req: unknown, _res: unknown, body: Buffer): void {
  for (const part of body.toString('latin1').split('&')) {
    try {
      decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      throw createError(400, 'Form body is not UTF-8', { type: 'entity.verify.failed' });
    }
  }
}

/** Forms only, small: a sign-in or settings form never needs more than a few kilobytes (S9). */
export function setUpBodyParsing(): RequestHandler {
  return express.urlencoded({
    extended: false,
    limit: '16kb',
    parameterLimit: 100,
    verify: requireUtf8,
  });
}
