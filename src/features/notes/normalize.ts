/**
 * The note text normalization of the reference FlexCare pipeline (`remove_symbol` applied to the
 * lower-cased section in `mimic4extract/scripts/utils.py`): the listfile's note column is one
 * line of lower-case text with line breaks and punctuation removed.
 *
 * @module
 */

/** Python's `string.punctuation`: the ASCII punctuation the reference deletes. */
const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
const LINE_BREAKS = /[\r\n]/g;

/**
 * Normalizes clinical text exactly as the reference pipeline stores notes: lower case, trimmed,
 * line breaks DELETED (so a break between two words joins them, as in the reference), ASCII
 * punctuation deleted (`s/p` -> `sp`, `35%` -> `35`), trimmed again. Other whitespace and
 * non-ASCII characters are kept. The result is one line that never contains a comma; the
 * function is idempotent. (`\r` is deleted too, where the reference deletes only `\n`, so that
 * CRLF text also gives one line.)
 *
 * @example Normalize a section
 * ```ts
 * import { normalizeNoteText } from "./normalize.ts";
 * const text = normalizeNoteText("HTN, DM2 (on insulin); CAD s/p CABG x3.\nPatient's BP: 140/90");
 * if (text !== "htn dm2 on insulin cad sp cabg x3patients bp 14090") throw new Error(text);
 * ```
 */
export function normalizeNoteText(text: string): string {
  return text.toLowerCase().trim().replace(LINE_BREAKS, "").replace(ASCII_PUNCTUATION, "").trim();
}
