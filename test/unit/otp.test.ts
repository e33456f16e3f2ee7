import { describe, expect, it } from 'vitest';
import {
  decodeBase32,
  encodeBase32,
  formatSecretForReading,
  generateOtpSecret,
  hotp,
  otpauthUri,
  resyncHotp,
  totp,
  totpStep,
  verifyHotp,
  verifyTotp,
  type HotpParameters,
  type OtpAlgorithm,
  type TotpParameters,
} from '../../src/core/otp.ts';

const rfc4226Secret = Buffer.from('12345678901234567890');
const sha1Hotp6: HotpParameters = { algorithm: 'SHA1', digits: 6 };
const sha1Totp6: TotpParameters = { algorithm: 'SHA1', digits: 6, period: 30 };

/** RFC 6238 Appendix A: the seed for each hash is as long as its output, 20, 32 and 64 bytes. */
const rfc6238Seeds: Record<OtpAlgorithm, Buffer> = {
  SHA1: Buffer.from('12345678901234567890'),
  SHA256: Buffer.from('12345678901234567890123456789012'),
  SHA512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
};

/** RFC 6238 Appendix B: time in seconds, then the 8-digit code for SHA1, SHA256, SHA512. */
const rfc6238Table: [number, Record<OtpAlgorithm, string>][] = [
  [59, { SHA1: '94287082', SHA256: '46119246', SHA512: '90693936' }],
  [1111111109, { SHA1: '07081804', SHA256: '68084774', SHA512: '25091201' }],
  [1111111111, { SHA1: '14050471', SHA256: '67062674', SHA512: '99943326' }],
  [1234567890, { SHA1: '89005924', SHA256: '91819424', SHA512: '93441116' }],
  [2000000000, { SHA1: '69279037', SHA256: '90698825', SHA512: '38618901' }],
  [20000000000, { SHA1: '65353130', SHA256: '77737706', SHA512: '47863826' }],
];
const rfc6238Vectors = rfc6238Table.flatMap(([seconds, codes]) =>
  (['SHA1', 'SHA256', 'SHA512'] as const).map((algorithm) => ({
    seconds,
    algorithm,
    code: codes[algorithm],
  })),
);

/*
 * An n-digit code is the truncated 31-bit value mod 10^n, and (x mod 10^8) mod 10^6 = x mod 10^6,
 * so the 6-digit code is exactly the last 6 digits of the 8-digit one.
 */
const lastSixDigits = (code: string) => code.slice(-6);

describe('HOTP (RFC 4226 Appendix D)', () => {
  /** Counter, then the truncated decimal value ("HOTP Value" is that value mod 10^6). */
  const appendixD: [number, number][] = [
    [0, 1284755224],
    [1, 1094287082],
    [2, 137359152],
    [3, 1726969429],
    [4, 1640338314],
    [5, 868254676],
    [6, 1918287922],
    [7, 82162583],
    [8, 673399871],
    [9, 645520489],
  ];

  it.each(appendixD)('gives the 6-digit value at counter %i', (counter, truncated) => {
    expect(hotp(rfc4226Secret, counter, sha1Hotp6)).toBe(String(truncated % 1e6).padStart(6, '0'));
  });

  it('gives the 6-digit values listed in the RFC', () => {
    const codes = appendixD.map(([counter]) => hotp(rfc4226Secret, counter, sha1Hotp6));
    expect(codes).toEqual([
      '755224',
      '287082',
      '359152',
      '969429',
      '338314',
      '254676',
      '287922',
      '162583',
      '399871',
      '520489',
    ]);
  });

  it.each(appendixD)('gives the 8-digit value at counter %i', (counter, truncated) => {
    expect(hotp(rfc4226Secret, counter, { algorithm: 'SHA1', digits: 8 })).toBe(
      String(truncated % 1e8).padStart(8, '0'),
    );
  });
});

describe('TOTP (RFC 6238 Appendix B)', () => {
  it.each(rfc6238Vectors)(
    '$algorithm at $seconds s gives $code',
    ({ seconds, algorithm, code }) => {
      const params: TotpParameters = { algorithm, digits: 8, period: 30 };
      expect(totp(rfc6238Seeds[algorithm], seconds * 1000, params)).toBe(code);
    },
  );

  it.each(rfc6238Vectors)(
    '$algorithm at $seconds s with 6 digits',
    ({ seconds, algorithm, code }) => {
      const params: TotpParameters = { algorithm, digits: 6, period: 30 };
      expect(totp(rfc6238Seeds[algorithm], seconds * 1000, params)).toBe(lastSixDigits(code));
    },
  );

  // floor(2t / 60) = floor(t / 30): a 60 s code at twice the time is the RFC's 30 s code.
  it.each(rfc6238Vectors)('$algorithm with a 60 s period', ({ seconds, algorithm, code }) => {
    const params: TotpParameters = { algorithm, digits: 8, period: 60 };
    expect(totp(rfc6238Seeds[algorithm], 2 * seconds * 1000, params)).toBe(code);
  });

  it('keeps a 60 s code for the whole minute', () => {
    const params: TotpParameters = { algorithm: 'SHA1', digits: 6, period: 60 };
    const minuteStart = 1_700_000_040_000;
    const code = totp(rfc4226Secret, minuteStart, params);
    expect(totp(rfc4226Secret, minuteStart + 59_999, params)).toBe(code);
    expect(totp(rfc4226Secret, minuteStart + 60_000, params)).not.toBe(code);
  });

  it('counts time steps from the Unix epoch', () => {
    expect(totpStep(59_000, 30)).toBe(1);
    expect(totpStep(60_000, 30)).toBe(2);
    expect(totpStep(1_111_111_109_000, 30)).toBe(0x023523ec);
    expect(totpStep(119_999, 60)).toBe(1);
  });
});

describe('verifyTotp', () => {
  const now = 1_111_111_111_000;
  const step = totpStep(now, 30);
  const codeAt = (steps: number) => totp(rfc4226Secret, now + steps * 30_000, sha1Totp6);

  it('accepts the current code and returns its step', () => {
    expect(verifyTotp(rfc4226Secret, codeAt(0), now, sha1Totp6)).toBe(step);
  });

  it('accepts the previous and next step for clock drift, not two steps away', () => {
    expect(verifyTotp(rfc4226Secret, codeAt(-1), now, sha1Totp6)).toBe(step - 1);
    expect(verifyTotp(rfc4226Secret, codeAt(1), now, sha1Totp6)).toBe(step + 1);
    expect(verifyTotp(rfc4226Secret, codeAt(-2), now, sha1Totp6)).toBeUndefined();
    expect(verifyTotp(rfc4226Secret, codeAt(2), now, sha1Totp6)).toBeUndefined();
  });

  it('honours a wider or a zero window', () => {
    expect(verifyTotp(rfc4226Secret, codeAt(-2), now, sha1Totp6, { window: 2 })).toBe(step - 2);
    expect(verifyTotp(rfc4226Secret, codeAt(-1), now, sha1Totp6, { window: 0 })).toBeUndefined();
  });

  it('refuses a code whose step was already accepted (replay)', () => {
    const matched = verifyTotp(rfc4226Secret, codeAt(0), now, sha1Totp6);
    expect(matched).toBe(step);
    expect(
      verifyTotp(rfc4226Secret, codeAt(0), now, sha1Totp6, { lastAcceptedStep: matched }),
    ).toBeUndefined();
    expect(
      verifyTotp(rfc4226Secret, codeAt(-1), now, sha1Totp6, { lastAcceptedStep: matched }),
    ).toBeUndefined();
  });

  it('accepts a later step after an accepted one', () => {
    expect(verifyTotp(rfc4226Secret, codeAt(1), now, sha1Totp6, { lastAcceptedStep: step })).toBe(
      step + 1,
    );
  });

  it('refuses rather than throws when the last accepted step is ahead of this clock', () => {
    expect(
      verifyTotp(rfc4226Secret, codeAt(0), now, sha1Totp6, { lastAcceptedStep: step + 5 }),
    ).toBeUndefined();
  });

  it('accepts the spaces people type inside a code', () => {
    const [a, b, c, d, e, f] = codeAt(0);
    expect(verifyTotp(rfc4226Secret, `${a}${b}${c} ${d}${e}${f} `, now, sha1Totp6)).toBe(step);
  });

  it('checks 8-digit SHA512 codes too', () => {
    const params: TotpParameters = { algorithm: 'SHA512', digits: 8, period: 30 };
    expect(verifyTotp(rfc6238Seeds.SHA512, '90693936', 59_000, params)).toBe(1);
    expect(verifyTotp(rfc6238Seeds.SHA512, '90693936', 59_000, { ...params, digits: 6 })).toBe(
      undefined,
    );
  });

  it.each(['', '12345', '1234567', 'abcdef', '12345a', '+12345', '١٢٣٤٥٦', '123-456'])(
    'returns undefined for the malformed code %j',
    (code) => {
      expect(verifyTotp(rfc4226Secret, code, now, sha1Totp6)).toBeUndefined();
    },
  );
});

describe('verifyHotp', () => {
  it('accepts the next code and returns its counter', () => {
    expect(verifyHotp(rfc4226Secret, '755224', 0, sha1Hotp6)).toBe(0);
  });

  it('looks ahead 10 counters for presses that never reached the portal', () => {
    const ahead = (n: number) => hotp(rfc4226Secret, 20 + n, sha1Hotp6);
    expect(verifyHotp(rfc4226Secret, ahead(10), 20, sha1Hotp6)).toBe(30);
    expect(verifyHotp(rfc4226Secret, ahead(11), 20, sha1Hotp6)).toBeUndefined();
    expect(verifyHotp(rfc4226Secret, ahead(11), 20, sha1Hotp6, { lookAhead: 11 })).toBe(31);
  });

  it('refuses a code from before the stored counter (already used)', () => {
    expect(verifyHotp(rfc4226Secret, '287082', 2, sha1Hotp6)).toBeUndefined();
  });

  it('returns undefined for malformed codes', () => {
    expect(verifyHotp(rfc4226Secret, '75522', 0, sha1Hotp6)).toBeUndefined();
    expect(verifyHotp(rfc4226Secret, '7552244', 0, sha1Hotp6)).toBeUndefined();
    expect(verifyHotp(rfc4226Secret, 'seven', 0, sha1Hotp6)).toBeUndefined();
    expect(verifyHotp(rfc4226Secret, '755 224', 0, sha1Hotp6)).toBe(0);
  });
});

describe('resyncHotp', () => {
  const codeAt = (counter: number) => hotp(rfc4226Secret, counter, sha1Hotp6);

  it('finds two consecutive codes and returns the counter after them', () => {
    expect(resyncHotp(rfc4226Secret, codeAt(57), codeAt(58), 5, sha1Hotp6)).toBe(59);
  });

  it('accepts a pair at the very end of the look-ahead', () => {
    expect(resyncHotp(rfc4226Secret, codeAt(104), codeAt(105), 5, sha1Hotp6)).toBe(106);
  });

  it('refuses a pair beyond the look-ahead', () => {
    expect(resyncHotp(rfc4226Secret, codeAt(105), codeAt(106), 5, sha1Hotp6)).toBeUndefined();
    expect(
      resyncHotp(rfc4226Secret, codeAt(105), codeAt(106), 5, sha1Hotp6, { lookAhead: 101 }),
    ).toBe(107);
  });

  it('refuses codes that are not consecutive or are in the wrong order', () => {
    expect(resyncHotp(rfc4226Secret, codeAt(57), codeAt(59), 5, sha1Hotp6)).toBeUndefined();
    expect(resyncHotp(rfc4226Secret, codeAt(58), codeAt(57), 5, sha1Hotp6)).toBeUndefined();
    expect(resyncHotp(rfc4226Secret, codeAt(57), codeAt(57), 5, sha1Hotp6)).toBeUndefined();
  });

  it('refuses a pair from before the stored counter', () => {
    expect(resyncHotp(rfc4226Secret, codeAt(3), codeAt(4), 5, sha1Hotp6)).toBeUndefined();
  });

  it('returns undefined for malformed codes', () => {
    expect(resyncHotp(rfc4226Secret, 'abcdef', codeAt(58), 5, sha1Hotp6)).toBeUndefined();
    expect(resyncHotp(rfc4226Secret, codeAt(57), '12', 5, sha1Hotp6)).toBeUndefined();
  });
});

describe('Base32 (RFC 4648)', () => {
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ];

  it.each(vectors)('encodes %j as %j without padding', (plain, encoded) => {
    expect(encodeBase32(Buffer.from(plain))).toBe(encoded);
  });

  it.each(vectors)('decodes %j back from %j', (plain, encoded) => {
    expect(decodeBase32(encoded).toString()).toBe(plain);
  });

  it('reads a secret as people type it: any case, spaces, dashes, padding', () => {
    expect(decodeBase32(' mzxw 6ytb-oi====== ').toString()).toBe('foobar');
    expect(decodeBase32('MZXW6YTBOI======').toString()).toBe('foobar');
  });

  it('round-trips random secrets of every common length', () => {
    for (const bytes of [10, 16, 20, 32, 64]) {
      const secret = generateOtpSecret(bytes);
      expect(decodeBase32(encodeBase32(secret))).toEqual(secret);
    }
  });

  it('names the invalid character', () => {
    expect(() => decodeBase32('MZXW1YTB')).toThrow(/"1" is not one of the letters/);
    expect(() => decodeBase32('MZXW=YTB')).toThrow(/"=" is not one of the letters/);
  });

  it('rejects a secret with a character missing or a mistyped last character', () => {
    expect(() => decodeBase32('MZX')).toThrow(/a character is missing or extra/);
    expect(() => decodeBase32('MZ')).toThrow(/the last one is mistyped/);
  });

  it('groups a secret by four for people who cannot scan the QR code', () => {
    const encoded = encodeBase32(rfc4226Secret);
    expect(encoded).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    const readable = formatSecretForReading(encoded);
    expect(readable).toBe('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ');
    expect(formatSecretForReading('MZXW6YTBOI')).toBe('MZXW 6YTB OI');
    expect(decodeBase32(readable)).toEqual(rfc4226Secret);
  });
});

describe('generateOtpSecret', () => {
  it('makes a new 160-bit secret each time', () => {
    const first = generateOtpSecret();
    expect(first).toHaveLength(20);
    expect(generateOtpSecret()).not.toEqual(first);
  });
});

describe('otpauthUri (Key Uri Format)', () => {
  it('describes a TOTP secret with every parameter', () => {
    const uri = otpauthUri({
      type: 'totp',
      issuer: 'Contoso IT',
      account: 'jan.de.vries@contoso.nl',
      secret: rfc4226Secret,
      params: { algorithm: 'SHA256', digits: 8, period: 60 },
    });
    expect(uri).toBe(
      'otpauth://totp/Contoso%20IT:jan.de.vries%40contoso.nl' +
        '?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Contoso%20IT' +
        '&algorithm=SHA256&digits=8&period=60',
    );
  });

  it('describes an HOTP secret with its counter and no period', () => {
    const uri = otpauthUri({
      type: 'hotp',
      issuer: 'Contoso',
      account: 'jan',
      secret: rfc4226Secret,
      params: sha1Hotp6,
      counter: 42,
    });
    expect(uri).toBe(
      'otpauth://hotp/Contoso:jan?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Contoso' +
        '&algorithm=SHA1&digits=6&counter=42',
    );
  });

  it('percent-encodes the separators so that a name cannot change the meaning', () => {
    const uri = otpauthUri({
      type: 'totp',
      issuer: 'R&D: Zürich',
      account: 'a:b?c=d#e/f',
      secret: rfc4226Secret,
      params: sha1Totp6,
    });
    const url = new URL(uri);
    expect(url.pathname).toBe('/R%26D%3A%20Z%C3%BCrich:a%3Ab%3Fc%3Dd%23e%2Ff');
    expect(url.hash).toBe('');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      secret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
      issuer: 'R&D: Zürich',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
  });
});
