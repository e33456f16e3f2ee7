/** The parsers of configuration values: each names its key and what is allowed when it fails. */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Parser<T> = (raw: string, key: string) => T;

/**
 * Hides the passwords a text may hold: in a URL's user part (`//user:secret@`) and in query
 * parameters such as `?password=`. It works on malformed URLs too, for messages that quote them.
 */
export function maskPasswords(text: string): string {
  return text
    .replace(/(\/\/[^:/?#@\s]*:)[^@\s/]*@/g, '$1***@')
    .replace(/([?&](?:password|pass|pwd|secret|token)=)[^&#\s"]*/gi, '$1***');
}

export function fail(key: string, allowed: string, raw: string): never {
  throw new ConfigError(
    `Invalid configuration: ${key} must be ${allowed} (got "${maskPasswords(raw)}")`,
  );
}

export function integer(min: number, max: number): Parser<number> {
  return (raw, key) => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
      fail(key, `a whole number from ${min} to ${max}`, raw);
    }
    return value;
  };
}

export const text: Parser<string> = (raw) => raw.trim();

export const flag: Parser<boolean> = (raw, key) => {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0' || value === '') return false;
  return fail(key, 'true or false', raw);
};
