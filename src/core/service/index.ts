import type { Logger } from 'pino';
import type { AuditRepository } from '../../data/audit-repository.ts';
import type { DevicesRepository } from '../../data/devices-repository.ts';
import type { EmailTemplatesRepository } from '../../data/email-templates-repository.ts';
import type { QuestionsRepository } from '../../data/questions-repository.ts';
import type { Db } from '../../data/schema.ts';
import type { SettingsRepository } from '../../data/settings-repository.ts';
import type { UsersRepository } from '../../data/users-repository.ts';
import type { Email, SmtpState } from '../../providers/email.ts';
import type { Accounts } from '../accounts.ts';
import type { Bypasses } from '../bypass.ts';
import type { Changes } from '../changes.ts';
import type { Drafts } from '../drafts.ts';
import type { Lockout } from '../lockout.ts';
import type { MfaService } from '../mfa-service.ts';
import type { Argon2Parameters } from '../passwords.ts';
import type { PhoneVerification, Translate } from '../phone-verification.ts';
import type { SecondFactor } from '../second-factor.ts';
import { noChannels } from '../method-policy.ts';
import { createAccountService } from './account.ts';
import { createAdministrationService, type ProviderState } from './administration.ts';
import { createEmailAdministration } from './email-admin.ts';
import { createEnrolmentService } from './enrolment.ts';
import { createPhoneService } from './phone.ts';
import { createQuestionsAdministration } from './questions-admin.ts';
import { createReportsService } from './reports.ts';
import { createSecondStepService } from './second-step.ts';
import { createSettingsAdminService } from './settings-admin.ts';
import { createSignInService } from './sign-in.ts';

/** What the in-process core is built from: repositories and the core's own parts. */
export interface MfaServiceDependencies {
  db: Db;
  users: UsersRepository;
  settings: SettingsRepository;
  audit: AuditRepository;
  questions: QuestionsRepository;
  devices: DevicesRepository;
  accounts: Accounts;
  secondFactor: SecondFactor;
  bypasses: Bypasses;
  changes: Changes;
  lockout: Lockout;
  drafts: Drafts;
  /** Absent when no voice/SMS provider is set up: calls and texts are then not offered. */
  phoneVerification: PhoneVerification | undefined;
  encryptionKey: Buffer;
  argon2: Argon2Parameters;
  logger: Logger;
  /** Each channel's voice or SMS provider and its state (SPEC N1); none when absent. */
  providerStates?: () => Promise<ProviderState[]>;
  /** For what the core names in the user's language (a first device's name). */
  translate: Translate;
  /** Email for the console's test message (SPEC N2); absent without SMTP_HOST. */
  email?: Email;
  emailTemplates?: EmailTemplatesRepository;
  /** How SMTP is configured, shown read-only. */
  smtp?: SmtpState;
  portalUrl?: string;
  now?: () => number;
}

/** The in-process MFA core behind the one interface (SPEC §2). */
export function createMfaService(deps: MfaServiceDependencies): MfaService {
  return {
    signIn: createSignInService({
      ...deps,
      telephony: deps.phoneVerification?.channels ?? noChannels,
    }),
    enrolment: createEnrolmentService(deps),
    secondStep: createSecondStepService(deps),
    account: createAccountService(deps),
    phone: createPhoneService(deps),
    administration: createAdministrationService(deps),
    questionsAdmin: createQuestionsAdministration(deps),
    emailAdmin: createEmailAdministration(deps),
    settingsAdmin: createSettingsAdminService(deps),
    reports: createReportsService(deps),
  };
}
