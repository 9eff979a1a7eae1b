/**
 * BERT's WordPiece tokenizer (BasicTokenizer + WordPiece), as `transformers.BertTokenizer`
 * applies it, for BioBERT's `vocab.txt`.
 *
 * @module
 */

/** Options of {@linkcode WordPieceTokenizer}. */
export interface WordPieceOptions {
  /**
   * Lower-case and strip accents before splitting (uncased models). BioBERT
   * (biobert-base-cased-v1.2) is cased: keep the default.
   * @default {false}
   */
  readonly lowerCase?: boolean;
  /**
   * The token for words that cannot be split into vocabulary pieces.
   * @default {"[UNK]"}
   */
  readonly unknownToken?: string;
  /**
   * Words longer than this many characters become the unknown token.
   * @default {100}
   */
  readonly maxCharsPerWord?: number;
  /**
   * The prefix of word-continuation pieces.
   * @default {"##"}
   */
  readonly continuationPrefix?: string;
}

/** One token: its vocabulary piece and its id. */
export interface WordPieceToken {
  readonly piece: string;
  readonly id: number;
}

/**
 * Parses a BERT `vocab.txt`: one piece per line, the id is the 0-based line number.
 *
 * @example
 * ```ts
 * import { parseVocab } from "./wordpiece.ts";
 * const vocab = parseVocab("[PAD]\n[UNK]\nthe\n##s\n");
 * if (vocab.get("##s") !== 3 || vocab.size !== 4) throw new Error();
 * ```
 */
export function parseVocab(text: string): Map<string, number> {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((line, id) => {
    if (!vocab.has(line)) vocab.set(line, id);
  });
  return vocab;
}

const CONTROL = /^[\p{Cc}\p{Cf}]$/u;
const SPACE = /^[\s\p{Zs}]$/u;
const PUNCT_CATEGORY = /^\p{P}$/u;
const MARK_NONSPACING = /\p{Mn}/gu;

function isWhitespace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || SPACE.test(ch);
}

function isControl(ch: string): boolean {
  if (ch === "\t" || ch === "\n" || ch === "\r") return false;
  return CONTROL.test(ch);
}

/** BERT counts all non-letter/number ASCII (such as `$`, `^`, `` ` ``) as punctuation. */
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  if (
    (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
    (cp >= 123 && cp <= 126)
  ) return true;
  return PUNCT_CATEGORY.test(ch);
}

/** The CJK Unified Ideographs blocks, as in BERT's `_is_chinese_char`. */
function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/**
 * BERT's BasicTokenizer: drops control characters, U+0000 and U+FFFD, isolates CJK ideographs,
 * splits on whitespace, optionally lower-cases and strips accents, and makes every punctuation
 * character its own token.
 *
 * @example
 * ```ts
 * import { basicTokenize } from "./wordpiece.ts";
 * const words = basicTokenize("Hello, world! s/p CABG");
 * if (words.join(" ") !== "Hello , world ! s / p CABG") throw new Error(words.join(" "));
 * ```
 */
export function basicTokenize(
  text: string,
  options: { readonly lowerCase?: boolean } = {},
): string[] {
  let cleaned = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    if (isWhitespace(ch)) cleaned += " ";
    else if (isCjk(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  const out: string[] = [];
  for (let word of cleaned.split(" ")) {
    if (word === "") continue;
    if (options.lowerCase === true) {
      word = word.toLowerCase().normalize("NFD").replace(MARK_NONSPACING, "");
    }
    let current = "";
    for (const ch of word) {
      if (isPunctuation(ch)) {
        if (current !== "") out.push(current);
        out.push(ch);
        current = "";
      } else {
        current += ch;
      }
    }
    if (current !== "") out.push(current);
  }
  return out;
}

/**
 * WordPiece over a BERT vocabulary: {@linkcode basicTokenize}, then greedy longest-match-first
 * splitting of each word into pieces (continuations prefixed with `##`); a word with no full
 * split, or longer than 100 characters, becomes `[UNK]`. No special tokens are added.
 *
 * @example Tokenize with a small vocabulary
 * ```ts
 * import { WordPieceTokenizer } from "./wordpiece.ts";
 * const tok = new WordPieceTokenizer(["[UNK]", "un", "##aff", "##able", ","]);
 * const pieces = tok.tokenize("unaffable, xyz").map((t) => t.piece);
 * if (pieces.join(" ") !== "un ##aff ##able , [UNK]") throw new Error(pieces.join(" "));
 * ```
 */
export class WordPieceTokenizer {
  readonly #vocab: Map<string, number>;
  readonly #lowerCase: boolean;
  readonly #unknown: WordPieceToken;
  readonly #maxChars: number;
  readonly #prefix: string;

  /** Builds a tokenizer from a parsed vocabulary or its pieces in id order. */
  constructor(
    vocab: ReadonlyMap<string, number> | readonly string[],
    options: WordPieceOptions = {},
  ) {
    this.#vocab = Array.isArray(vocab)
      ? new Map((vocab as readonly string[]).map((piece, id) => [piece, id]))
      : new Map(vocab as ReadonlyMap<string, number>);
    this.#lowerCase = options.lowerCase ?? false;
    this.#maxChars = options.maxCharsPerWord ?? 100;
    this.#prefix = options.continuationPrefix ?? "##";
    const unknown = options.unknownToken ?? "[UNK]";
    const unknownId = this.#vocab.get(unknown);
    if (unknownId === undefined) {
      throw new TypeError(`Cannot build a WordPiece tokenizer: the vocabulary lacks "${unknown}"`);
    }
    if (!Number.isInteger(this.#maxChars) || this.#maxChars < 1) {
      throw new RangeError(
        `Invalid maxCharsPerWord ${this.#maxChars}: expected a positive integer`,
      );
    }
    this.#unknown = { piece: unknown, id: unknownId };
  }

  /** Number of pieces in the vocabulary. */
  get vocabSize(): number {
    return this.#vocab.size;
  }

  /** Splits `text` into vocabulary pieces (at most `limit` of them when given). */
  tokenize(text: string, options: { readonly limit?: number } = {}): WordPieceToken[] {
    const limit = options.limit ?? Infinity;
    const out: WordPieceToken[] = [];
    for (const word of basicTokenize(text, { lowerCase: this.#lowerCase })) {
      if (out.length >= limit) break;
      for (const token of this.#splitWord(word)) {
        if (out.length >= limit) break;
        out.push(token);
      }
    }
    return out;
  }

  /** The ids of {@linkcode WordPieceTokenizer.tokenize}. */
  encode(text: string, options: { readonly limit?: number } = {}): number[] {
    return this.tokenize(text, options).map((t) => t.id);
  }

  #splitWord(word: string): WordPieceToken[] {
    const chars = Array.from(word);
    if (chars.length > this.#maxChars) return [this.#unknown];
    const pieces: WordPieceToken[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: WordPieceToken | undefined;
      while (start < end) {
        const sub = (start > 0 ? this.#prefix : "") + chars.slice(start, end).join("");
        const id = this.#vocab.get(sub);
        if (id !== undefined) {
          found = { piece: sub, id };
          break;
        }
        end--;
      }
      if (found === undefined) return [this.#unknown];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }
}
