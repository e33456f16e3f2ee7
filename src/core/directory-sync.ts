import type { AuditRepository } from '../data/audit-repository.ts';
import type { DirectoryUsers } from '../data/directory-users.ts';
import { normaliseUsername } from '../data/users-repository.ts';
import type { DirectoryPerson } from '../providers/directory/ldap.ts';
import { actedBy, adminOf, type Context } from './context.ts';
import { fieldsOf } from './primary-authentication.ts';

/** SPEC D4: above this many leavers in one run, nobody is disabled until an administrator approves. */
export const defaultApprovalThreshold = 5;

export interface SyncResult {
  created: number;
  updated: number;
  /** Accounts disabled because their users are gone from the directory, or may no longer sign in. */
  disabled: number;
  /** Leavers left enabled because there were more than the threshold and no approval. */
  awaitingApproval: number;
}

export interface DirectorySyncDependencies {
  listPeople(): Promise<DirectoryPerson[]>;
  directoryUsers: DirectoryUsers;
  audit: AuditRepository;
}

/**
 * SPEC D4, full sync: every user the directory lets use the portal gets an account or has it
 * brought up to date (names, email, groups; phones fill empty ones only); accounts of users
 * gone, disabled in the directory or out of the portal group are disabled, unless there are
 * more of them than `approvalThreshold` and the run is not `approved`: then none is, and the
 * count says how many wait.
 */
export async function syncDirectory(
  deps: DirectorySyncDependencies,
  context: Context,
  { approvalThreshold = defaultApprovalThreshold, approved = false } = {},
): Promise<SyncResult> {
  const { directoryUsers, audit } = deps;
  const people = (await deps.listPeople()).filter((person) => !person.refused);
  const accounts = await directoryUsers.accountsFrom('ldap');
  const byUsername = new Map(accounts.map((account) => [account.username, account]));
  const result: SyncResult = { created: 0, updated: 0, disabled: 0, awaitingApproval: 0 };
  const present = new Set<string>();
  for (const person of people) {
    const username = normaliseUsername(person.username);
    present.add(username);
    const fields = fieldsOf(person);
    const account = byUsername.get(username);
    if (account) {
      await directoryUsers.refresh(account, 'ldap', fields);
      result.updated += 1;
    } else if (await directoryUsers.provision('ldap', fields)) {
      result.created += 1;
    }
  }
  const leavers = accounts.filter((account) => !account.disabled && !present.has(account.username));
  if (leavers.length > approvalThreshold && !approved) {
    result.awaitingApproval = leavers.length;
  } else {
    await directoryUsers.disable(leavers.map((account) => account.id));
    result.disabled = leavers.length;
  }
  await audit.record({
    type: 'directory.sync',
    result: result.awaitingApproval > 0 ? 'info' : 'success',
    reason: `${actedBy(context)}: ${JSON.stringify(result)}`,
    user_id: null,
    username: null,
    display_name: null,
    email: null,
    phone: null,
    device: null,
    method: 'ldap',
    client_ip: context.clientIp ?? null,
    admin_id: adminOf(context),
  });
  return result;
}
