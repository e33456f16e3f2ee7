import { describe, expect, it } from 'vitest';
import { isEmail, isUsername } from '../../src/core/user-fields.ts';

describe('the fields of a user, wherever they are typed', () => {
  it('takes the usernames people have, in the forms Windows writes them', () => {
    for (const name of [
      'jsmith',
      'CONTOSO\\jsmith',
      'j.smith@contoso.com',
      'élodie',
      'Ψυχή',
      'иван',
    ]) {
      expect(isUsername(name), name).toBe(true);
    }
  });

  it('refuses names an administrator could not tell from another one by reading them', () => {
    // Full-width letters beside "same"; a Cyrillic а in "admin"; a Greek ο in "root".
    for (const name of [
      'ｓａｍｅ',
      '\u0430dmin',
      'r\u03bfot',
      'ﬁle',
      'two words',
      'tab\there',
      '',
    ]) {
      expect(isUsername(name), name).toBe(false);
    }
    expect(isUsername('x'.repeat(257))).toBe(false);
  });

  it('takes one plain address, never a list or a display name for the mail library', () => {
    expect(isEmail('jan.jansen@mail.example.nl')).toBe(true);
    for (const email of [
      'a,b<c@evil.org',
      'a@b.org,c@d.org',
      '"x"@y.org',
      'a;b@c.org',
      'a@b',
      'a b@c.org',
      'a@b.org.',
    ]) {
      expect(isEmail(email), email).toBe(false);
    }
  });
});
