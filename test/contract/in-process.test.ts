import { describe } from 'vitest';
import { createTestPortal } from '../helpers/app.ts';
import { mfaServiceContract } from './mfa-service.contract.ts';

// The in-process core on a fresh database: SQLite, and PostgreSQL in the `postgres` project.
describe('MfaService contract: in-process core', () => {
  mfaServiceContract(async () => {
    const portal = await createTestPortal();
    return { mfa: portal.services.mfa, close: () => portal.close() };
  });
});
