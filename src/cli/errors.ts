/** A command used wrongly (exit code 2): the message says how to use it. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A command that could not do what it was asked (exit code 1): the message says why. */
export class RefusedError extends Error {
  override name = 'RefusedError';
}
