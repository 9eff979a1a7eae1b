/**
 * The word tokenizer of the built-in hashed encoder: words of the normalized text, plus
 * fastText-style character n-grams as subword features.
 *
 * @module
 */
import { normalizeNoteText } from "./normalize.ts";

/**
 * Splits text into words after {@linkcode normalizeNoteText} (so any input, raw or already
 * normalized, gives the same words). At most `limit` words when given.
 *
 * @example
 * ```ts
 * import { tokenizeWords } from "./word_tokenizer.ts";
 * const words = tokenizeWords("Past history: HTN, DM.");
 * if (words.join("|") !== "past|history|htn|dm") throw new Error();
 * ```
 */
export function tokenizeWords(text: string, options: { readonly limit?: number } = {}): string[] {
  const normalized = normalizeNoteText(text);
  if (normalized === "") return [];
  const words = normalized.split(" ");
  return options.limit === undefined ? words : words.slice(0, options.limit);
}

/** Options of {@linkcode charNgrams}. */
export interface CharNgramOptions {
  /** @default {3} */
  readonly min?: number;
  /** @default {5} */
  readonly max?: number;
}

/**
 * The character n-grams of `<word>` (with boundary marks), shortest first, as fastText forms
 * subwords; the whole bracketed word is not included.
 *
 * @example
 * ```ts
 * import { charNgrams } from "./word_tokenizer.ts";
 * const grams = charNgrams("cad", { min: 3, max: 4 });
 * if (grams.join(" ") !== "<ca cad ad> <cad cad>") throw new Error(grams.join(" "));
 * ```
 */
export function charNgrams(word: string, options: CharNgramOptions = {}): string[] {
  const min = options.min ?? 3;
  const max = options.max ?? 5;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new RangeError(`Invalid n-gram range ${min}..${max}: expected integers 1 <= min <= max`);
  }
  const chars = Array.from(`<${word}>`);
  const out: string[] = [];
  for (let n = min; n <= max; n++) {
    for (let i = 0; i + n <= chars.length; i++) {
      if (n === chars.length) continue;
      out.push(chars.slice(i, i + n).join(""));
    }
  }
  return out;
}
