import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/config/index.ts';

/**
 * Tests keep their databases and keys in temporary folders: a test that starts a portal or the
 * command line without ENCRYPTION_KEY_FILE would leave a key in the checkout's data/, where a
 * developer's own portal would then find a key that seals nothing of theirs.
 */
const strayKey = join(projectRoot, 'data', 'encryption.key');

export default function setup() {
  const before = existsSync(strayKey);
  return () => {
    if (!before && existsSync(strayKey)) {
      // Vitest reports an error thrown here but still exits 0: fail the run explicitly.
      process.exitCode = 1;
      throw new Error(
        `A test left ${strayKey} behind: give each portal or command it starts an ENCRYPTION_KEY_FILE in its own folder`,
      );
    }
  };
}
