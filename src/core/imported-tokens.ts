import { randomUUID } from 'node:crypto';
import type {
  ImportedTokenRow,
  ImportedTokensRepository,
  NewImportedToken,
} from '../data/imported-tokens-repository.ts';
import type { UserRow } from '../data/users-repository.ts';
import type { Context } from './context.ts';
import type { FieldError } from './mfa-service.ts';
import type { SecondFactor } from './second-factor.ts';
import { codeError, readCode } from './typed-codes.ts';
import type { OtpDevice } from './devices.ts';
import { verifyHotp, verifyTotp } from './otp.ts';
import { open, seal } from './secret-box.ts';
import type { ImportedToken } from './token-import.ts';

/** The seed is bound to its row, as a device's is (S7). */
const associatedData = (id: string) => `imported-token:${id}`;

/** A serial as typed on a form or in a file: trimmed, in upper case, as the tokens are stored. */
export function normaliseSerial(serial: string): string {
  return serial.trim().toUpperCase();
}

export function newImportedTokenRow(
  token: ImportedToken,
  key: Buffer,
  now: number,
  importedBy: string | null,
): NewImportedToken {
  const id = randomUUID();
  return {
    id,
    serial: token.serial,
    secret: seal(token.secret, key, associatedData(id)),
    otp_type: token.params.otpType,
    algorithm: token.params.algorithm,
    digits: token.params.digits,
    period: token.params.period,
    counter: token.counter,
    imported_at: now,
    imported_by: importedBy,
  };
}

export function importedTokenParams(row: ImportedTokenRow): OtpDevice {
  return {
    otpType: row.otp_type,
    algorithm: row.algorithm,
    digits: row.digits === 8 ? 8 : 6,
    period: row.period === 60 ? 60 : 30,
  };
}

/**
 * SPEC M4: a code the imported token shows now. The user never saw the secret, so this is a
 * guess like any code at sign-in and gets the sign-in's windows: one TOTP step either side, ten
 * HOTP counters ahead of the file's. What to store with the device, or undefined.
 */
export function proveImportedToken(
  row: ImportedTokenRow,
  code: string,
  key: Buffer,
  now: number,
): { secret: Buffer; lastStep: number | null; counter: number | null } | undefined {
  const secret = open(row.secret, key, associatedData(row.id));
  const params = importedTokenParams(row);
  if (params.otpType === 'totp') {
    const step = verifyTotp(secret, code, now, params);
    return step === undefined ? undefined : { secret, lastStep: step, counter: null };
  }
  const matched = verifyHotp(secret, code, row.counter ?? 0, params);
  return matched === undefined ? undefined : { secret, lastStep: null, counter: matched + 1 };
}

/**
 * SPEC M4, M8: a user names an imported token by its serial and a code it shows now. Counted
 * before it is checked and audited (`token.associate`), like any code: an unknown serial and a
 * wrong code are one and the same failure, so serials cannot be found by trying. Returns the
 * token and its proof, `invalid`, or `locked`.
 */
export async function proveImportedSerial(
  deps: {
    secondFactor: SecondFactor;
    importedTokens: ImportedTokensRepository;
    encryptionKey: Buffer;
    now: () => number;
  },
  user: UserRow,
  input: { serial: string; code: string },
  context: Context,
): Promise<
  | {
      outcome: 'proven';
      row: ImportedTokenRow;
      proof: NonNullable<ReturnType<typeof proveImportedToken>>;
    }
  | { outcome: 'invalid'; errors: FieldError[] }
  | { outcome: 'locked'; until: number }
> {
  const serial = normaliseSerial(input.serial);
  const errors: FieldError[] = [
    ...(serial === '' ? [{ field: 'serial', message: 'setup.token.errors.serialMissing' }] : []),
    ...codeError('code', input.code, [6, 8]),
  ];
  if (errors.length > 0) return { outcome: 'invalid', errors };
  const row = await deps.importedTokens.findBySerial(serial);
  let proof: ReturnType<typeof proveImportedToken>;
  const checked = await deps.secondFactor.checkWithLockout(
    user,
    { type: 'token.associate', method: 'token' },
    context,
    () => {
      const code = row ? readCode(input.code, [row.digits]) : undefined;
      proof =
        row && code ? proveImportedToken(row, code, deps.encryptionKey, deps.now()) : undefined;
      return Promise.resolve({ ok: proof !== undefined });
    },
  );
  if (checked.outcome === 'locked') return checked;
  if (checked.outcome === 'invalid' || !row || !proof) {
    return {
      outcome: 'invalid',
      errors: [{ field: 'serial', message: 'tokenPage.imported.errors.wrong' }],
    };
  }
  return { outcome: 'proven', row, proof };
}
