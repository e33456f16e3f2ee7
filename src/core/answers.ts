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
  answers.forEach(({ questionId, answer }, i) => {
    if (!known.includes(questionId)) {
      errors.push({ field: `question${i}`, message: 'setup.questions.errors.choose' });
    } else if (ids.indexOf(questionId) !== i) {
      errors.push({ field: `question${i}`, message: 'setup.questions.errors.duplicate' });
    }
    const trimmed = answer.trim();
    if (trimmed === '') {
      errors.push({ field: `answer${i}`, message: 'setup.questions.errors.answerMissing' });
    } else if (trimmed.length > answerMaxLength) {
      errors.push({ field: `answer${i}`, message: 'setup.questions.errors.answerTooLong' });
    }
  });
  return errors;
}
