import { describe, expect, it } from 'vitest';
import {
  sendDigitsOf,
  say,
  twilioSignature,
  validTwilioSignature,
} from '../../src/providers/twilio.ts';

// Twilio's documented example ("Validating signatures from Twilio", the Node.js snippet).
const token = '12345';
const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const params = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};
const documented = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';

describe('X-Twilio-Signature (SPEC N1)', () => {
  it('computes the signature of Twilio’s documented example', () => {
    expect(twilioSignature(token, url, params)).toBe(documented);
  });

  it('accepts that signature and refuses any other, a missing one, and another URL or value', () => {
    expect(validTwilioSignature(token, documented, url, params)).toBe(true);
    expect(validTwilioSignature(token, undefined, url, params)).toBe(false);
    expect(validTwilioSignature(token, '', url, params)).toBe(false);
    expect(validTwilioSignature(token, documented.replace('R', 'S'), url, params)).toBe(false);
    expect(validTwilioSignature(token, `${documented}=`, url, params)).toBe(false);
    expect(validTwilioSignature('54321', documented, url, params)).toBe(false);
    expect(validTwilioSignature(token, documented, url.replace('mycompany', 'evil'), params)).toBe(
      false,
    );
    expect(validTwilioSignature(token, documented, url, { ...params, Digits: '0' })).toBe(false);
    expect(validTwilioSignature(token, documented, url, { ...params, Extra: '' })).toBe(false);
  });
});

describe('TwiML', () => {
  it('says the prompt in the voice of each language, escaped', () => {
    expect(say('nl', 'Druk op <#> & "zo"')).toBe(
      '<Say voice="Polly.Lotte" language="nl-NL">Druk op &lt;#&gt; &amp; &quot;zo&quot;</Say>',
    );
    expect(say('fr', 'Bonjour')).toContain('voice="Polly.Lea" language="fr-FR"');
    expect(say('en', 'Hello')).toContain('voice="Polly.Amy" language="en-GB"');
  });

  it('dials the extension after a first second, each comma a one-second pause', () => {
    expect(sendDigitsOf('12,3')).toBe('ww12ww3');
    expect(sendDigitsOf('4,,5#')).toBe('ww4wwww5#');
  });
});
