/** Audit types shown by name in "Recent activity"; anything else reads "Other". */
const namedEvents = new Set([
  'sign-in.password',
  'sign-in.second-step',
  'proof',
  'enrolment',
  'enrolment.sms-code',
  'verification.phone',
  'verification.sms',
  'fraud-alert',
  'bypass.issued',
  'bypass.used',
  'bypass.cancelled',
  'change.phone',
  'change.mobile',
  'change.pin',
  'change.method',
  'change.language',
  'change.questions',
  'device.added',
  'device.renamed',
  'device.removed',
  'token.added',
  'token.removed',
  'token.resync',
  'lockout',
  'password.reset',
  'account.unlocked',
  'account.disabled',
  'account.enabled',
  'user.invited',
]);

/** The translation key's last part for an audit type in "Recent activity". */
export const eventName = (type: string) =>
  namedEvents.has(type) ? type.replace(/\./g, '_') : 'other';
