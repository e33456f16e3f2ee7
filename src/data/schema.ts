import type { Generated, Kysely } from 'kysely';

/** Times are epoch milliseconds in a bigint column: the same on SQLite and PostgreSQL. */
export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  password_hash: string | null;
  role: 'user' | 'admin';
  language: string | null;
  disabled: Generated<number>;
  failed_count: Generated<number>;
  locked_until: number | null;
  failure_window_start: number | null;
  failure_window_count: Generated<number>;
  created_at: number;
  updated_at: number;
  default_method: string | null;
  pin_hash: string | null;
  pin_change_required: Generated<number>;
  /** Phone numbers in E.164; extensions as typed (digits, commas for pauses). */
  phone: string | null;
  phone_extension: string | null;
  backup_phone: string | null;
  backup_extension: string | null;
  mobile_phone: string | null;
  enrolled_at: number | null;
  /** JSON: the security questions picked for this account, asked until they are answered. */
  asked_questions: string | null;
  /** SPEC D1–D4: null for the portal's own directory, else `ldap`, `radius` or `windows`. */
  directory: string | null;
  /** The user's entry in that directory (an LDAP DN), for sync. */
  directory_key: string | null;
  /** JSON: the directory groups the user was in at their last sign-in or sync. */
  directory_groups: string | null;
  /** Whether the directory's groups let the user set up a way to sign in (LDAP_ENROL_GROUP). */
  may_enrol: Generated<number>;
  /** The user's group, to which an administrator's permissions can be limited (SPEC A1). */
  user_group: string | null;
  /** SPEC A2: the user's tags, lower case, as `,helpdesk,site-a,` (null: none). */
  tags: string | null;
}

/**
 * An import file an administrator previewed (SPEC A2), until they confirm it or it expires: the
 * file (and a PSKC file's key or password) sealed, the preview shown as JSON.
 */
export interface ImportPreviewsTable {
  id: string;
  admin_id: string | null;
  kind: string;
  sealed: string;
  preview: string;
  expires_at: number;
}

/**
 * One permission of an administrator (SPEC A1), for users of one group or, with `user_group`
 * empty, for every user. A user with `role` 'admin' is an administrator; the core keeps the
 * role and the grants together.
 */
export interface AdminGrantsTable {
  user_id: string;
  permission: string;
  /** '' for every user, whatever their group. */
  user_group: string;
  created_at: number;
}

export interface SettingsTable {
  key: string;
  /** JSON */
  value: string;
  updated_at: number;
}

/** A mobile-app activation or an OATH token: each with its own sealed secret (SPEC M3, M4, S7). */
export interface DevicesTable {
  id: string;
  user_id: string;
  kind: 'app' | 'token';
  name: string;
  serial: string | null;
  /** AES-256-GCM sealed, bound to the device id. */
  secret: string;
  otp_type: 'totp' | 'hotp';
  algorithm: 'SHA1' | 'SHA256' | 'SHA512';
  digits: number;
  period: number;
  /** HOTP: the next counter to accept. */
  counter: number | null;
  /** TOTP: the last time step accepted; a code of this step or earlier is a replay (S6). */
  last_step: number | null;
  created_at: number;
}

/**
 * An OATH token imported from a seed file (SPEC M4), not yet anyone's: a user associates it by
 * its serial and a code it shows, and it moves to `devices`.
 */
export interface ImportedTokensTable
  extends Pick<DevicesTable, 'id' | 'otp_type' | 'algorithm' | 'digits' | 'period' | 'counter'> {
  /** Upper case, as imported and as looked up. */
  serial: string;
  /** AES-256-GCM sealed, bound to this row's id. */
  secret: string;
  imported_at: number;
  /** The administrator who imported it; null for the command line. */
  imported_by: string | null;
}

export interface SecurityQuestionsTable {
  id: string;
  language: string;
  text: string;
  position: number;
  active: Generated<number>;
}

export interface SecurityAnswersTable {
  user_id: string;
  question_id: string;
  answer_hash: string;
}

/** The original product's report fields (SPEC A4); phone numbers masked, never secrets. */
export interface AuditEventsTable {
  id: string;
  occurred_at: number;
  type: string;
  result: 'success' | 'failure' | 'info';
  reason: string | null;
  user_id: string | null;
  username: string | null;
  display_name: string | null;
  email: string | null;
  phone: string | null;
  device: string | null;
  method: string | null;
  server_name: string;
  server_ip: string | null;
  client_ip: string | null;
  admin_id: string | null;
}

/** A call or text in flight: the provider's keypad input or reply settles it (SPEC M1, M2). */
export interface VerificationsTable {
  id: string;
  user_id: string;
  method: 'phone' | 'sms';
  purpose: 'sign-in' | 'enrolment' | 'proof' | 'new-number';
  /** The number being called or texted now, E.164. */
  phone: string;
  extension: string | null;
  backup_phone: string | null;
  backup_extension: string | null;
  status: 'pending' | 'approved' | 'denied' | 'used';
  reason: string | null;
  /** PIN mode: the PIN the caller must key in (the user's, or the one being enrolled). */
  pin_hash: string | null;
  /** Text message: HMAC of the code, bound to this verification. */
  code_hash: string | null;
  language: string;
  expires_at: number;
  created_at: number;
  /** The provider's id of the call or text now under way (CallSid, MessageSid, gateway id). */
  provider_ref: string | null;
}

/** Provider reports already acted on (SPEC N1): a resent or replayed one changes nothing. */
export interface ProviderReportsTable {
  id: string;
  received_at: number;
}

/** The development simulator's phone: calls ringing and texts sent (SPEC N1). */
export interface SimulatorMessagesTable {
  id: string;
  kind: 'call' | 'text';
  to_number: string;
  extension: string | null;
  body: string;
  verification_id: string | null;
  state: 'ringing' | 'answered' | 'missed' | 'delivered' | 'replied';
  created_at: number;
}

/** A one-time bypass of the second step (SPEC M7): single use, within its seconds. */
export interface BypassesTable {
  id: string;
  user_id: string;
  issued_by: 'user' | 'admin' | 'cli' | 'sdk';
  admin_id: string | null;
  reason: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  cancelled_at: number | null;
}

/**
 * A call or text asked of the provider, kept for an hour to limit them per user, number and
 * address (SPEC S5). A backup call is a send of its own.
 */
export interface PhoneSendsTable {
  id: string;
  verification_id: string;
  user_id: string;
  /** E.164, without the extension: what the provider dials and bills. */
  phone: string;
  client_ip: string | null;
  sent_at: number;
}

export interface SessionsTable {
  sid: string;
  data: string;
  expires_at: number;
}

export interface AppSecretsTable {
  name: string;
  value: string;
}

/** A change in progress, sealed: its data may hold a new seed or a PIN hash. */
export interface DraftsTable {
  id: string;
  user_id: string;
  kind: string;
  /** AES-256-GCM sealed JSON, bound to the draft's id, user and kind. */
  data: string;
  expires_at: number;
}

/** A portal that serves on this database, and when it last said so (its heartbeat). */
export interface PortalInstancesTable {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  seen_at: number;
}

export interface EmailTemplatesTable {
  kind: string;
  language: string;
  subject: string;
  body: string;
  updated_at: number;
  updated_by: string | null;
}

export interface DatabaseSchema {
  users: UsersTable;
  admin_grants: AdminGrantsTable;
  portal_instances: PortalInstancesTable;
  drafts: DraftsTable;
  sessions: SessionsTable;
  app_secrets: AppSecretsTable;
  settings: SettingsTable;
  devices: DevicesTable;
  imported_tokens: ImportedTokensTable;
  import_previews: ImportPreviewsTable;
  security_questions: SecurityQuestionsTable;
  security_answers: SecurityAnswersTable;
  email_templates: EmailTemplatesTable;
  audit_events: AuditEventsTable;
  verifications: VerificationsTable;
  simulator_messages: SimulatorMessagesTable;
  provider_reports: ProviderReportsTable;
  bypasses: BypassesTable;
  phone_sends: PhoneSendsTable;
}

export type Db = Kysely<DatabaseSchema>;
