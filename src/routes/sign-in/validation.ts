import type { FieldError } from '../form.ts';

export const maxUsernameLength = 256;
export const maxPasswordLength = 1024;

export function validateSignIn(form: { username: string; password: string }): FieldError[] {
  const errors: FieldError[] = [];
  const username = form.username.trim();
  if (username === '') errors.push({ field: 'username', message: 'signIn.errors.usernameMissing' });
  else if (username.length > maxUsernameLength) {
    errors.push({ field: 'username', message: 'signIn.errors.usernameTooLong' });
  }
  if (form.password === '')
    errors.push({ field: 'password', message: 'signIn.errors.passwordMissing' });
  else if (form.password.length > maxPasswordLength) {
    errors.push({ field: 'password', message: 'signIn.errors.passwordTooLong' });
  }
  return errors;
}
