import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { needs } from './services.ts';

/** Debian's lynx, the text browser of SPEC L2. */
export const lynxPath = '/usr/bin/lynx';

function lynxUnavailable(): Promise<string | undefined> {
  try {
    accessSync(lynxPath, constants.X_OK);
    return Promise.resolve(undefined);
  } catch {
    return Promise.resolve(`no executable at ${lynxPath}`);
  }
}

/**
 * True when the text browser tests must be skipped: locally a missing lynx says so in one line,
 * under CI=true it throws. Use as `describe.skipIf(await lynxMissing())`.
 */
export function lynxMissing(): Promise<boolean> {
  return needs('lynx', lynxUnavailable);
}

/*
 * Lines of a lynx `-cmd_script`: what a person presses, one key a line. A space and every byte of
 * a character beyond ASCII go as hexadecimal codes, which lynx reads as typed.
 */

function keyFor(byte: number): string {
  const printable = byte > 0x20 && byte < 0x7f;
  return `key ${printable ? String.fromCharCode(byte) : `0x${byte.toString(16)}`}`;
}

/** Types the text into the field that has the focus, or into a prompt. */
export function type(text: string): string[] {
  return [...Buffer.from(text, 'utf8')].map(keyFor);
}

/** Presses keys by lynx's names for them: `Down Arrow`, `^J` (Return). */
export function press(...keys: string[]): string[] {
  return keys.map((key) => `key ${key}`);
}

/**
 * Searches the page for the text; lynx then selects the link or field the text is in, or else the
 * first one after it. Lynx stops at the first match, inside any word and whatever the case (Dutch
 * "taal" is found in "MFA-portaal"), so the text must first occur where the wanted control is.
 */
export function find(text: string): string[] {
  return [...press('/'), ...type(text), ...press('^J')];
}

export interface TextBrowser {
  /** Keystrokes that save the page on screen, as lynx shows it, under that name. */
  savePage(name: string): string[];
  /** Runs one lynx session from the address: it presses the keys, then exits. */
  browse(url: string, keystrokes: string[]): Promise<void>;
  /** The lines of a saved page, without their indentation. */
  pageLines(name: string): string[];
  /** Removes the session's files. */
  close(): void;
}

const run = promisify(execFile);

/** Single quotes for the shell that `script` hands the command to. */
function quoted(argument: string): string {
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

/**
 * Lynx with a fresh home of its own: no `.lynxrc`, cookies kept for the session only and accepted
 * without asking. Lynx draws on a terminal even when a script drives it, so `script` gives it a
 * pseudo-terminal; what it draws there is not read, the pages it saves are.
 */
export function openTextBrowser(): TextBrowser {
  const home = mkdtempSync(join(tmpdir(), 'mfa-lynx-'));
  const pagePath = (name: string) => join(home, `${name}.txt`);
  return {
    savePage(name) {
      // The print menu opens on "Save to a local file"; ^U clears the name it suggests.
      return [...press('p', '^J', '^U'), ...type(pagePath(name)), ...press('^J')];
    },
    async browse(url, keystrokes) {
      const script = join(home, 'keystrokes.txt');
      writeFileSync(script, [...keystrokes, 'exit', ''].join('\n'));
      const lynx = [
        lynxPath,
        '-accept_all_cookies',
        '-nopause',
        '-display_charset=utf-8',
        `-cmd_script=${script}`,
        url,
      ];
      await run('script', ['-q', '-e', '-c', lynx.map(quoted).join(' '), '/dev/null'], {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          TERM: 'vt100',
          LANG: 'C.UTF-8',
        },
        timeout: 30_000,
      });
    },
    pageLines(name) {
      return readFileSync(pagePath(name), 'utf8')
        .split('\n')
        .map((line) => line.trim());
    },
    close() {
      rmSync(home, { recursive: true, force: true });
    },
  };
}
