/**
 * The built-in note encoder: signed feature hashing of words, word pairs and character
 * n-grams into E dimensions. Needs no weights, no download and no native code.
 *
 * Each feature string `f` seeds a pseudo-random sign vector `s_f ∈ {-1, +1}^E` (a fixed random
 * projection of the one-hot feature space that is never stored). A token's embedding is
 * `Σ_f w_f s_f / sqrt(Σ_f w_f²)`, so every entry has mean 0 and variance 1 whatever the number
 * of features: weight 1 for the word, the character 3- to 5-grams of `<word>` share weight 1
 * (each `1 / sqrt(count)`), and, when enabled, weight 1 for the (previous word, word) pair.
 * Words + subwords is the default because it scored best in `bench/RESULTS_notes.md`.
 *
 * @module
 */
import {
  type EncodedNote,
  type HashedNoteEncoderSpec,
  MAX_NOTE_TOKENS,
  type NoteEncoder,
  parseNoteEncoderSpec,
} from "./encoder.ts";
import { charNgrams, tokenizeWords } from "./word_tokenizer.ts";
import { hashString32 } from "../../data/random.ts";

/** Distinct words whose vectors are kept between calls. */
const WORD_CACHE_SIZE = 4096;

/** The word-level features of a token, summed, with their summed squared weights. */
interface WordPart {
  readonly vector: Float32Array;
  readonly sumSquares: number;
}

/** Adds `weight * s_f` to `out[offset .. offset+dim]`, drawing 32 signs per mulberry32 step. */
function addSigns(out: Float32Array, offset: number, dim: number, hash: number, weight: number) {
  let state = hash;
  for (let base = 0; base < dim; base += 32) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const bits = (t ^ (t >>> 14)) >>> 0;
    const n = Math.min(32, dim - base);
    for (let j = 0; j < n; j++) {
      out[offset + base + j]! += (bits >>> j) & 1 ? weight : -weight;
    }
  }
}

/**
 * Builds the hashed encoder for a spec (validated here, once).
 *
 * @example Encode a note
 * ```ts
 * import { createHashedEncoder } from "./hashed_encoder.ts";
 * const encoder = createHashedEncoder({ kind: "hashed", dim: 64 });
 * const note = await encoder.encode("htn dm2 cad s p cabg");
 * if (note.tokens !== 6 || note.dim !== 64 || note.data.length !== 6 * 64) throw new Error();
 * ```
 */
export function createHashedEncoder(spec: HashedNoteEncoderSpec): NoteEncoder {
  const valid = parseNoteEncoderSpec(spec) as HashedNoteEncoderSpec;
  const dim = valid.dim;
  const seed = (valid.seed ?? 0) | 0;
  const bigrams = valid.bigrams ?? false;
  const subwords = valid.subwords ?? true;
  const maxTokens = valid.maxTokens ?? MAX_NOTE_TOKENS;

  // The word-level part of a token (word + subwords) repeats across notes: keep the most
  // recent WORD_CACHE_SIZE of them (about 3 KiB each at E = 768).
  const cache = new Map<string, WordPart>();

  function wordPart(word: string): WordPart {
    const hit = cache.get(word);
    if (hit !== undefined) return hit;
    const vector = new Float32Array(dim);
    addSigns(vector, 0, dim, hashString32(`w\u0001${word}`, seed), 1);
    let sumSquares = 1;
    const grams = subwords ? charNgrams(word) : [];
    if (grams.length > 0) {
      const w = 1 / Math.sqrt(grams.length);
      for (const gram of grams) addSigns(vector, 0, dim, hashString32(`c\u0001${gram}`, seed), w);
      sumSquares += 1;
    }
    if (cache.size >= WORD_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    const part = { vector, sumSquares };
    cache.set(word, part);
    return part;
  }

  function encodeSync(text: string): EncodedNote {
    const words = tokenizeWords(text, { limit: maxTokens });
    const data = new Float32Array(words.length * dim);
    words.forEach((word, i) => {
      const offset = i * dim;
      const part = wordPart(word);
      data.set(part.vector, offset);
      let sumSquares = part.sumSquares;
      if (bigrams && i > 0) {
        addSigns(data, offset, dim, hashString32(`b\u0001${words[i - 1]}\u0001${word}`, seed), 1);
        sumSquares += 1;
      }
      const scale = 1 / Math.sqrt(sumSquares);
      for (let j = offset; j < offset + dim; j++) data[j]! *= scale;
    });
    return { tokens: words.length, dim, data };
  }

  return Object.freeze({
    spec: valid,
    encode: (text: string) => Promise.resolve(encodeSync(text)),
    close: () => Promise.resolve(),
  });
}
