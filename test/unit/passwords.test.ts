import { describe, expect, it } from 'vitest';
import { defaultArgon2, hashSecret, verifySecret } from '../../src/core/passwords.ts';

describe('Argon2id secrets', () => {
  it('hashes into a PHC string with the OWASP parameters and a random salt', async () => {
    const first = await hashSecret('correct horse', defaultArgon2);
    const second = await hashSecret('correct horse', defaultArgon2);
    expect(first).toMatch(
      /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
    );
    expect(first).not.toBe(second);
  });

  it('verifies the right secret only', async () => {
    const hash = await hashSecret('correct horse', defaultArgon2);
    expect(await verifySecret('correct horse', hash)).toBe(true);
    expect(await verifySecret('correct hors', hash)).toBe(false);
    expect(await verifySecret('Correct horse', hash)).toBe(false);
  });

  it('uses the parameters stored in the hash, so old hashes keep working', async () => {
    const hash = await hashSecret('pin 1234', { memoryKib: 1024, passes: 1, parallelism: 1 });
    expect(hash).toContain('m=1024,t=1,p=1');
    expect(await verifySecret('pin 1234', hash)).toBe(true);
  });

  it('treats composed and decomposed accents as the same password', async () => {
    const hash = await hashSecret('café', defaultArgon2);
    expect(await verifySecret('cafe\u0301', hash)).toBe(true);
  });

  it('rejects a malformed hash instead of throwing', async () => {
    expect(await verifySecret('x', 'not-a-hash')).toBe(false);
  });
});
