import type { FieldError } from './mfa-service.ts';

/**
 * SPEC M6: answers compare case-, accent- and whitespace-insensitively, so "  Zoë  van Dijk"
 * and "zoe van dijk" are the same answer. The normal form is what gets hashed.
 */
export function normaliseAnswer(answer: string): string {
  return answer
    .normalize('NFD')
    .replace(/\p{Mark}/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** The longest answer kept, in characters as typed (before the normal form). */
export const answerMaxLength = 200;

/**
 * SPEC M6: each answer to a question of `known` (the questions offered in the page's language),
 * none chosen twice, none left empty or longer than `answerMaxLength`. Field names follow the
 * order given: `question0`, `answer0`, …
 */
export function answerErrors(
  answers: readonly { questionId: string; answer: string }[],
  known: readonly string[],
): FieldError[] {
  const errors: FieldError[] = [];
  const ids = answers.map((a) => a.questionId);
  const normalised = answers.map((a) => normaliseAnswer(a.answer));
  answers.forEach(({ questionId, answer }, i) => {
    // Each message names its question, so that the error summary's links can be told apart.
    const values = { number: i + 1 };
    const error = (field: string, message: string) => {
      errors.push({ field: `${field}${i}`, message: `setup.questions.errors.${message}`, values });
    };
    if (!known.includes(questionId)) error('question', 'choose');
    else if (ids.indexOf(questionId) !== i) error('question', 'duplicate');
    const trimmed = answer.trim();
    if (trimmed === '') error('answer', 'answerMissing');
    else if (trimmed.length > answerMaxLength) error('answer', 'answerTooLong');
    // One answer for every question would make the questions one secret, not several (M6).
    else if (normalised.indexOf(normaliseAnswer(answer)) !== i) error('answer', 'answerRepeated');
  });
  return errors;
}
