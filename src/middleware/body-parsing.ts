import express, { Router } from 'express';

/** Forms only, small: a sign-in or settings form never needs more than a few kilobytes (S9). */
export function setUpBodyParsing(): Router {
  const router = Router();
  router.use(express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 100 }));
  return router;
}
