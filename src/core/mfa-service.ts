import type { Context } from './context.ts';
import type { AccountService } from './service/account.ts';
import type { AdministrationService } from './service/administration.ts';
import type { EmailAdministration } from './service/email-admin.ts';
import type { EnrolmentService } from './service/enrolment.ts';
import type { PhoneService } from './service/phone.ts';
import type { QuestionsAdministration } from './service/questions-admin.ts';
import type { ReportsService } from './service/reports.ts';
import type { SecondStepOptions, SecondStepService } from './service/second-step.ts';
import type { SettingsAdminService } from './service/settings-admin.ts';
import type { AccountPermissions, Channels } from './method-policy.ts';
import type { Method, PortalSettings } from './settings.ts';

/**
 * SPEC §2: the one interface between the portal and the MFA core. Every operation is async,
 * takes a `Context` (who acts, from where, in which language) and plain serialisable data, and
 * returns plain data: no Express, no sessions, no rows, no hashes. The in-process implementation
 * is `createMfaService` (src/core/service/index.ts); the Web Service SDK client will implement
 * the same interface over HTTP, and no route will know the difference.
 *
 * Expected outcomes (a wrong code, a locked account, an invalid form) are values of the result
 * types. An `MfaError` is thrown only for calls the journey should not have made (no such
 * device, a setup finished twice): its `code` tells the portal which page to show.
 */
export interface MfaService {
  signIn: SignInService;
  /** User Setup: begin, prove, complete (SPEC J2). */
  enrolment: EnrolmentService;
  /** The second step of sign-in, and proving a factor again before a change (J1, J3). */
  secondStep: SecondStepService;
  /** My account: the account view, recent activity and every self-service change (J3). */
  account: AccountService;
  /** Calls and texts in every journey, and what the call/text provider reports (M1, M2). */
  phone: PhoneService;
  /** Users and settings managed by an administrator or the command line (A1–A3). */
  administration: AdministrationService;
  /** The security questions per language and how many to enrol and answer (M6, A3). */
  questionsAdmin: QuestionsAdministration;
  /** SMTP's state and test message, and the emails' wording per language (N2, A3). */
  emailAdmin: EmailAdministration;
  /** The portal settings and trusted IPs in the admin console ("manage settings", A3). */
  settingsAdmin: SettingsAdminService;
  /** Reports and the audit, for administrators with "view reports" (A4). */
  reports: ReportsService;
}

/** A form field the core refused, and why: a translation key and the values it names. */
export interface FieldError {
  /** The field as the portal's form names it (`code`, `pin`, `question2`, `otpType-0`). */
  field: string;
  /** Translation key of the message. */
  message: string;
  values?: Record<string, string | number>;
}

/** A user's account as the portal may show it to them or to an administrator. */
export interface Account {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  role: 'user' | 'admin';
  /** The user's group, to which administrators' permissions can be limited (SPEC A1). */
  group: string | null;
  /** SPEC A2: tags administrators gave the user, lower case. */
  tags: string[];
  /** The user's chosen language, if any; pages otherwise follow the browser. */
  language: string | null;
  disabled: boolean;
  /** Until when the account is locked (epoch ms), or null. */
  lockedUntil: number | null;
  /** Failed attempts in a row since the last success, towards the lockout (SPEC M8). */
  failedAttempts: number;
  defaultMethod: Method | null;
  /** Whether the user has a PIN (SPEC M5); the PIN itself never leaves the core. */
  hasPin: boolean;
  /** An administrator reset the PIN: the user must choose a new one at the next use (M5). */
  pinChangeRequired: boolean;
  /** Phone numbers in E.164; extensions as typed (digits, commas for pauses). */
  phone: string | null;
  phoneExtension: string | null;
  backupPhone: string | null;
  backupExtension: string | null;
  mobilePhone: string | null;
  /** The ways to sign in the user has set up. */
  methods: Method[];
  devices: DeviceView[];
  answeredQuestions: number;
}

/** A mobile-app activation or an OATH token, without its secret. */
export interface DeviceView {
  id: string;
  kind: 'app' | 'token';
  name: string;
  serial: string | null;
  otpType: 'totp' | 'hotp';
  algorithm: 'SHA1' | 'SHA256' | 'SHA512';
  digits: number;
  /** TOTP: seconds per code. */
  period: number;
  createdAt: number;
}

/**
 * Where a session stands (SPEC S10), worked out afresh on each request from the account and the
 * settings, with everything its pages need loaded once.
 */
export type Journey =
  | { stage: 'anonymous' }
  /** The session must end: a setting changed under it ("allow users to log in" or "enrolment"). */
  | { stage: 'ended'; reason: 'signInOff' | 'notEnrolled' }
  | {
      stage: 'second-step' | 'enrolling' | 'signed-in';
      account: Account;
      admin: boolean;
      settings: PortalSettings;
      /** Whether calls and texts can be made: a method without its provider is not offered. */
      telephony: Channels;
      /** What the user may change on My account (SPEC §5, J3). */
      can: AccountPermissions;
      /** What the second step, and the proof before a change, offer the user now (J1, J3). */
      secondStep: SecondStepOptions;
    };

/**
 * Where a sign-in goes once the password step is done (SPEC J1, J2). A wrong password, an unknown
 * user, a disabled and a locked account are all `refused`, alike (S4): only the audit knows.
 */
export type SignInStep =
  | { next: 'refused' }
  /** "Allow users to log in" is off, and this right password is not an administrator's. */
  | { next: 'switched-off' }
  /** No way to sign in yet, and User Setup is switched off. */
  | { next: 'not-enrolled' }
  /** From a trusted address, or with a pending one-time bypass: no second step. */
  | { next: 'signed-in'; userId: string }
  | { next: 'second-step'; userId: string }
  | { next: 'enrol'; userId: string };

/** The first step of sign-in, and where a session stands. */
export interface SignInService {
  /**
   * The password against the primary authentication (SPEC J1, D1–D3), counted before it is
   * checked (M8) and audited, then where the sign-in goes next. Refusals are alike (S4).
   */
  signIn(context: Context, input: { username: string; password: string }): Promise<SignInStep>;
  /**
   * SPEC D3: the first step for a user IIS authenticated (`DOMAIN\user`), under Windows primary
   * authentication; `refused` for anyone the portal may not let in, and everywhere else.
   */
  signInWindows(context: Context, input: { identity: string }): Promise<SignInStep>;
  /** The stage of a session that has proven a password (`pendingUserId`) or signed in. */
  journey(
    context: Context,
    input: { userId: string | undefined; pendingUserId: string | undefined },
  ): Promise<Journey>;
  /** The portal settings, for the pages that follow them. */
  settings(context: Context): Promise<PortalSettings>;
}

/** Why the core refused a call that the journey should not have made. */
export type MfaErrorCode =
  /** No such user, device or draft for this actor. */
  | 'not-found'
  /** The call conflicts with the state: a setup finished twice, a method removed already. */
  | 'conflict'
  /** The settings or the actor's rights do not allow it. */
  | 'not-allowed'
  /** The call or text provider cannot be reached. */
  | 'unavailable';

export class MfaError extends Error {
  override name = 'MfaError';
  readonly code: MfaErrorCode;
  constructor(code: MfaErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
