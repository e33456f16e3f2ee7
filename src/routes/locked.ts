import type { Response } from 'express';

/** The lockout page (SPEC M8) after too many wrong codes, saying for how many minutes. */
export function renderLocked(res: Response, until: number): void {
  res.status(403).render('pages/verify/locked', {
    minutes: Math.max(1, Math.ceil((until - Date.now()) / 60_000)),
  });
}
