import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface LogFilesOptions {
  directory: string;
  /** A file is closed and a new one started before a line would take it past this size. */
  maxBytes: number;
  /** How many files are kept, the one being written included; older ones are deleted. */
  keep: number;
}

const logFileName = /^mfa-portal-.+\.log$/;

/**
 * The log files of "Enable logging" (SPEC O2): a pino destination that writes each line to
 * `mfa-portal-<time>-<pid>.log` in one folder, starts a new file by size and deletes the oldest
 * beyond a count. Each process writes only files it named, so that the process iisnode is
 * recycling and the one taking over (or a command-line run) never write into or rename the same
 * file; names sort by time, whichever process wrote them. Writes are synchronous, like pino's
 * stdout, so that nothing is lost when the process exits.
 */
export function openRotatingLogFiles(options: LogFilesOptions): { write(line: string): void } {
  const { directory, maxBytes, keep } = options;
  mkdirSync(directory, { recursive: true });
  let name = '';
  let fd = -1;
  let bytes = 0;
  let failed = false;
  let startedAt = 0;

  const deleteOldest = () => {
    const names = readdirSync(directory)
      .filter((file) => logFileName.test(file) && file !== name)
      .sort();
    for (const file of names.slice(0, Math.max(0, names.length - (keep - 1)))) {
      try {
        rmSync(join(directory, file), { force: true });
      } catch {
        // Another process's file that Windows will not let go of yet: deleted next time.
      }
    }
  };

  const startFile = () => {
    if (fd !== -1) closeSync(fd);
    fd = -1; // never a number the system may hand to another file
    // A millisecond later than the last file at least, so that each name is new and in order.
    startedAt = Math.max(Date.now(), startedAt + 1);
    const time = new Date(startedAt).toISOString().replace(/[:.]/g, '-');
    name = `mfa-portal-${time}-${process.pid}.log`;
    fd = openSync(join(directory, name), 'a');
    bytes = 0;
    deleteOldest();
  };

  // Opened now: a folder the portal may not write to stops the start and says why, rather than
  // losing every line later.
  startFile();

  return {
    write(line: string) {
      try {
        const data = Buffer.from(line);
        if (fd === -1 || (bytes > 0 && bytes + data.length > maxBytes)) startFile();
        bytes += writeSync(fd, data);
        failed = false;
      } catch (error) {
        // A full disk must not stop the portal: stdout still has the line. Said once per outage.
        if (!failed) {
          process.stderr.write(`Log file not written in ${directory}: ${String(error)}\n`);
        }
        failed = true;
      }
    },
  };
}
