/*
 * The code and PIN rules live in core, where User Setup applies them; the pages that still check
 * a form at the edge (second step, My account) take them from here until they call the core.
 */
export { codeError, readCode } from '../../core/typed-codes.ts';
export { newPinErrors } from '../../core/pin-policy.ts';
