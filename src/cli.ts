#!/usr/bin/env node
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { runBackup, runRestore } from './cli/backup.ts';
import { runCheckConfig } from './cli/check-config.ts';
import { runImportTokens, runImportUsers } from './cli/imports.ts';
import { runSyncDirectory } from './cli/sync-directory.ts';
import { RefusedError, UsageError } from './cli/errors.ts';
import { ConfigError, loadConfig } from './config/index.ts';
import { BackupError } from './data/backup.ts';
import {
  defaultSettings,
  formatSetting,
  isSettingKey,
  type SettingValue,
} from './core/settings.ts';
import { defaultBypassSeconds, maxBypassSeconds } from './core/bypass.ts';
import { adminPermissions, type Grant } from './core/administrators.ts';
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
  unlock --username NAME           end a lockout after failed attempts
  reset-password --username NAME   give a user (or a locked-out administrator) a new password
  list-admins                      show the administrators and their permissions
  grant --username NAME            give a permission, for one group or (without --group) all
      --permission PERMISSION [--group GROUP]
  revoke --username NAME           take a permission back: for one group, or every grant of it
      --permission PERMISSION [--group GROUP]
  import-users FILE [--apply]      users from a CSV or MFA Server's export; a preview unless --apply
  import-tokens FILE [--apply]     OATH tokens from a seed CSV or PSKC; a preview unless --apply
      [--key HEX | --password P]   (an encrypted PSKC; --password - reads it from stdin)
  backup FILE                      copy the SQLite database to a new FILE, also while serving
  restore FILE                     put a backup in place of the SQLite database (portal stopped)
  check-config                     show the effective configuration and every error in it
  sync-directory [--approve]       bring the accounts up to date with LDAP; --approve lets more
                                   than 5 leavers at once be disabled

Permissions: ${adminPermissions.join(', ')}.

The password is the first line of standard input when it is not a terminal;
on a terminal it is asked for twice without echo.`;

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
      permission: { type: 'string' },
      group: { type: 'string' },
      apply: { type: 'boolean' },
      key: { type: 'string' },
      password: { type: 'string' },
      approve: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return;
  }
  switch (command) {
    case 'settings':
      await runSettings(rest);
      return;
    case 'bypass':
      await issueBypass(values.username, values.seconds, values.reason);
      return;
    case 'unlock':
      await unlock(values.username);
      return;
    case 'reset-password':
      await resetPassword(values.username);
      return;
    case 'list-admins':
      await listAdmins();
      return;
    case 'grant':
    case 'revoke':
      await changeGrant(command, values);
      return;
    case 'import-users':
      await runImportUsers(fileArgument(command, rest), values.apply ?? false);
      return;
    case 'import-tokens':
      await runImportTokens(
        fileArgument(command, rest),
        {
          apply: values.apply ?? false,
          ...(values.key === undefined ? {} : { key: values.key }),
          ...(values.password === undefined ? {} : { password: values.password }),
        },
        readFirstLine,
      );
      return;
    case 'backup':
      runBackup(loadConfig(), fileArgument('backup', rest));
      return;
    case 'restore':
      runRestore(loadConfig(), fileArgument('restore', rest));
      return;
    case 'sync-directory':
      await runSyncDirectory(loadConfig(), values.approve === true);
      return;
    case 'check-config':
      process.exitCode = await runCheckConfig();
      return;
    case 'migrate':
    case 'create-admin':
    case 'create-user':
      await createUserOrMigrate(command, values);
      return;
    default:
      throw new UsageError(`Unknown command "${command}".\n\n${usage}`);
  }
}

function fileArgument(command: string, rest: string[]): string {
  const [file, ...extra] = rest;
  if (file === undefined || extra.length > 0) throw new UsageError(`Usage: ${command} FILE`);
  return file;
}

function requireUsername(command: string, username: string | undefined): string {
  if (!username?.trim()) throw new UsageError(`${command} needs --username NAME.`);
  return username;
}

async function createUserOrMigrate(
  command: 'migrate' | 'create-admin' | 'create-user',
  values: { username?: string; 'display-name'?: string; email?: string },
): Promise<void> {
  let password = '';
  if (command !== 'migrate') {
    requireUsername(command, values.username);
    password = await readPassword();
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
    if (created.outcome === 'invalid') throw new UsageError(created.message);
    const { account } = created;
    const role = account.role === 'admin' ? 'Administrator' : 'User';
    process.stdout.write(`${role} ${account.username} created.\n`);
  } finally {
    await services.close();
  }
}

/** SPEC M8: the helpdesk ends a lockout; audited with the command line as the actor. */
async function unlock(username: string | undefined): Promise<void> {
  const name = requireUsername('unlock', username);
  const services = await createServices(loadConfig());
  try {
    const user = await services.mfa.administration.findUser(cliContext, { username: name });
    if (!user) throw new UsageError(`No user ${name}.`);
    const { wasLocked } = await services.mfa.administration.unlock(cliContext, { userId: user.id });
    process.stdout.write(
      wasLocked
        ? `${user.username} is unlocked; the failed attempts are forgotten.\n`
        : `${user.username} was not locked; the failed attempts are forgotten.\n`,
    );
    if (user.disabled) {
      process.stdout.write(
        `${user.username} stays blocked (disabled, for example after a fraud report): unlock does not change that.\n`,
      );
    }
  } finally {
    await services.close();
  }
}

/** A new password for a user, or for the administrator who lost theirs (the way back in). */
async function resetPassword(username: string | undefined): Promise<void> {
  const name = requireUsername('reset-password', username);
  const password = await readPassword();
  const services = await createServices(loadConfig());
  try {
    const user = await services.mfa.administration.findUser(cliContext, { username: name });
    if (!user) throw new UsageError(`No user ${name}.`);
    const reset = await services.mfa.administration.resetPassword(cliContext, {
      userId: user.id,
      password,
    });
    if (reset.outcome === 'invalid') throw new UsageError(reset.message);
    process.stdout.write(`${user.username} has a new password.\n`);
    if (reset.notified) process.stdout.write(`A security notice went to ${user.email ?? ''}.\n`);
    if (reset.lockedUntil !== null) {
      process.stdout.write(
        `${user.username} is still locked until ${new Date(reset.lockedUntil).toISOString()}: mfa-portal unlock --username ${user.username} ends that.\n`,
      );
    }
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

const grantText = (grant: Grant) =>
  grant.group === null ? grant.permission : `${grant.permission} for group ${grant.group}`;

/** SPEC A1: who administers, with which permissions, for which groups. */
async function listAdmins(): Promise<void> {
  const services = await createServices(loadConfig());
  try {
    const admins = await services.mfa.administration.listAdministrators(cliContext);
    if (admins.length === 0) process.stdout.write('No administrator exists yet.\n');
    for (const { user, grants } of admins) {
      const state = user.disabled ? ' (disabled)' : '';
      const rights = grants.length ? grants.map(grantText).join(', ') : 'no permission';
      process.stdout.write(`${user.username}${state}: ${rights}\n`);
    }
  } finally {
    await services.close();
  }
}

/**
 * SPEC A1: gives or takes back a permission, through the same operations as the admin console,
 * for an administrator who locked themselves out or a first helpdesk team.
 */
async function changeGrant(
  command: 'grant' | 'revoke',
  values: { username?: string; permission?: string; group?: string },
): Promise<void> {
  const name = requireUsername(command, values.username);
  const { permission, group } = values;
  if (!permission || !(adminPermissions as readonly string[]).includes(permission)) {
    throw new UsageError(`${command} needs --permission, one of: ${adminPermissions.join(', ')}.`);
  }
  if (group !== undefined && !group.trim()) throw new UsageError('--group needs a name.');
  const services = await createServices(loadConfig());
  try {
    const { administration } = services.mfa;
    const user = await administration.findUser(cliContext, { username: name });
    if (!user) throw new UsageError(`No user ${name}.`);
    const scope = group === undefined ? 'every group' : `group ${group.trim()}`;
    if (command === 'grant') {
      const granted = await administration.grant(cliContext, {
        userId: user.id,
        permission,
        group: group ?? null,
      });
      if (granted.outcome === 'invalid') throw new UsageError(granted.message);
      process.stdout.write(`${user.username} may now ${permission} for ${scope}.\n`);
      return;
    }
    const revoked = await administration.revoke(cliContext, {
      userId: user.id,
      permission,
      ...(group === undefined ? {} : { group }),
    });
    if (revoked.outcome === 'invalid') throw new UsageError(revoked.message);
    if (revoked.outcome === 'last-manager') {
      throw new RefusedError(
        `${user.username} is the last administrator who can manage administrators for every group: grant manage-administrators to another one first.`,
      );
    }
    process.stdout.write(
      revoked.count === 0
        ? `${user.username} did not have ${permission}${group === undefined ? '' : ` for ${scope}`}.\n`
        : `${user.username} no longer has ${permission}${group === undefined ? '' : ` for ${scope}`}.\n`,
    );
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

/** What each kind of failure exits with: 2 for a command used wrongly, 1 for one refused. */
function exitCodeOf(error: unknown): number | undefined {
  if (error instanceof UsageError || error instanceof ConfigError) return 2;
  if (
    error instanceof TypeError &&
    'code' in error &&
    String(error.code).startsWith('ERR_PARSE_ARGS')
  )
    return 2;
  if (error instanceof RefusedError || error instanceof BackupError) return 1;
  return undefined;
}

run(process.argv.slice(2)).catch((error: unknown) => {
  const code = exitCodeOf(error);
  process.stderr.write(
    `${error instanceof Error && code !== undefined ? error.message : String(error)}\n`,
  );
  process.exit(code ?? 1);
});
