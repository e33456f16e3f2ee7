import type { TFunction } from 'i18next';

/**
 * The full name of an action link ("Change language", "taal Wijzigen", "Modifier : langue"):
 * the verb shown and the hidden words, in the order the language's pattern puts them
 * (views/partials/action-link.ejs). A row's label goes in lower case inside the sentence unless
 * it starts with an abbreviation ("OATH token", "PIN").
 */
export function actionLinkName(
  t: TFunction,
  pattern:
    'account.summary.linkName' | 'devicesPage.renameLinkName' | 'devicesPage.deactivateLinkName',
  action: string,
  what: string,
  language: string,
): string {
  const inSentence =
    pattern === 'account.summary.linkName' && /^\p{Lu}\p{Ll}/u.test(what)
      ? what.charAt(0).toLocaleLowerCase(language) + what.slice(1)
      : what;
  return t(pattern, { action, what: inSentence });
}
