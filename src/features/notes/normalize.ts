/**
 * The note text normalization of the reference FlexCare pipeline: the listfile's note column
 * is one line of lower-case text with punctuation and line breaks removed.
 *
 * @module
 */

/** Apostrophes inside words are deleted ("patient's" -> "patients", "don't" -> "dont"). */
const APOSTROPHES = /['\u2018\u2019\u02bc`]/g;
/** Every other character that is not a letter, a combining mark, a digit or whitespace. */
const PUNCTUATION = /[^\p{L}\p{M}\p{N}\s]/gu;
const WHITESPACE = /\s+/g;

/**
 * Normalizes clinical text as the reference pipeline stores notes: Unicode NFC, lower case,
 * apostrophes deleted, all other punctuation and symbols (commas, colons, slashes, `%`, `+`,
 * `°`, underscores...) replaced by a space, line breaks and runs of whitespace collapsed to one
 * space, trimmed. The result is one line that never contains a comma. Letters with accents and
 * digits are kept; idempotent.
 *
 * @example Normalize a section
 * ```ts
 * import { normalizeNoteText } from "./normalize.ts";
 * const text = normalizeNoteText("HTN, DM2 (on insulin);\nCAD s/p CABG x3. Patient's BP: 140/90");
 * if (text !== "htn dm2 on insulin cad s p cabg x3 patients bp 140 90") throw new Error(text);
 * ```
 */
export function normalizeNoteText(text: string): string {
  return text
    .normalize("NFC")
    .toLowerCase()
    .replace(APOSTROPHES, "")
    .replace(PUNCTUATION, " ")
    .replace(WHITESPACE, " ")
    .trim();
}
