import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { knownTimeZone } from '../core/dates.ts';
import { directoryConfigErrors, directorySchema } from './directory.ts';
import { ConfigError, fail, flag, integer, maskPasswords, text, type Parser } from './parse.ts';
import { readAppSettings } from './web-config.ts';

export { ConfigError, maskPasswords } from './parse.ts';

const port: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (/^\d+$/.test(value)) return integer(0, 65535)(value, key).toString();
  // iisnode hands over a named pipe (\\.\pipe\…); on Linux a Unix socket path works the same way.
  if (value.startsWith('\\\\.\\pipe\\') || value.startsWith('/')) return value;
  return fail(
    key,
    'a TCP port number, a named pipe (\\\\.\\pipe\\…) or an absolute socket path',
    raw,
  );
};

const basePath: Parser<string> = (raw, key) => {
  const value = raw.trim().replace(/\/+$/, '');
  if (value === '') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(value)) {
    fail(key, 'empty or a path such as /MultiFactorAuth (letters, digits, . _ ~ -)', raw);
  }
  return value;
};

const databaseUrl: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (/^sqlite:.+/.test(value) || /^postgres(ql)?:\/\/.+/.test(value)) return value;
  return fail(key, 'sqlite:<path> or postgres://user@host/database', raw);
};

const redisUrl: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (value === '' || /^rediss?:\/\/.+/.test(value)) return value;
  return fail(key, 'empty or redis://host:port', raw);
};

const redisPrefix: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (/^[A-Za-z0-9:_.-]{1,64}$/.test(value)) return value;
  return fail(key, 'up to 64 letters, digits or : _ . -', raw);
};

const url: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (value === '' || URL.canParse(value)) return value;
  return fail(key, 'empty or an absolute URL', raw);
};

const emailAddress: Parser<string> = (raw, key) => {
  const value = raw.trim();
  // A bare address or a display name with one: "MFA Portal <mfa@example.org>".
  if (value === '' || /^([^<>]*<)?[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>?$/.test(value)) return value;
  return fail(key, 'empty or an email address such as "MFA Portal <mfa@example.org>"', raw);
};

const logLevel: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(value)) return value;
  return fail(key, 'one of fatal, error, warn, info, debug, trace, silent', raw);
};

/** A bearer token: long enough not to be guessed, and never echoed in an error. */
const bearerToken: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (value === '' || /^[\x21-\x7e]{32,}$/.test(value)) return value;
  throw new ConfigError(
    `Invalid configuration: ${key} must be empty or at least 32 printable characters without spaces (got ${value.length} characters)`,
  );
};

/** An IANA time zone such as Europe/Amsterdam, or empty for the server's own. */
const timeZone: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (value === '' || knownTimeZone(value)) return value;
  return fail(
    key,
    'empty (the server’s time zone) or an IANA time zone such as Europe/Amsterdam',
    raw,
  );
};

/** Express `trust proxy`: empty (automatic), false, true, a hop count, or a list of addresses. */
const trustProxy: Parser<string | number | boolean> = (raw, key) => {
  const value = raw.trim();
  if (value === '') return '';
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^\d+$/.test(value)) return integer(0, 10)(value, key);
  if (/^[0-9A-Fa-f:./, ]+$|^(loopback|linklocal|uniquelocal)(,|$)/.test(value)) return value;
  return fail(key, 'empty, true, false, a hop count, or comma-separated addresses/CIDRs', raw);
};

// ---- Voice and SMS providers (SPEC N1): each channel its own provider, secrets only here ----

const voiceProvider: Parser<'' | 'twilio'> = (raw, key) => {
  const value = raw.trim().toLowerCase();
  if (value === '' || value === 'twilio') return value;
  return fail(key, 'empty (no calls, or the simulator) or twilio', raw);
};

const smsProvider: Parser<'' | 'twilio' | 'http'> = (raw, key) => {
  const value = raw.trim().toLowerCase();
  if (value === '' || value === 'twilio' || value === 'http') return value;
  return fail(key, 'empty (no texts, or the simulator), twilio or http', raw);
};

const twilioAccountSid: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (value === '' || /^AC[0-9a-fA-F]{32}$/.test(value)) return value;
  return fail(key, 'empty or an account SID (AC followed by 32 hexadecimal characters)', raw);
};

/** A secret of a provider: never echoed in an error. */
const providerSecret: Parser<string> = (raw, key) => {
  const value = raw.trim();
  if (value === '' || /^[\x21-\x7e]{16,}$/.test(value)) return value;
  throw new ConfigError(
    `Invalid configuration: ${key} must be empty or at least 16 printable characters without spaces (got ${value.length} characters)`,
  );
};

const httpMethod: Parser<'GET' | 'POST'> = (raw, key) => {
  const value = raw.trim().toUpperCase();
  if (value === 'GET' || value === 'POST') return value;
  return fail(key, 'GET or POST', raw);
};

/** Request headers as a JSON object of strings, e.g. {"Authorization": "Bearer …"}. */
const httpHeaders: Parser<Record<string, string>> = (raw, key) => {
  const value = raw.trim();
  if (value === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  const valid =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.entries(parsed).every(
      ([name, header]) => /^[A-Za-z0-9-]+$/.test(name) && typeof header === 'string',
    );
  // The headers often hold a password: the error does not quote them.
  if (!valid) {
    throw new ConfigError(
      `Invalid configuration: ${key} must be empty or a JSON object of header names and string values`,
    );
  }
  return parsed as Record<string, string>;
};

const regularExpression: Parser<string> = (raw, key) => {
  const value = raw.trim();
  try {
    new RegExp(value);
  } catch {
    fail(key, 'empty or a regular expression', raw);
  }
  return value;
};

/** Comma-separated report values, e.g. Kannel's DLR types `2,16`. */
const valueList: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');

const telephonySchema = {
  VOICE_PROVIDER: voiceProvider,
  SMS_PROVIDER: smsProvider,
  TELEPHONY_CALLBACK_URL: url,
  TELEPHONY_TIMEOUT_SECONDS: integer(1, 60),
  TWILIO_ACCOUNT_SID: twilioAccountSid,
  TWILIO_AUTH_TOKEN: providerSecret,
  TWILIO_FROM: text,
  TWILIO_API_URL: url,
  SMS_HTTP_URL: url,
  SMS_HTTP_METHOD: httpMethod,
  SMS_HTTP_HEADERS: httpHeaders,
  SMS_HTTP_CONTENT_TYPE: text,
  SMS_HTTP_BODY: text,
  SMS_HTTP_SUCCESS: regularExpression,
  SMS_HTTP_FROM: text,
  SMS_HTTP_DLR_DELIVERED: valueList,
  SMS_HTTP_DLR_FAILED: valueList,
  SMS_HTTP_INBOUND_TOKEN: providerSecret,
} satisfies Record<string, Parser<unknown>>;

/** The public base URL providers call back: TELEPHONY_CALLBACK_URL, or else PORTAL_URL. */
export function callbackBaseUrl(values: Partial<Settings>): string {
  return (values.TELEPHONY_CALLBACK_URL || values.PORTAL_URL || '').replace(/\/+$/, '');
}

/** Whether a URL is on this machine, where plain HTTP is allowed for a callback (tests). */
function onThisMachine(address: string): boolean {
  const { hostname } = new URL(address);
  return ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
}

/** The rules between the provider keys; each a line for check-config. */
function telephonyErrors(values: Partial<Settings>): string[] {
  const errors: string[] = [];
  const twilio = values.VOICE_PROVIDER === 'twilio' || values.SMS_PROVIDER === 'twilio';
  if (twilio) {
    for (const key of ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'] as const) {
      if (values[key] === '') {
        errors.push(`Invalid configuration: ${key} must be set when a provider is twilio`);
      }
    }
  }
  if (values.SMS_PROVIDER === 'http' && values.SMS_HTTP_URL === '') {
    errors.push('Invalid configuration: SMS_HTTP_URL must be set when SMS_PROVIDER is http');
  }
  if (twilio || values.SMS_PROVIDER === 'http') {
    const base = callbackBaseUrl(values);
    if (base === '') {
      errors.push(
        'Invalid configuration: TELEPHONY_CALLBACK_URL (or PORTAL_URL) must be the public address providers call back when VOICE_PROVIDER or SMS_PROVIDER is set',
      );
    } else if (new URL(base).protocol !== 'https:' && !onThisMachine(base)) {
      errors.push(
        `Invalid configuration: TELEPHONY_CALLBACK_URL (or PORTAL_URL) must be an https:// address for provider callbacks (got "${maskPasswords(base)}")`,
      );
    }
  }
  return errors;
}

// ---- end of the voice and SMS providers ----

const schema = {
  ...telephonySchema,
  PORT: port,
  BASE_PATH: basePath,
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: redisPrefix,
  SESSION_SECRET: text,
  SESSION_IDLE_MINUTES: integer(1, 24 * 60),
  SESSION_ABSOLUTE_HOURS: integer(1, 7 * 24),
  SSL_REQUIRED: flag,
  TLS_CERT_FILE: text,
  TLS_KEY_FILE: text,
  TRUST_PROXY: trustProxy,
  LOG_LEVEL: logLevel,
  LOG_FILE_DIRECTORY: text,
  LOG_FILE_SIZE_KB: integer(1, 1024 * 1024),
  LOG_FILE_COUNT: integer(1, 1000),
  RATE_LIMIT_SIGNIN_MAX: integer(1, 10_000),
  RATE_LIMIT_SIGNIN_WINDOW_SECONDS: integer(1, 24 * 3600),
  RATE_LIMIT_CODES_MAX: integer(1, 10_000),
  RATE_LIMIT_CODES_WINDOW_SECONDS: integer(1, 24 * 3600),
  ENCRYPTION_KEY: text,
  ENCRYPTION_KEY_FILE: text,
  SIMULATOR_ENABLED: flag,
  METRICS_TOKEN: bearerToken,
  TIME_ZONE: timeZone,
  SMTP_HOST: text,
  SMTP_PORT: integer(1, 65535),
  SMTP_SECURE: flag,
  SMTP_USER: text,
  SMTP_PASSWORD: text,
  SMTP_FROM: emailAddress,
  PORTAL_URL: url,
  ARGON2_MEMORY_KIB: integer(8, 4 * 1024 * 1024),
  ARGON2_PASSES: integer(1, 100),
  ARGON2_PARALLELISM: integer(1, 16),
  USE_WEB_SERVICE_SDK: flag,
  WEB_SERVICE_SDK_URL: url,
  WEB_SERVICE_SDK_AUTHENTICATION_USERNAME: text,
  WEB_SERVICE_SDK_AUTHENTICATION_PASSWORD: text,
  ...directorySchema,
} satisfies Record<string, Parser<unknown>>;

type Schema = typeof schema;
type Key = keyof Schema;
export type Settings = { [K in Key]: ReturnType<Schema[K]> };

/** Keys of the original User Portal's web.config that mean the same as one of ours. */
const aliases: Record<string, Key> = { pfup_pfwssdk_PfWsSdk: 'WEB_SERVICE_SDK_URL' };

export interface Config extends Settings {
  rootDir: string;
  /** Under iisnode: requests arrive over a named pipe with the client address in X-Forwarded-For. */
  underIisnode: boolean;
  /** Cookies are Secure and HSTS is sent: TLS is required or served directly. */
  secure: boolean;
  /** The value handed to Express `trust proxy`. */
  trustProxyValue: string | number | boolean;
  sqlitePath: string | undefined;
}

export interface ConfigSources {
  rootDir?: string;
  env?: NodeJS.ProcessEnv;
}

export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Where a value came from: the file or the environment that set it last. */
export type ConfigSource =
  'config/default.json' | 'config/local.json' | 'web.config' | 'environment';

export const configSources: readonly ConfigSource[] = [
  'config/default.json',
  'config/local.json',
  'web.config',
  'environment',
];

/** A key's raw value as the portal reads it, and the source that set it (none: empty). */
export interface ConfigEntry {
  key: Key;
  raw: string;
  source: ConfigSource | undefined;
  /** The original key name that set it, when that was an alias (pfup_pfwssdk_PfWsSdk). */
  alias?: string;
}

/** Everything the sources say, every error in them, and the configuration when there is none. */
export interface ConfigReport {
  entries: ConfigEntry[];
  /** Each a line naming the key (or file) and what is allowed. */
  errors: string[];
  /** The values that parsed, also when others did not. */
  values: Partial<Settings>;
  config: Config | undefined;
}

type Layer = Map<Key, { raw: string; alias?: string }>;

function readJson(path: string, errors: string[]): Record<string, unknown> {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    errors.push(`Invalid configuration: ${path} is not valid JSON (${String(error)})`);
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    errors.push(`Invalid configuration: ${path} must hold one JSON object`);
    return {};
  }
  return parsed as Record<string, unknown>;
}

function canonicalKey(key: string): Key | undefined {
  if (key in schema) return key as Key;
  return aliases[key];
}

function layerFromFile(path: string, errors: string[]): Layer {
  const layer: Layer = new Map();
  for (const [key, value] of Object.entries(readJson(path, errors))) {
    const canonical = canonicalKey(key);
    if (!canonical) {
      errors.push(`Invalid configuration: unknown key ${key} in ${path}`);
    } else if (
      typeof value !== 'string' &&
      typeof value !== 'number' &&
      typeof value !== 'boolean'
    ) {
      errors.push(`Invalid configuration: ${key} in ${path} must be a string`);
    } else {
      layer.set(canonical, { raw: String(value), ...(canonical !== key ? { alias: key } : {}) });
    }
  }
  return layer;
}

function layerFromPairs(pairs: Record<string, string | undefined>): Layer {
  const layer: Layer = new Map();
  for (const [key, value] of Object.entries(pairs)) {
    const canonical = canonicalKey(key);
    if (canonical && value !== undefined) {
      layer.set(canonical, { raw: value, ...(canonical !== key ? { alias: key } : {}) });
    }
  }
  return layer;
}

/** `sqlite:<path>` as a file path (relative to the install folder), or undefined for PostgreSQL. */
export function sqlitePathOf(databaseUrl: string, rootDir: string): string | undefined {
  if (!databaseUrl.startsWith('sqlite:')) return undefined;
  const target = databaseUrl.slice('sqlite:'.length);
  return target === ':memory:' || isAbsolute(target) ? target : resolve(rootDir, target);
}

/** The rules between keys; each runs only when the keys it reads parsed. */
function crossKeyErrors(
  values: Partial<Settings>,
  merged: Map<Key, string>,
  env: NodeJS.ProcessEnv,
): string[] {
  const errors: string[] = [];
  const rule = (check: () => void) => {
    try {
      check();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      errors.push(error.message);
    }
  };
  rule(() => {
    if (values.USE_WEB_SERVICE_SDK) {
      throw new ConfigError(
        'Invalid configuration: USE_WEB_SERVICE_SDK=true is not available in this version; set it to false',
      );
    }
  });
  rule(() => {
    if ((values.TLS_CERT_FILE === '') !== (values.TLS_KEY_FILE === '')) {
      throw new ConfigError(
        'Invalid configuration: TLS_CERT_FILE and TLS_KEY_FILE must be set together (or both left empty)',
      );
    }
  });
  rule(() => {
    if (values.SMTP_HOST !== '' && values.SMTP_FROM === '') {
      throw new ConfigError(
        'Invalid configuration: SMTP_FROM must name the sender when SMTP_HOST is set',
      );
    }
  });
  // SSL_REQUIRED redirects to PORTAL_URL's origin: a plain-HTTP one would redirect in a loop.
  rule(() => {
    const portalUrl = values.PORTAL_URL;
    if (values.SSL_REQUIRED && portalUrl && new URL(portalUrl).protocol !== 'https:') {
      fail('PORTAL_URL', 'an https:// address when SSL_REQUIRED is true', portalUrl);
    }
  });
  // The simulator shows every user's texts and answers their calls: never on a live portal.
  rule(() => {
    if (values.SIMULATOR_ENABLED && env.NODE_ENV?.trim().toLowerCase() === 'production') {
      fail(
        'SIMULATOR_ENABLED',
        'false when NODE_ENV is production',
        merged.get('SIMULATOR_ENABLED') ?? '',
      );
    }
  });
  errors.push(...telephonyErrors(values));
  return errors;
}

/**
 * Reads every source as the portal does, later sources winning: config/default.json,
 * config/local.json, web.config <appSettings>, then the environment (where iisnode promotes
 * appSettings). Collects every error rather than stopping at the first (`check-config`).
 */
export function inspectConfig(sources: ConfigSources = {}): ConfigReport {
  const rootDir = sources.rootDir ?? projectRoot;
  const env = sources.env ?? process.env;
  const errors: string[] = [];
  const layers: [ConfigSource, Layer][] = [
    ['config/default.json', layerFromFile(join(rootDir, 'config', 'default.json'), errors)],
    ['config/local.json', layerFromFile(join(rootDir, 'config', 'local.json'), errors)],
    ['web.config', layerFromPairs(readAppSettings(join(rootDir, 'web.config')))],
    ['environment', layerFromPairs(env)],
  ];

  const entries: ConfigEntry[] = [];
  const merged = new Map<Key, string>();
  const values: Partial<Record<Key, unknown>> = {};
  for (const key of Object.keys(schema) as Key[]) {
    let entry: ConfigEntry = { key, raw: '', source: undefined };
    for (const [source, layer] of layers) {
      const set = layer.get(key);
      if (set) entry = { key, raw: set.raw, source, ...(set.alias ? { alias: set.alias } : {}) };
    }
    entries.push(entry);
    merged.set(key, entry.raw);
    try {
      values[key] = (schema[key] as Parser<unknown>)(entry.raw, key);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      errors.push(error.message);
    }
  }
  const parsed = values as Partial<Settings>;
  const underIisnode =
    env.IISNODE_VERSION !== undefined || (parsed.PORT ?? '').startsWith('\\\\.\\pipe\\');
  errors.push(...crossKeyErrors(parsed, merged, env));
  errors.push(...directoryConfigErrors(parsed, underIisnode));
  if (errors.length > 0) return { entries, errors, values: parsed, config: undefined };

  const settings = values as Settings;
  const config: Config = {
    ...settings,
    rootDir,
    underIisnode,
    secure: settings.SSL_REQUIRED || settings.TLS_CERT_FILE !== '',
    // iisnode appends the client address as the last X-Forwarded-For entry: trust exactly one hop.
    trustProxyValue:
      settings.TRUST_PROXY === '' ? (underIisnode ? 1 : false) : settings.TRUST_PROXY,
    sqlitePath: sqlitePathOf(settings.DATABASE_URL, rootDir),
  };
  return { entries, errors, values: parsed, config };
}

/**
 * The one place that reads configuration (see `inspectConfig`). Any wrong value throws a
 * ConfigError with one line for each, naming the key and what is allowed.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const { config, errors } = inspectConfig(sources);
  if (!config) throw new ConfigError(errors.join('\n'));
  return config;
}

/** What the configuration allows but an operator should hear of, once, when the portal starts. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.SSL_REQUIRED && config.PORTAL_URL === '') {
    warnings.push(
      'SSL_REQUIRED is true but PORTAL_URL is empty: plain-HTTP requests cannot be redirected to HTTPS and get a page saying that the portal is only served over HTTPS',
    );
  }
  if (config.SIMULATOR_ENABLED) {
    warnings.push(
      'SIMULATOR_ENABLED is true: calls and texts go to the development phone at /simulator, which shows them all to any browser on this machine; never use it in production',
    );
  }
  return warnings;
}
