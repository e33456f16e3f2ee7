import type { OtpDevice } from '../../core/devices.ts';
import type { PhoneNumbers } from '../../core/second-factor.ts';
import type { Method } from '../../core/settings.ts';

/** A User Setup in progress, held in the session until its last step (SPEC J2). */
export interface EnrolmentDraft {
  method: Method;
  /** The new seed, sealed to the user (the session store is no place for a plain seed). */
  sealedSecret?: string;
  device?: { kind: 'app' | 'token'; name: string; serial: string | null; params: OtpDevice };
  /** Set once the user proved the method works: what to store with the device. */
  proof?: { lastStep: number | null; counter: number | null };
  pinHash?: string;
  phone?: PhoneNumbers;
  mobilePhone?: string;
  /** The call or text proving the number, while it is in flight. */
  verificationId?: string;
}
