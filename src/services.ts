import { hkdfSync } from 'node:crypto';
import { resolve } from 'node:path';
import type { i18n } from 'i18next';
import { pino, type Level, type Logger } from 'pino';
import { RedisStore } from 'connect-redis';
import type { Store } from 'express-session';
import { DatabaseSessionStore } from './data/session-store.ts';
import { openRotatingLogFiles } from './rotating-log-files.ts';
import type { Config } from './config/index.ts';
import { createAccounts, type Accounts } from './core/accounts.ts';
import type { Context } from './core/context.ts';
import { createBypasses, type Bypasses } from './core/bypass.ts';
import { createChanges, type Changes } from './core/changes.ts';
import { createEmailTemplatesRepository } from './data/email-templates-repository.ts';
import type { Argon2Parameters } from './core/passwords.ts';
import type { Translate } from './core/phone-verification.ts';
import { loadEncryptionKey } from './core/encryption-key.ts';
import { createLockout } from './core/lockout.ts';
import type { PrimaryAuthentication } from './core/primary-authentication.ts';
import { createPrimaryAuthentication } from './directories.ts';
import { createPhoneVerification, type PhoneVerification } from './core/phone-verification.ts';
import type { MfaService } from './core/mfa-service.ts';
import { createDrafts } from './core/drafts.ts';
import { createMfaService } from './core/service/index.ts';
import { createSecondFactor, type SecondFactor } from './core/second-factor.ts';
import { createSmtpEmail, smtpState, type Email } from './providers/email.ts';
import { createSimulator, type Simulator } from './providers/simulator.ts';
import { createProviders, type Providers } from './providers/index.ts';
import { ensureSecret } from './data/app-secrets.ts';
import { openDatabase, type Database } from './data/database.ts';
import { closeRedis, openRedis, type RedisClient } from './data/redis.ts';
import { migrateToLatest } from './data/migrations.ts';
import { createAuditRepository, type AuditRepository } from './data/audit-repository.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createDevicesRepository, type DevicesRepository } from './data/devices-repository.ts';
import {
  createQuestionsRepository,
  type QuestionsRepository,
} from './data/questions-repository.ts';
import { createSettingsRepository, type SettingsRepository } from './data/settings-repository.ts';
import {
  createUsersRepository,
  type UserRow,
  type UsersRepository,
} from './data/users-repository.ts';
import { createI18n } from './i18n.ts';

/** Everything the app depends on, built once and passed in (tests build their own). */
export interface Services {
  config: Config;
  logger: Logger;
  database: Database;
  redis: RedisClient | undefined;
  i18n: i18n;
  users: UsersRepository;
  settings: SettingsRepository;
  audit: AuditRepository;
  questions: QuestionsRepository;
  devices: DevicesRepository;
  accounts: Accounts;
  /** The primary authentication (SPEC J1, D1–D3): readiness asks it too when it has a server. */
  directory: PrimaryAuthentication;
  /** The one interface to the MFA core (SPEC §2): routes use this. */
  mfa: MfaService;
  secondFactor: SecondFactor;
  bypasses: Bypasses;
  /** Self-service changes: audited, and announced by email when it is set up (SPEC J3, N2). */
  changes: Changes;
  /** SMTP (SPEC N1); absent when SMTP_HOST is empty. */
  email: Email | undefined;
  /** A message key in a given language, outside any request (calls, texts, emails). */
  translate: Translate;
  /** Seals device seeds (SPEC S7); never stored or logged. */
  encryptionKey: Buffer;
  argon2: Argon2Parameters;
  /** Phone call and text message verification; absent when no voice/SMS provider is set up. */
  phoneVerification: PhoneVerification | undefined;
  /** The development phone (SIMULATOR_ENABLED): its page shows calls and texts. */
  simulator: Simulator | undefined;
  /** The voice and SMS providers of each channel (VOICE_PROVIDER, SMS_PROVIDER; SPEC N1). */
  providers: Providers;
  sessionSecret: string;
  /** Sessions in Redis when REDIS_URL is set, otherwise in the app's database; never in memory. */
  sessionStore: Store;
  /** Served at /metrics when METRICS_TOKEN is set; otherwise nothing is counted. */
  metrics: Metrics | undefined;
  close(): Promise<void>;
}

/**
 * What the logs never show (SPEC S7): cookies, credentials and the fields that carry secrets.
 * One-time codes travel as `code` in the forms and in the inputs of the MfaService, so `code` is
 * redacted there only: elsewhere it is an error's code (ECONNREFUSED, 57P01, …), which an
 * operator needs to read.
 */
export const logRedaction = {
  paths: [
    'req.headers.cookie',
    'req.headers.authorization',
    'res.headers["set-cookie"]',
    ...['password', 'pin', 'pinConfirmation', 'secret', 'answers', '_csrf'].flatMap((field) => [
      `*.${field}`,
      `req.body.${field}`,
    ]),
    ...['body', 'form', 'input', 'values', 'req.body'].flatMap((holder) => [
      `${holder}.code`,
      `*.${holder}.code`,
    ]),
  ],
  censor: '[redacted]',
};

/** JSON logs to stdout and, when LOG_FILE_DIRECTORY is set ("Enable logging", SPEC O2), to files. */
export function createLogger(config: Config): Logger {
  const options = { level: config.LOG_LEVEL, redact: logRedaction };
  if (config.LOG_FILE_DIRECTORY === '' || config.LOG_LEVEL === 'silent') return pino(options);
  const level = config.LOG_LEVEL as Level;
  const directory = resolve(config.rootDir, config.LOG_FILE_DIRECTORY);
  let files;
  try {
    files = openRotatingLogFiles({
      directory,
      maxBytes: config.LOG_FILE_SIZE_KB * 1024,
      keep: config.LOG_FILE_COUNT,
    });
  } catch (error) {
    throw new Error(
      `LOG_FILE_DIRECTORY: log files cannot be written in ${directory} (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return pino(
    options,
    pino.multistream([
      { level, stream: pino.destination(1) },
      { level, stream: files },
    ]),
  );
}

export async function createServices(
  config: Config,
  logger = createLogger(config),
): Promise<Services> {
  const encryptionKey = loadEncryptionKey(
    config.ENCRYPTION_KEY,
    resolve(config.rootDir, config.ENCRYPTION_KEY_FILE),
    config.sqlitePath !== undefined,
  );
  const database = openDatabase(config.DATABASE_URL, config.sqlitePath, (error) => {
    logger.warn({ err: error }, 'database connection lost');
  });
  let redis: RedisClient | undefined;
  try {
    await database.withoutQueryTimeout(migrateToLatest);
    if (config.REDIS_URL) redis = await openRedis(config.REDIS_URL, logger);
  } catch (error) {
    await database.close();
    throw error;
  }

  const { db } = database;
  // Counted from the first audit record on, only when /metrics is served (SPEC O1).
  const metrics = config.METRICS_TOKEN ? createMetrics() : undefined;
  const users = createUsersRepository(db);
  const audit = createAuditRepository(db);
  const settings = createSettingsRepository(db);
  const questions = createQuestionsRepository(db);
  const argon2 = {
    memoryKib: config.ARGON2_MEMORY_KIB,
    passes: config.ARGON2_PASSES,
    parallelism: config.ARGON2_PARALLELISM,
  };
  const sessionSecret =
    config.SESSION_SECRET || (await ensureSecret(database.db, 'session_secret'));
  const i18n = await createI18n({
    rootDir: config.rootDir,
    cookiePath: config.secure ? '/' : config.BASE_PATH || '/',
    secureCookie: config.secure,
  });

  const translate: Translate = (language, key, values) => i18n.getFixedT(language)(key, values);
  const email = createSmtpEmail(config);
  const devices = createDevicesRepository(db);
  const simulator = config.SIMULATOR_ENABLED ? createSimulator(db) : undefined;
  const emailTemplates = createEmailTemplatesRepository(db);
  const changes = createChanges({
    audit,
    email,
    templates: emailTemplates,
    translate,
    logger,
    portalUrl: config.PORTAL_URL,
    timeZone: config.TIME_ZONE,
  });
  // A lockout is audited (the user sees it in Recent activity) and the user hears of it by
  // email, in their language or the page's (SPEC A4, N2).
  const onLockout = (user: UserRow, until: number, context: Context) => {
    changes
      .record(user, { type: 'lockout', result: 'info', notice: 'lockedOut', until }, context)
      .catch((error: unknown) => {
        logger.error({ err: error, userId: user.id }, 'lockout not recorded');
      });
  };
  const lockout = createLockout({ users, settings, onLockout });
  const secondFactor = createSecondFactor({
    devices,
    questions,
    lockout,
    audit,
    encryptionKey,
    argon2,
  });
  const bypasses = createBypasses({ db, audit });
  const providers = createProviders(config, simulator);
  const phoneVerification = providers.telephony
    ? createPhoneVerification({
        db,
        users,
        settings,
        audit,
        lockout,
        telephony: providers.telephony,
        channels: providers.channels,
        translate,
        codeKey: Buffer.from(hkdfSync('sha256', encryptionKey, '', 'mfa-portal text codes', 32)),
      })
    : undefined;

  const directory = createPrimaryAuthentication(config, { db, users, logger, argon2 });
  const accounts = createAccounts({
    users,
    audit,
    settings,
    lockout,
    directory,
    bypasses,
    secondFactor,
    argon2,
  });
  const mfa = createMfaService({
    db,
    users,
    settings,
    audit,
    questions,
    devices,
    accounts,
    secondFactor,
    bypasses,
    changes,
    lockout,
    drafts: createDrafts({ db, encryptionKey }),
    phoneVerification,
    encryptionKey,
    argon2,
    logger,
    translate,
    email,
    emailTemplates,
    smtp: smtpState(config),
    portalUrl: config.PORTAL_URL,
    providerStates: async () =>
      Object.entries(await providers.state()).map(([channel, health]) => ({
        channel: channel === 'voice' ? 'voice' : 'sms',
        ...health,
      })),
  });

  return {
    config,
    logger,
    database,
    redis,
    i18n,
    users,
    settings,
    audit,
    questions,
    accounts,
    directory,
    mfa,
    secondFactor,
    bypasses,
    changes,
    email,
    translate,
    encryptionKey,
    argon2,
    devices,
    phoneVerification,
    simulator,
    providers,
    sessionSecret,
    sessionStore: redis
      ? new RedisStore({
          client: redis,
          prefix: `${config.REDIS_KEY_PREFIX}sess:`,
          ttl: config.SESSION_ABSOLUTE_HOURS * 3600,
        })
      : new DatabaseSessionStore(database.db, config.SESSION_IDLE_MINUTES * 60_000),
    metrics,
    async close() {
      metrics?.close();
      await directory.close?.();
      if (redis) await closeRedis(redis);
      await database.close();
    },
  };
}
