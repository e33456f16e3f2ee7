import { describe } from 'vitest';
import { createTestPortal } from '../helpers/app.ts';
import { phoneServiceContract } from './phone.contract.ts';

// The in-process core with the development simulator as its voice/SMS provider: SQLite, and
// PostgreSQL in the `postgres` project.
describe('MfaService contract with calls and texts: in-process core', () => {
  phoneServiceContract(async () => {
    const portal = await createTestPortal({ SIMULATOR_ENABLED: 'true' });
    return { mfa: portal.services.mfa, close: () => portal.close() };
  });
});
