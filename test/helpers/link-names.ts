import type { TFunction } from 'i18next';

type Pattern =
  'account.summary.linkName' | 'devicesPage.renameLinkName' | 'devicesPage.deactivateLinkName';

/** The parts of an action link (views/partials/action-link.ejs): hidden, shown, hidden. */
function parts(t: TFunction, pattern: Pattern, action: string, what: string, language: string) {
  // A row's label goes in lower case inside the sentence, unless it starts with an
  // abbreviation ("OATH token", "PIN").
  const inSentence =
    pattern === 'account.summary.linkName' && /^\p{Lu}\p{Ll}/u.test(what)
      ? what.charAt(0).toLocaleLowerCase(language) + what.slice(1)
      : what;
  const [before = '', after = ''] = t(pattern, { action: '\u0001', what: inSentence }).split(
    '\u0001',
  );
  return { before, action, after };
}

/**
 * The full name of an action link as a text browser shows it ("Change language", "taal
 * Wijzigen", "Modifier : langue"), in the order the language's pattern puts the words.
 */
export function actionLinkName(
  t: TFunction,
  pattern: Pattern,
  action: string,
  what: string,
  language: string,
): string {
  const { before, after } = parts(t, pattern, action, what, language);
  return `${before}${action}${after}`.replace(/\u00a0/g, ' ');
}

const escaped = (text: string) => text.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The same name as a browser computes it: Chromium puts a space around the hidden words (they are
 * positioned out of the flow), so the parts may be apart by white space.
 */
export function actionLinkPattern(
  t: TFunction,
  pattern: Pattern,
  action: string,
  what: string,
  language: string,
): RegExp {
  const { before, after } = parts(t, pattern, action, what, language);
  return new RegExp(`^\\s*${escaped(before)}\\s*${escaped(action)}\\s*${escaped(after)}\\s*$`, 'u');
}

/**
 * A masked number's text on a page: shown as "+31 ••• 78", spoken (a hidden part) as words
 * (views/partials/masked-number.ejs).
 */
export function spokenNumber(t: TFunction, masked: string): string {
  const [start = '', end = ''] = masked.split(/ •+ /u);
  return `${masked} (${t('phone.masked', { start, end })})`;
}
