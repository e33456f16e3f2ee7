import type { Config } from '../config/index.ts';
import { cliContext } from '../core/context.ts';
import { defaultApprovalThreshold, syncDirectory } from '../core/directory-sync.ts';
import { createDirectoryUsers } from '../data/directory-users.ts';
import { ldapOptionsOf } from '../directories.ts';
import { createLdapDirectory } from '../providers/directory/ldap.ts';
import { createServices } from '../services.ts';
import { RefusedError } from './errors.ts';

/**
 * `sync-directory [--approve]` (SPEC D4, O3): one full sync from LDAP. More leavers than the
 * threshold are disabled only with --approve, once an administrator has seen the count.
 */
export async function runSyncDirectory(config: Config, approved: boolean): Promise<void> {
  if (config.LDAP_URL.length === 0) {
    throw new RefusedError(
      'sync-directory needs LDAP_URL and the other LDAP_* keys (README: Directory).',
    );
  }
  const services = await createServices(config);
  const ldap = createLdapDirectory(ldapOptionsOf(config));
  try {
    const result = await syncDirectory(
      {
        listPeople: () => ldap.listPeople(),
        directoryUsers: createDirectoryUsers(services.database.db),
        audit: services.audit,
      },
      cliContext,
      { approved },
    );
    process.stdout.write(
      `Directory sync: ${String(result.created)} created, ${String(result.updated)} updated, ${String(result.disabled)} disabled.\n`,
    );
    if (result.awaitingApproval > 0) {
      process.stdout.write(
        `${String(result.awaitingApproval)} accounts of users gone from the directory stay enabled: more than ${String(defaultApprovalThreshold)} at once wait for approval (run again with --approve).\n`,
      );
    }
  } finally {
    await ldap.close();
    await services.close();
  }
}
