import express, { type RequestHandler } from 'express';

/** Forms only, small: a sign-in or settings form never needs more than a few kilobytes (S9). */
export function setUpBodyParsing(): RequestHandler {
  return express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 100 });
}
