import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { logRedaction } from '../../src/services.ts';

/** The JSON line the portal's redaction makes of one log call. */
function logged(fields: object): Record<string, unknown> {
  let line = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      line += chunk.toString();
      done();
    },
  });
  pino({ redact: logRedaction }, stream).warn(fields, 'x');
  return JSON.parse(line) as Record<string, unknown>;
}

describe('log redaction (SPEC S7)', () => {
  it("shows an error's code, as operators need it", () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
      code: 'ECONNREFUSED',
    });
    expect(logged({ err: refused })).toMatchObject({ err: { code: 'ECONNREFUSED' } });
    expect(logged({ error: { code: '57P01' } })).toMatchObject({ error: { code: '57P01' } });
  });

  it('hides one-time codes, PINs, passwords, secrets and answers wherever forms carry them', () => {
    const form = {
      code: '123456',
      pin: '4096',
      pinConfirmation: '4096',
      password: 'hunter2',
      secret: 'JBSWY3DPEHPK3PXP',
      answers: ['Rex'],
      _csrf: 'token',
    };
    const hidden = {
      code: '[redacted]',
      pin: '[redacted]',
      pinConfirmation: '[redacted]',
      password: '[redacted]',
      secret: '[redacted]',
      answers: '[redacted]',
      _csrf: '[redacted]',
    };
    const line = logged({ body: form, input: form, req: { body: form }, values: form });
    expect(line).toMatchObject({ body: hidden, input: hidden, req: { body: hidden } });
    expect(line.values).toMatchObject(hidden);
    expect(JSON.stringify(line)).not.toMatch(/123456|4096|hunter2|JBSWY3DP|Rex/);
  });
});
