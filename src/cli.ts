#!/usr/bin/env node
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/index.ts';
import {
  defaultSettings,
  formatSetting,
  isSettingKey,
  type SettingValue,
} from './core/settings.ts';
import { defaultBypassSeconds, maxBypassSeconds } from './core/bypass.ts';
import { cliContext } from './core/context.ts';
import { createServices } from './services.ts';

const usage = `Usage: mfa-portal <command> [options]

Commands:
  migrate                          bring the database schema up to date
  create-admin --username NAME     create an administrator (password from stdin or a prompt)
  create-user --username NAME      create a user in the local directory
      [--display-name "Full Name"] [--email address]
  bypass --username NAME           let the user's next sign-in skip the second step, once
      [--seconds 300] --reason "why"
  settings list                    show the portal settings and their values
  settings set KEY VALUE           change a portal setting (lists: comma-separated)

The password is the first line of standard input when it is not a terminal;
on a terminal it is asked for twice without echo.`;

export const minPasswordLength = 8;

async function readFirstLine(): Promise<string> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

function prompt(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) process.stdout.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stdout.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readFirstLine();
  const first = await prompt('Password: ');
  const second = await prompt('Repeat the password: ');
  if (first !== second) throw new UsageError('The two passwords differ.');
  return first;
}

class UsageError extends Error {}

async function run(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      username: { type: 'string' },
      'display-name': { type: 'string' },
      email: { type: 'string' },
      seconds: { type: 'string' },
      reason: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (command === 'settings') {
    await runSettings(positionals.slice(1));
    return;
  }
  if (command === 'bypass') {
    await issueBypass(values.username, values.seconds, values.reason);
    return;
  }
  if (!['migrate', 'create-admin', 'create-user'].includes(command)) {
    throw new UsageError(`Unknown command "${command}".\n\n${usage}`);
  }
  let password = '';
  if (command !== 'migrate') {
    if (!values.username?.trim()) throw new UsageError(`${command} needs --username NAME.`);
    password = await readPassword();
    if (password.length < minPasswordLength) {
      throw new UsageError(`The password must have at least ${minPasswordLength} characters.`);
    }
  }

  const services = await createServices(loadConfig());
  try {
    if (command === 'migrate') {
      process.stdout.write('The database schema is up to date.\n');
      return;
    }
    const username = values.username ?? '';
    const created = await services.mfa.administration.createUser(cliContext, {
      username,
      displayName: values['display-name'] ?? '',
      email: values.email ?? null,
      password,
      role: command === 'create-admin' ? 'admin' : 'user',
    });
    if (created.outcome === 'taken') throw new UsageError(`User ${username} already exists`);
    const { account } = created;
    const role = account.role === 'admin' ? 'Administrator' : 'User';
    process.stdout.write(`${role} ${account.username} created.\n`);
  } finally {
    await services.close();
  }
}

/** SPEC M7, admin-issued, until the admin console can: a reason is required and audited. */
async function issueBypass(
  username: string | undefined,
  secondsText: string | undefined,
  reason: string | undefined,
): Promise<void> {
  if (!username?.trim()) throw new UsageError('bypass needs --username NAME.');
  if (!reason?.trim()) throw new UsageError('bypass needs --reason "why", for the audit trail.');
  const seconds = secondsText === undefined ? defaultBypassSeconds : Number(secondsText);
  if (!/^\d+$/.test(secondsText ?? '300') || seconds < 1 || seconds > maxBypassSeconds) {
    throw new UsageError(`--seconds must be a whole number from 1 to ${maxBypassSeconds}.`);
  }
  const services = await createServices(loadConfig());
  try {
    const user = await services.mfa.administration.findUser(cliContext, { username });
    if (!user) throw new UsageError(`No user ${username}.`);
    const { expiresAt, notified } = await services.mfa.administration.issueBypass(cliContext, {
      userId: user.id,
      seconds,
      reason: reason.trim(),
    });
    process.stdout.write(
      `${user.username} may sign in without the second step once until ${new Date(expiresAt).toISOString()}.\n`,
    );
    // SPEC M7: the user is told, as when they start a bypass themselves; awaited before exit.
    if (notified) process.stdout.write(`A security notice went to ${user.email ?? ''}.\n`);
  } finally {
    await services.close();
  }
}

/** Until the admin console has its settings pages, operators change settings here (SPEC §5). */
async function runSettings([action, key, ...rest]: string[]): Promise<void> {
  if (action !== 'list' && action !== 'set') {
    throw new UsageError(`settings needs "list" or "set KEY VALUE".\n\n${usage}`);
  }
  if (action === 'set') {
    if (key === undefined || rest.length !== 1)
      throw new UsageError('Usage: settings set KEY VALUE');
    if (!isSettingKey(key)) {
      throw new UsageError(
        `Unknown setting "${key}". Known: ${Object.keys(defaultSettings).join(', ')}`,
      );
    }
  }
  const services = await createServices(loadConfig());
  try {
    if (action === 'set' && key !== undefined) {
      const changed = await services.mfa.administration.changeSetting(cliContext, {
        key,
        value: rest[0] ?? '',
      });
      if (changed.outcome === 'invalid') throw new UsageError(changed.message);
      process.stdout.write(`${key} = ${changed.value}\n`);
      return;
    }
    const settings = await services.mfa.signIn.settings(cliContext);
    for (const [name, value] of Object.entries(settings) as [string, SettingValue][]) {
      process.stdout.write(`${name} = ${formatSetting(value)}\n`);
    }
  } finally {
    await services.close();
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  const known =
    error instanceof UsageError ||
    error instanceof ConfigError ||
    (error instanceof TypeError &&
      'code' in error &&
      String(error.code).startsWith('ERR_PARSE_ARGS'));
  process.stderr.write(`${error instanceof Error && known ? error.message : String(error)}\n`);
  process.exit(known ? 2 : 1);
});
