import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/index.ts';
import { cliContext } from '../core/context.ts';
import { importFileText } from '../core/csv.ts';
import type { ImportOutcome, ImportReport } from '../core/service/imports.ts';
import { createServices } from '../services.ts';
import { RefusedError, UsageError } from './errors.ts';

/** Import files are read whole; a seed or user file of this size is already very large. */
const maxFileBytes = 64 * 1024 * 1024;

function readImportFile(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new RefusedError(`Cannot read ${file}: ${error instanceof Error ? error.message : ''}`);
  }
  if (bytes.length > maxFileBytes) throw new RefusedError(`${file} is larger than 64 MB.`);
  return importFileText(bytes);
}

const verbs = { add: 'add', update: 'update', unchanged: 'unchanged', refuse: 'REFUSED' };

/** The preview or the report, one line for each line of the file, then the totals. */
function printReport(report: ImportReport): void {
  const width = Math.max(0, ...report.lines.map((l) => l.name.length));
  for (const line of report.lines) {
    const detail =
      line.action === 'refuse'
        ? `: ${line.reason ?? ''}`
        : line.changes.length > 0
          ? ` (${line.changes.join(', ')})`
          : '';
    process.stdout.write(
      `${`line ${String(line.line).padStart(4)}  ${verbs[line.action].padEnd(9)}  ${line.name.padEnd(width)}${detail}`.trimEnd()}\n`,
    );
  }
  const count = (action: string) => report.lines.filter((l) => l.action === action).length;
  const [added, updated, unchanged, refused] = ['add', 'update', 'unchanged', 'refuse'].map(count);
  process.stdout.write(
    report.applied
      ? `Saved (${report.format}): ${added} added, ${updated} updated, ${unchanged} unchanged, ${refused} refused.\n`
      : `Dry run (${report.format}): ${added} to add, ${updated} to update, ${unchanged} unchanged, ${refused} refused. Nothing is saved; run again with --apply to save.\n`,
  );
}

function finish(outcome: ImportOutcome): void {
  if (outcome.outcome === 'unreadable') throw new RefusedError(outcome.message);
  printReport(outcome.report);
}

/** SPEC O3 `import-users FILE [--apply]`: a dry run unless --apply. */
export async function runImportUsers(file: string, apply: boolean): Promise<void> {
  const text = readImportFile(file);
  const services = await createServices(loadConfig());
  try {
    finish(await services.mfa.administration.importUsers(cliContext, { text, apply }));
  } finally {
    await services.close();
  }
}

/**
 * `import-tokens FILE [--password P | --key HEX] [--apply]`; `--password -` reads the password
 * from the first line of standard input, so that it stays out of the process list.
 */
export async function runImportTokens(
  file: string,
  options: { apply: boolean; key?: string; password?: string },
  readFirstLine: () => Promise<string>,
): Promise<void> {
  if (options.key !== undefined && options.password !== undefined) {
    throw new UsageError('Give --key or --password, not both.');
  }
  let key: Buffer | undefined;
  if (options.key !== undefined) {
    if (!/^(?:[0-9a-fA-F]{2}){16,32}$/.test(options.key.trim())) {
      throw new UsageError('--key is the pre-shared AES key in hexadecimal (32, 48 or 64 digits).');
    }
    key = Buffer.from(options.key.trim(), 'hex');
  }
  const password = options.password === '-' ? await readFirstLine() : options.password;
  const text = readImportFile(file);
  const services = await createServices(loadConfig());
  try {
    const outcome = await services.mfa.administration.importTokens(cliContext, {
      text,
      apply: options.apply,
      ...(key ? { key } : {}),
      ...(password !== undefined ? { password } : {}),
    });
    finish(outcome);
  } finally {
    await services.close();
  }
}
