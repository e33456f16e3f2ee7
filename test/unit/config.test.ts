import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configWarnings,
  inspectConfig,
  loadConfig,
  maskPasswords,
  projectRoot,
} from '../../src/config/index.ts';

const shippedDefaults = JSON.parse(
  readFileSync(join(projectRoot, 'config', 'default.json'), 'utf8'),
) as Record<string, string>;

function rootWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mfa-config-'));
  mkdirSync(join(root, 'config'));
  for (const [path, content] of Object.entries(files)) writeFileSync(join(root, path), content);
  return root;
}

describe('configuration', () => {
  it('starts from config/default.json with the documented defaults', () => {
    const config = loadConfig({ rootDir: projectRoot, env: {} });
    expect(config.PORT).toBe('3000');
    expect(config.DATABASE_URL).toBe('sqlite:data/mfa.sqlite');
    expect(config.sqlitePath).toBe(join(projectRoot, 'data', 'mfa.sqlite'));
    expect(config.SESSION_IDLE_MINUTES).toBe(20);
    expect(config.SESSION_ABSOLUTE_HOURS).toBe(8);
    expect(config.secure).toBe(false);
    expect(config.trustProxyValue).toBe(false);
  });

  it('lets local.json, then web.config appSettings, then the environment win', () => {
    const root = rootWith({
      'config/default.json': JSON.stringify({ ...shippedDefaults, PORT: '1', LOG_LEVEL: 'info' }),
      'config/local.json': JSON.stringify({ PORT: '2', LOG_LEVEL: 'warn' }),
      'web.config': `<?xml version="1.0"?>
<configuration>
  <appSettings>
    <add key="PORT" value="3" />
    <!-- <add key="LOG_LEVEL" value="trace" /> -->
    <add key="BASE_PATH" value="/MultiFactorAuth" />
    <add key="pfup_pfwssdk_PfWsSdk" value="https://mfa.example/PfWsSdk.asmx?a=1&amp;b=2" />
    <add key="SomeOtherApp" value="ignored" />
  </appSettings>
</configuration>`,
    });
    const config = loadConfig({ rootDir: root, env: { PORT: '4' } });
    expect(config.PORT).toBe('4');
    expect(config.LOG_LEVEL).toBe('warn');
    expect(config.BASE_PATH).toBe('/MultiFactorAuth');
    expect(config.WEB_SERVICE_SDK_URL).toBe('https://mfa.example/PfWsSdk.asmx?a=1&b=2');
    expect(loadConfig({ rootDir: root, env: {} }).PORT).toBe('3');
  });

  it.each([
    [
      'SESSION_IDLE_MINUTES',
      'twenty',
      /SESSION_IDLE_MINUTES must be a whole number from 1 to 1440/,
    ],
    ['SESSION_ABSOLUTE_HOURS', '0', /SESSION_ABSOLUTE_HOURS must be a whole number/],
    ['PORT', 'http', /PORT must be a TCP port number, a named pipe/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL must be sqlite:<path> or postgres:/],
    ['SSL_REQUIRED', 'yes please', /SSL_REQUIRED must be true or false/],
    ['BASE_PATH', 'MultiFactorAuth', /BASE_PATH must be empty or a path such as \/MultiFactorAuth/],
    ['REDIS_URL', 'localhost:6379', /REDIS_URL must be empty or redis:\/\/host:port/],
    ['TRUST_PROXY', 'everyone', /TRUST_PROXY must be/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of/],
  ])('refuses %s=%s with a message naming the key', (key, value, message) => {
    expect(() => loadConfig({ rootDir: projectRoot, env: { [key]: value } })).toThrow(message);
    expect(() => loadConfig({ rootDir: projectRoot, env: { [key]: value } })).toThrow(ConfigError);
  });

  it('refuses an unknown key in a JSON file, naming it', () => {
    const root = rootWith({ 'config/default.json': JSON.stringify({ SESION_SECRET: 'typo' }) });
    expect(() => loadConfig({ rootDir: root, env: {} })).toThrow(/unknown key SESION_SECRET/);
  });

  it('refuses half a TLS configuration and the SDK mode this version lacks', () => {
    expect(() => loadConfig({ rootDir: projectRoot, env: { TLS_CERT_FILE: '/x.pem' } })).toThrow(
      /TLS_CERT_FILE and TLS_KEY_FILE must be set together/,
    );
    expect(() =>
      loadConfig({ rootDir: projectRoot, env: { USE_WEB_SERVICE_SDK: 'true' } }),
    ).toThrow(/USE_WEB_SERVICE_SDK=true is not available/);
  });

  it('refuses RADIUS user principal names without a DNS domain to complete a bare name', () => {
    const radius = {
      PRIMARY_AUTHENTICATION: 'radius',
      RADIUS_SERVERS: 'radius1',
      RADIUS_SECRET: 'a shared secret',
      RADIUS_USERNAME_FORM: 'upn',
    };
    expect(() =>
      loadConfig({ rootDir: projectRoot, env: { ...radius, RADIUS_DOMAINS: 'CONTOSO' } }),
    ).toThrow(/RADIUS_DOMAINS must name a DNS domain/);
    const config = loadConfig({
      rootDir: projectRoot,
      env: { ...radius, RADIUS_DOMAINS: 'CONTOSO,contoso.com' },
    });
    expect(config.RADIUS_DOMAINS).toEqual(['CONTOSO', 'contoso.com']);
    expect(() =>
      loadConfig({ rootDir: projectRoot, env: { ...radius, RADIUS_USERNAME_FORM: 'dn' } }),
    ).toThrow(/RADIUS_USERNAME_FORM/);
  });

  it('recognises iisnode and then trusts exactly the one proxy hop it adds', () => {
    const pipe = loadConfig({ rootDir: projectRoot, env: { PORT: '\\\\.\\pipe\\abc-123' } });
    expect(pipe.PORT).toBe('\\\\.\\pipe\\abc-123');
    expect(pipe.underIisnode).toBe(true);
    expect(pipe.trustProxyValue).toBe(1);
    const explicit = loadConfig({
      rootDir: projectRoot,
      env: { IISNODE_VERSION: '0.2.26', TRUST_PROXY: 'false' },
    });
    expect(explicit.underIisnode).toBe(true);
    expect(explicit.trustProxyValue).toBe(false);
  });

  it('treats SSL_REQUIRED as a secure deployment', () => {
    expect(loadConfig({ rootDir: projectRoot, env: { SSL_REQUIRED: 'true' } }).secure).toBe(true);
  });

  it('redirects SSL_REQUIRED only to an https:// PORTAL_URL, and warns when there is none', () => {
    const load = (env: Record<string, string>) => loadConfig({ rootDir: projectRoot, env });
    expect(() => load({ SSL_REQUIRED: 'true', PORTAL_URL: 'http://mfa.example.org' })).toThrow(
      /^Invalid configuration: PORTAL_URL must be an https:\/\/ address when SSL_REQUIRED is true/,
    );
    expect(
      configWarnings(load({ SSL_REQUIRED: 'true', PORTAL_URL: 'https://mfa.example.org' })),
    ).toEqual([]);
    expect(configWarnings(load({ SSL_REQUIRED: 'false', PORTAL_URL: '' }))).toEqual([]);
    expect(configWarnings(load({ SSL_REQUIRED: 'true', PORTAL_URL: '' }))).toEqual([
      expect.stringMatching(/^SSL_REQUIRED is true but PORTAL_URL is empty/),
    ]);
  });

  it('refuses the simulator in production, naming the key', () => {
    const load = (env: Record<string, string>) => loadConfig({ rootDir: projectRoot, env });
    expect(() => load({ SIMULATOR_ENABLED: 'true', NODE_ENV: 'production' })).toThrow(
      /^Invalid configuration: SIMULATOR_ENABLED must be false when NODE_ENV is production/,
    );
    expect(load({ SIMULATOR_ENABLED: 'false', NODE_ENV: 'production' }).SIMULATOR_ENABLED).toBe(
      false,
    );
    expect(configWarnings(load({ SIMULATOR_ENABLED: 'true' }))).toEqual([
      expect.stringMatching(/^SIMULATOR_ENABLED is true/),
    ]);
  });

  it('collects every error of every source at once, and says where each value came from', () => {
    const root = rootWith({
      'config/default.json': JSON.stringify(shippedDefaults),
      'config/local.json': JSON.stringify({ SESION_SECRET: 'x', LOG_LEVEL: 'loud' }),
    });
    const report = inspectConfig({
      rootDir: root,
      env: { SESSION_IDLE_MINUTES: 'soon', SMTP_HOST: 'mail.example.org', PORT: '8080' },
    });
    expect(report.config).toBe(undefined);
    expect(report.errors).toEqual([
      `Invalid configuration: unknown key SESION_SECRET in ${join(root, 'config', 'local.json')}`,
      'Invalid configuration: SESSION_IDLE_MINUTES must be a whole number from 1 to 1440 (got "soon")',
      'Invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'Invalid configuration: SMTP_FROM must name the sender when SMTP_HOST is set',
    ]);
    const entry = (key: string) => report.entries.find((e) => e.key === key);
    expect(entry('PORT')).toEqual({ key: 'PORT', raw: '8080', source: 'environment' });
    expect(entry('LOG_LEVEL')).toEqual({
      key: 'LOG_LEVEL',
      raw: 'loud',
      source: 'config/local.json',
    });
    expect(entry('BASE_PATH')).toMatchObject({ source: 'config/default.json' });
    expect(report.values.PORT).toBe('8080');
    expect(() => loadConfig({ rootDir: root, env: { SESSION_IDLE_MINUTES: 'soon' } })).toThrow(
      /unknown key SESION_SECRET[^\n]*\n.*SESSION_IDLE_MINUTES/,
    );
  });

  it('masks passwords in URLs, also in the messages that quote a malformed one', () => {
    expect(maskPasswords('postgres://mfa:s3cret@db/mfa?sslmode=require&password=p2')).toBe(
      'postgres://mfa:***@db/mfa?sslmode=require&password=***',
    );
    expect(maskPasswords('redis://:pw@cache:6379')).toBe('redis://:***@cache:6379');
    expect(maskPasswords('sqlite:data/mfa.sqlite')).toBe('sqlite:data/mfa.sqlite');
    expect(() =>
      loadConfig({ rootDir: projectRoot, env: { DATABASE_URL: 'mysql://root:hunter2@db/mfa' } }),
    ).toThrow('(got "mysql://root:***@db/mfa")');
  });
});
