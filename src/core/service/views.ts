import type { DeviceRow } from '../../data/devices-repository.ts';
import type { UserRow } from '../../data/users-repository.ts';
import type { Account, DeviceView } from '../mfa-service.ts';
import type { Enrolment } from '../second-factor.ts';
import { methods, type Method } from '../settings.ts';

/** A device as the interface shows it: everything but its secret and counters. */
export function toDeviceView(device: DeviceRow): DeviceView {
  return {
    id: device.id,
    kind: device.kind,
    name: device.name,
    serial: device.serial,
    otpType: device.otp_type,
    algorithm: device.algorithm,
    digits: device.digits,
    period: device.period,
    createdAt: device.created_at,
  };
}

/** The tags of a user's `tags` column (`,a,b,`). */
export const tagsOf = (column: string | null): string[] =>
  (column ?? '').split(',').filter((tag) => tag !== '');

const isMethod = (value: string | null): value is Method =>
  value !== null && (methods as readonly string[]).includes(value);

/** A user's row and enrolment as the interface shows them: no hash leaves the core. */
export function toAccount(user: UserRow, enrolment: Enrolment): Account {
  return {
    id: user.id,
    username: user.username,
    displayName: user.display_name,
    email: user.email,
    role: user.role,
    group: user.user_group,
    tags: tagsOf(user.tags),
    language: user.language,
    disabled: user.disabled !== 0,
    lockedUntil: user.locked_until,
    failedAttempts: user.failed_count,
    defaultMethod: isMethod(user.default_method) ? user.default_method : null,
    hasPin: user.pin_hash !== null,
    pinChangeRequired: user.pin_change_required !== 0,
    phone: user.phone,
    phoneExtension: user.phone_extension,
    backupPhone: user.backup_phone,
    backupExtension: user.backup_extension,
    mobilePhone: user.mobile_phone,
    methods: enrolment.methods,
    devices: enrolment.devices.map(toDeviceView),
    answeredQuestions: enrolment.answeredQuestions,
  };
}
