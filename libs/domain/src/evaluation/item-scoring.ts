/**
 * Scoring one answer against one item. The model's text is read leniently (surrounding words,
 * "Answer: B", a trailing full stop) but never guessed: an answer that cannot be read is wrong.
 */
import type { BenchmarkItem } from './suite';

export interface ItemScore {
  correct: boolean;
  /** The answer as read from the response (a letter, normalised text or a number), null when none could be read. */
  answer: string | null;
}

const normaliseText = (s: string): string =>
  s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^answer\s*[:：]\s*/, '')
    .replace(/[.。!]+$/, '')
    .trim();

function readLetter(response: string, choices: number): string | null {
  const text = response.trim().replace(/^answer\s*[:：]?\s*/i, '');
  const m = /^\(?([A-Za-z])\)?(?=$|[\s.):,])/.exec(text);
  if (!m) return null;
  const letter = m[1].toUpperCase();
  return letter.charCodeAt(0) - 65 < choices ? letter : null;
}

function readNumber(response: string): number | null {
  // Thousands separators only in groups of three ("1,000"); "1,00" reads as 1.
  const m = /-?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?|-?\.\d+/i.exec(response);
  if (!m) return null;
  const x = Number(m[0].replace(/,/g, ''));
  return Number.isFinite(x) ? x : null;
}

export function scoreItem(item: BenchmarkItem, response: string): ItemScore {
  switch (item.kind) {
    case 'multiple_choice': {
      const answer = readLetter(response, item.choices.length);
      return { correct: answer === item.expected, answer };
    }
    case 'exact_match': {
      const answer = normaliseText(response);
      const accepted = [item.expected, ...(item.aliases ?? [])].map(normaliseText);
      return { correct: answer.length > 0 && accepted.includes(answer), answer: answer.length > 0 ? answer : null };
    }
    case 'numeric_tolerance': {
      const x = readNumber(response);
      return { correct: x !== null && Math.abs(x - item.expected) <= item.tolerance + 1e-12, answer: x === null ? null : String(x) };
    }
  }
}
