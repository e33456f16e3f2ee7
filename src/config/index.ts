import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { knownTimeZone } from '../core/dates.ts';
import { readAppSettings } from './web-config.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Parser<T> = (raw: string, key: string) => T;

function fail(key: string, allowed: string, raw: string): never {
  throw new ConfigError(`Invalid configuration: ${key} must be ${allowed} (got "${raw}")`);
}

function integer(min: number, max: number): Parser<number> {
  return (raw, key) => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
      fail(key, `a whole number from ${min} to ${max}`, raw);
    }
    return value;
  };
}

const text: Parser<string> = (raw) => raw.trim();

const flag: Parser<boolean> = (raw, key) => {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0' || value === '') return false;
  return fail(key, 'true or false', raw);
};

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

const schema = {
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

function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`Invalid configuration: ${path} is not valid JSON (${String(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`Invalid configuration: ${path} must hold one JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function canonicalKey(key: string): Key | undefined {
  if (key in schema) return key as Key;
  return aliases[key];
}

function layerFromFile(path: string): Partial<Record<Key, string>> {
  const layer: Partial<Record<Key, string>> = {};
  for (const [key, value] of Object.entries(readJson(path))) {
    const canonical = canonicalKey(key);
    if (!canonical) throw new ConfigError(`Invalid configuration: unknown key ${key} in ${path}`);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(`Invalid configuration: ${key} in ${path} must be a string`);
    }
    layer[canonical] = String(value);
  }
  return layer;
}

function layerFromPairs(pairs: Record<string, string | undefined>): Partial<Record<Key, string>> {
  const layer: Partial<Record<Key, string>> = {};
  for (const [key, value] of Object.entries(pairs)) {
    const canonical = canonicalKey(key);
    if (canonical && value !== undefined) layer[canonical] = value;
  }
  return layer;
}

/**
 * The one place that reads configuration. Later sources win: config/default.json,
 * config/local.json, web.config <appSettings>, then the environment (where iisnode promotes
 * appSettings). Any wrong value throws a ConfigError naming the key and what is allowed.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const rootDir = sources.rootDir ?? projectRoot;
  const env = sources.env ?? process.env;
  const merged: Partial<Record<Key, string>> = {
    ...layerFromFile(join(rootDir, 'config', 'default.json')),
    ...layerFromFile(join(rootDir, 'config', 'local.json')),
    ...layerFromPairs(readAppSettings(join(rootDir, 'web.config'))),
    ...layerFromPairs(env),
  };

  const settings = {} as Record<Key, unknown>;
  for (const key of Object.keys(schema) as Key[]) {
    const parse = schema[key] as Parser<unknown>;
    settings[key] = parse(merged[key] ?? '', key);
  }
  const values = settings as Settings;

  if (values.USE_WEB_SERVICE_SDK) {
    throw new ConfigError(
      'Invalid configuration: USE_WEB_SERVICE_SDK=true is not available in this version; set it to false',
    );
  }
  if ((values.TLS_CERT_FILE === '') !== (values.TLS_KEY_FILE === '')) {
    throw new ConfigError(
      'Invalid configuration: TLS_CERT_FILE and TLS_KEY_FILE must be set together (or both left empty)',
    );
  }

  if (values.SMTP_HOST !== '' && values.SMTP_FROM === '') {
    throw new ConfigError(
      'Invalid configuration: SMTP_FROM must name the sender when SMTP_HOST is set',
    );
  }

  // SSL_REQUIRED redirects to PORTAL_URL's origin: a plain-HTTP one would redirect in a loop.
  if (
    values.SSL_REQUIRED &&
    values.PORTAL_URL !== '' &&
    new URL(values.PORTAL_URL).protocol !== 'https:'
  ) {
    fail('PORTAL_URL', 'an https:// address when SSL_REQUIRED is true', values.PORTAL_URL);
  }

  // The simulator shows every user's texts and answers their calls: never on a live portal.
  if (values.SIMULATOR_ENABLED && env.NODE_ENV?.trim().toLowerCase() === 'production') {
    fail('SIMULATOR_ENABLED', 'false when NODE_ENV is production', merged.SIMULATOR_ENABLED ?? '');
  }

  const underIisnode = env.IISNODE_VERSION !== undefined || values.PORT.startsWith('\\\\.\\pipe\\');
  const sqliteTarget = values.DATABASE_URL.startsWith('sqlite:')
    ? values.DATABASE_URL.slice('sqlite:'.length)
    : undefined;
  let sqlitePath: string | undefined;
  if (sqliteTarget !== undefined) {
    sqlitePath =
      sqliteTarget === ':memory:' || isAbsolute(sqliteTarget)
        ? sqliteTarget
        : resolve(rootDir, sqliteTarget);
  }

  return {
    ...values,
    rootDir,
    underIisnode,
    secure: values.SSL_REQUIRED || values.TLS_CERT_FILE !== '',
    // iisnode appends the client address as the last X-Forwarded-For entry: trust exactly one hop.
    trustProxyValue: values.TRUST_PROXY === '' ? (underIisnode ? 1 : false) : values.TRUST_PROXY,
    sqlitePath,
  };
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
