import { describe, expect, it } from 'vitest';
import {
  checkPin,
  defaultPinPolicy,
  generatePin,
  pinLengthLimits,
  type PinPolicy,
} from '../../src/core/pin-policy.ts';

const phones = ['+31 20 123 4567', '(06) 8765-4321'];
const minimum = (minLength: number): PinPolicy => ({ minLength });

describe('checkPin', () => {
  it('defaults to a minimum of 4 digits', () => {
    expect(defaultPinPolicy.minLength).toBe(4);
  });

  it.each(['2580', '7395', '1357', '1122', '0147', '9035', '5283016497'])(
    'accepts the compliant PIN %s',
    (pin) => {
      expect(checkPin(pin, defaultPinPolicy, phones)).toEqual([]);
    },
  );

  it.each(['12a4', '12 34', '١٢٣٤', '-1234', '12.4'])('refuses %j as not digits', (pin) => {
    expect(checkPin(pin, defaultPinPolicy, [])).toContain('notDigits');
  });

  it('refuses PINs shorter than the minimum length', () => {
    expect(checkPin('', defaultPinPolicy, [])).toEqual(['tooShort']);
    expect(checkPin('735', defaultPinPolicy, [])).toEqual(['tooShort']);
    expect(checkPin('7395', defaultPinPolicy, [])).toEqual([]);
    expect(checkPin('739528', minimum(7), [])).toEqual(['tooShort']);
    expect(checkPin('7395281', minimum(7), [])).toEqual([]);
  });

  it('refuses PINs longer than 10 digits', () => {
    expect(checkPin('7395281640', defaultPinPolicy, [])).toEqual([]);
    expect(checkPin('73952816402', defaultPinPolicy, [])).toEqual(['tooLong']);
    expect(checkPin('73952816402', minimum(10), [])).toEqual(['tooLong']);
  });

  it('judges the patterns only once form and length are right', () => {
    expect(checkPin('123', defaultPinPolicy, [])).toEqual(['tooShort']);
    expect(checkPin('11a1', defaultPinPolicy, [])).toEqual(['notDigits']);
    expect(checkPin('1a', defaultPinPolicy, [])).toEqual(['notDigits', 'tooShort']);
  });

  it.each(['0000', '1111', '99999999', '5555555555'])('refuses %s as all the same digit', (pin) => {
    expect(checkPin(pin, defaultPinPolicy, [])).toEqual(['allSame']);
  });

  it.each(['1234', '4321', '6789', '9876', '0123', '3210', '123456', '1234567890', '0987654321'])(
    'refuses the run %s',
    (pin) => {
      expect(checkPin(pin, defaultPinPolicy, [])).toEqual(['sequence']);
    },
  );

  it.each(['7890', '8901', '9012', '0987', '1098', '2109', '67890123'])(
    'refuses %s, a run through 0 after 9 as on a keyboard',
    (pin) => {
      expect(checkPin(pin, defaultPinPolicy, [])).toEqual(['sequence']);
    },
  );

  it.each(['1235', '1243', '2468', '1212', '9753', '0192'])('accepts %s, not a run', (pin) => {
    expect(checkPin(pin, defaultPinPolicy, [])).toEqual([]);
  });

  it('refuses a PIN found in the digits of any phone number, whatever their punctuation', () => {
    expect(checkPin('3120', defaultPinPolicy, phones)).toEqual(['inPhoneNumber']);
    expect(checkPin('2012', defaultPinPolicy, phones)).toEqual(['inPhoneNumber']);
    expect(checkPin('4567', defaultPinPolicy, phones)).toEqual(['sequence', 'inPhoneNumber']);
    expect(checkPin('0687654321', defaultPinPolicy, phones)).toEqual(['inPhoneNumber']);
    expect(checkPin('8765', defaultPinPolicy, phones)).toEqual(['sequence', 'inPhoneNumber']);
    expect(checkPin('5432', defaultPinPolicy, [])).toEqual(['sequence']);
    expect(checkPin('3121', defaultPinPolicy, phones)).toEqual([]);
  });

  it('refuses a policy outside 4 to 10 digits', () => {
    expect(pinLengthLimits).toEqual({ min: 4, max: 10 });
    expect(() => checkPin('7395', minimum(3), [])).toThrow(RangeError);
    expect(() => checkPin('7395', minimum(11), [])).toThrow(RangeError);
    expect(() => checkPin('7395', minimum(4.5), [])).toThrow(RangeError);
  });
});

describe('generatePin', () => {
  // Half of all 4-digit PINs, 0000 to 4999, are taken by these numbers.
  const crowdedPhones = [
    ...phones,
    ...Array.from({ length: 5000 }, (_, n) => String(n).padStart(4, '0')),
  ];

  it.each([4, 8])('always makes a compliant PIN of length %i', (minLength) => {
    const policy = minimum(minLength);
    const pins = Array.from({ length: 200 }, () => generatePin(policy, crowdedPhones));
    for (const pin of pins) {
      expect(pin).toHaveLength(minLength);
      expect(checkPin(pin, policy, crowdedPhones)).toEqual([]);
    }
    expect(new Set(pins).size).toBeGreaterThan(150);
  });

  it('avoids the PINs the phone numbers contain', () => {
    for (let run = 0; run < 200; run++) {
      expect(Number(generatePin(defaultPinPolicy, crowdedPhones))).toBeGreaterThanOrEqual(5000);
    }
  });

  it('gives up with an error rather than loop when phone numbers cover every PIN', () => {
    const everyPin = Array.from({ length: 10_000 }, (_, n) => String(n).padStart(4, '0')).join('');
    expect(() => generatePin(defaultPinPolicy, [everyPin])).toThrow(/Could not generate a PIN/);
  });
});
