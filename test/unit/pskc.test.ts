import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PskcError, readPskc } from '../../src/core/pskc.ts';
import { parseXml, XmlError } from '../../src/core/xml.ts';

const figure = (n: number) =>
  readFileSync(join(import.meta.dirname, `../fixtures/import/rfc6030-figure${n}.pskc.xml`), 'utf8');
/** The secret of every RFC 6030 example but Figure 2: "12345678901234567890" in ASCII. */
const rfcSecret = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const psk = Buffer.from('12345678901234567890123456789012', 'hex');

describe('PSKC files (RFC 6030)', () => {
  it('reads a plain key with its device serial, digits and counter (Figure 3)', () => {
    expect(readPskc(figure(3))).toEqual([
      expect.objectContaining({
        serial: '987654321',
        otpType: 'hotp',
        digits: 8,
        counter: 0,
        secret: rfcSecret,
        problem: null,
      }),
    ]);
  });

  it('names a key without device info by its Id (Figure 2)', () => {
    const [key] = readPskc(figure(2));
    expect(key).toMatchObject({ serial: '12345678', secret: Buffer.from('1234'), digits: 6 });
  });

  it('sets aside a key that is not an OTP key, such as a PIN (Figure 5)', () => {
    const keys = readPskc(figure(5));
    expect(keys.map((k) => k.problem)).toEqual([
      null,
      'not an HOTP or TOTP key (urn:ietf:params:xml:ns:keyprov:pskc:pin)',
    ]);
  });

  it('decrypts AES-128-CBC secrets with the pre-shared key after checking their MAC (Figure 6)', () => {
    expect(readPskc(figure(6), { key: psk })[0]?.secret).toEqual(rfcSecret);
  });

  it('refuses a wrong pre-shared key, a key of the wrong size, and no key at all', () => {
    expect(() => readPskc(figure(6), { key: Buffer.alloc(16, 7) })).toThrow(PskcError);
    expect(() => readPskc(figure(6), { key: Buffer.alloc(32) })).toThrow(/128-bit key/);
    expect(() => readPskc(figure(6))).toThrow(/pre-shared key/);
    expect(() => readPskc(figure(6), { password: 'qwerty' })).toThrow(/pre-shared key/);
  });

  it('derives the key from the password with PBKDF2 (Figure 7)', () => {
    expect(readPskc(figure(7), { password: 'qwerty' })[0]).toMatchObject({
      serial: '987654321',
      secret: rfcSecret,
      digits: 8,
    });
    expect(() => readPskc(figure(7), { password: 'azerty' })).toThrow(PskcError);
    expect(() => readPskc(figure(7), { key: psk })).toThrow(/password/);
  });

  it('refuses a secret whose MAC does not match: the file was altered', () => {
    const altered = figure(6).replace(
      'Su+NvtQfmvfJzF6bmQiJqoLRExc=',
      'Su+MvtQfmvfJzF6bmQiJqoLRExc=',
    );
    expect(() => readPskc(altered, { key: psk })).toThrow(/fails its MAC/);
  });

  it('reads every key package of a bulk file (Figure 10)', () => {
    expect(readPskc(figure(10)).map((k) => k.serial)).toEqual([
      '654321',
      '123456',
      '9999999',
      '9999999',
    ]);
  });

  it('refuses what is not PSKC', () => {
    expect(() => readPskc('<KeyContainer Version="1.0"/>')).toThrow(/Not a PSKC file/);
    expect(() => readPskc('not xml at all')).toThrow(/Not a readable XML file/);
  });
});

describe('the XML reader', () => {
  it('refuses any document type declaration: no external entity, no entity expansion', () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
    const laughs =
      '<!DOCTYPE r [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>';
    expect(() => parseXml(xxe)).toThrow(/Document type declarations are not accepted/);
    expect(() => parseXml(laughs)).toThrow(XmlError);
    expect(() => parseXml('<r>&x;</r>')).toThrow(/Unknown entity/);
  });

  it('reads namespaces, attributes, CDATA, comments and character references', () => {
    const root = parseXml(
      '<p:a xmlns:p="urn:x" k=\'v &amp; w\'><!-- c --><b>1 &lt; 2 &#x41;<![CDATA[<&>]]></b><c/></p:a>',
    );
    expect(root).toMatchObject({ name: 'a', namespace: 'urn:x', attributes: { k: 'v & w' } });
    expect(root.children.map((c) => [c.name, c.text])).toEqual([
      ['b', '1 < 2 A<&>'],
      ['c', ''],
    ]);
  });

  it('refuses what is not well-formed', () => {
    for (const bad of ['<a><b></a>', '<a>', '<a></a><b/>', '<x:a/>', 'text<a/>', '<a>&</a>']) {
      expect(() => parseXml(bad), bad).toThrow(XmlError);
    }
  });

  it('stops at a nesting too deep', () => {
    expect(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100))).toThrow(/too deep/);
  });
});
