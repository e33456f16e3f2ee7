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
