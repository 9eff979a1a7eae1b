/**
 * BioBERT as the paper uses it: a user-supplied ONNX export of biobert-base-cased-v1.2 and its
 * `vocab.txt`; WordPiece tokens (at most 512, no special tokens), last hidden state per token.
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import {
  type BiobertOnnxNoteEncoderSpec,
  type EncodedNote,
  MAX_NOTE_TOKENS,
  type NoteEncoder,
  parseNoteEncoderSpec,
} from "./encoder.ts";
import { loadWebOrt, type OrtRuntime, runExclusive } from "../../model/backend.ts";
import { parseVocab, WordPieceTokenizer } from "./wordpiece.ts";

/** Options of {@linkcode createBiobertOnnxEncoder}. */
export interface BiobertOnnxEncoderOptions {
  /**
   * Folder that relative `model` and `vocab` paths of the spec are resolved against (the
   * manifest's folder).
   * @default {Deno.cwd()}
   */
  readonly baseDir?: string;
  /**
   * The runtime to run the encoder on (the model's, so that a server encodes notes off the
   * thread that answers requests).
   * @default {onnxruntime-web wasm on the calling thread}
   */
  readonly runtime?: OrtRuntime;
}

/** Graph inputs this encoder knows how to feed. */
const FEEDABLE = ["input_ids", "attention_mask", "token_type_ids", "position_ids"] as const;

/**
 * Loads the ONNX export and vocabulary named by the spec and returns the encoder. Throws a
 * `TypeError` listing every graph input it cannot feed.
 *
 * @example Encode with a user's BioBERT export
 * ```ts ignore
 * import { createBiobertOnnxEncoder } from "./biobert_encoder.ts";
 * const encoder = await createBiobertOnnxEncoder(
 *   { kind: "biobert-onnx", dim: 768, model: "biobert/model.onnx", vocab: "biobert/vocab.txt" },
 *   { baseDir: "models/default" },
 * );
 * const note = await encoder.encode("htn dm2 cad s p cabg");
 * console.log(note.tokens, note.dim); // e.g. 9 768
 * await encoder.close();
 * ```
 */
export async function createBiobertOnnxEncoder(
  spec: BiobertOnnxNoteEncoderSpec,
  options: BiobertOnnxEncoderOptions = {},
): Promise<NoteEncoder> {
  const valid = parseNoteEncoderSpec(spec) as BiobertOnnxNoteEncoderSpec;
  const base = options.baseDir ?? Deno.cwd();
  const at = (path: string) => isAbsolute(path) ? path : join(base, path);
  const tokenizer = new WordPieceTokenizer(parseVocab(await Deno.readTextFile(at(valid.vocab))), {
    lowerCase: valid.lowerCase ?? false,
  });
  const ort: Awaited<ReturnType<typeof loadWebOrt>> = options.runtime?.ort ?? await loadWebOrt();
  const providers = options.runtime?.executionProviders ?? ["wasm"];
  const bytes = await Deno.readFile(at(valid.model));
  const session = await runExclusive(
    ort,
    () => ort.InferenceSession.create(bytes, { executionProviders: [...providers] }),
  );
  const unknownInputs = session.inputNames.filter((name) =>
    !(FEEDABLE as readonly string[]).includes(name)
  );
  if (unknownInputs.length > 0 || !session.inputNames.includes("input_ids")) {
    await session.release();
    const missing = [
      ...unknownInputs,
      ...(session.inputNames.includes("input_ids") ? [] : ["input_ids"]),
    ];
    throw new TypeError(
      `Cannot use ONNX note encoder "${valid.model}": cannot feed graph inputs ${
        missing.map((n) => `"${n}"`).join(", ")
      } (expected input_ids and optionally ${FEEDABLE.slice(1).join(", ")})`,
    );
  }
  const outputName = session.outputNames.includes("last_hidden_state")
    ? "last_hidden_state"
    : session.outputNames[0]!;
  const maxTokens = valid.maxTokens ?? MAX_NOTE_TOKENS;

  async function encode(text: string): Promise<EncodedNote> {
    const ids = tokenizer.encode(text, { limit: maxTokens });
    const n = ids.length;
    if (n === 0) return { tokens: 0, dim: valid.dim, data: new Float32Array(0) };
    const make = (values: (i: number) => number) =>
      new ort.Tensor("int64", BigInt64Array.from({ length: n }, (_, i) => BigInt(values(i))), [
        1,
        n,
      ]);
    const all: Record<(typeof FEEDABLE)[number], () => InstanceType<typeof ort.Tensor>> = {
      input_ids: () => make((i) => ids[i]!),
      attention_mask: () => make(() => 1),
      token_type_ids: () => make(() => 0),
      position_ids: () => make((i) => i),
    };
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const name of session.inputNames) feeds[name] = all[name as (typeof FEEDABLE)[number]]();
    const result = await runExclusive(ort, () => session.run(feeds));
    const output = result[outputName];
    const dims = output?.dims ?? [];
    if (output === undefined || dims.length !== 3 || dims[1] !== n || dims[2] !== valid.dim) {
      throw new TypeError(
        `ONNX note encoder "${valid.model}" returned ${outputName} of shape [${
          dims.join(", ")
        }], expected [1, ${n}, ${valid.dim}] (check the manifest's dim)`,
      );
    }
    const data = Float32Array.from(output.data as Float32Array);
    for (const tensor of Object.values(result)) tensor.dispose();
    return { tokens: n, dim: valid.dim, data };
  }

  return Object.freeze({
    spec: valid,
    encode,
    close: () => runExclusive(ort, () => session.release()),
  });
}
