import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { projectRoot } from '../../src/config/index.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a portal or command on `databaseUrl`: for SQLite, the key file beside the
 * database, as data/ holds both in an installation (and never in the checkout's own data/).
 */
export function installationEnv(databaseUrl: string): Record<string, string> {
  const sqlitePath = databaseUrl.startsWith('sqlite:') ? databaseUrl.slice(7) : undefined;
  return {
    DATABASE_URL: databaseUrl,
    ...(sqlitePath ? { ENCRYPTION_KEY_FILE: join(dirname(sqlitePath), 'encryption.key') } : {}),
  };
}

/** Runs `mfa-portal …` as an operator would, with `stdin` as its standard input. */
export function cli(
  args: string[],
  databaseUrl: string,
  stdin = '',
  env: Record<string, string> = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, ['src/cli.ts', ...args], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, ...installationEnv(databaseUrl), ...env },
  });
  child.stdin.end(stdin);
  return outputOf(child);
}

/** What a child process printed, and its exit code, once it has closed. */
export function outputOf(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}
