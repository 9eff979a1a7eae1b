/**
 * A listfile sample's model inputs, computed by the feature code the service uses: the episode
 * discretized up to the prediction time, standardized with the model's statistics and cut to
 * its last rows; the X-ray preprocessed; the note (already the listfile's section text) through
 * the manifest's note encoder, at most the manifest's token limit.
 *
 * @module
 */
import { imagePath, predictionTime, readEpisode, type Sample } from "../data/dataset.ts";
import { discretize } from "../features/discretizer.ts";
import { preprocessImage } from "../features/image/preprocess.ts";
import { type FeatureMatrix, lastRows } from "../features/matrix.ts";
import { type Normalizer, standardize } from "../features/normalizer.ts";
import type { NoteEncoder } from "../features/notes/encoder.ts";
import type { SampleInputs } from "../model/flexcare_model.ts";
import type { ModelManifest } from "../model/manifest.ts";

/** What turns samples into inputs (taken from the base model's manifest). */
export interface Featurizer {
  /** Dataset folder the samples were read from. */
  readonly dataDir: string;
  readonly normalizer: Normalizer;
  /** Rows of time series kept (the model's `timeseries.max_rows`). */
  readonly maxRows: number;
  readonly noteEncoder: NoteEncoder;
  /** Note tokens kept (the model's `note_max_tokens`). */
  readonly noteMaxTokens: number;
}

/**
 * The featurizer of a model directory's inputs: its normalizer, row cap and note token cap
 * (`note_max_tokens`, 512 when the manifest does not say), over `dataDir` with `noteEncoder`.
 */
export function modelFeaturizer(
  model: { readonly normalizer: Normalizer; readonly manifest: ModelManifest },
  dataDir: string,
  noteEncoder: NoteEncoder,
): Featurizer {
  return {
    dataDir,
    normalizer: model.normalizer,
    maxRows: model.manifest.timeseries.max_rows,
    noteEncoder,
    noteMaxTokens: model.manifest.note_max_tokens ?? 512,
  };
}

/** Model inputs of one sample, plus the whole standardized matrix (for summary features). */
export interface FeaturizedSample extends SampleInputs {
  /** All standardized rows up to the prediction time, or `null` without a time series. */
  readonly matrix: FeatureMatrix | null;
}

/**
 * Computes a sample's inputs; a modality that yields nothing (an episode with no rows, a note
 * with no tokens) counts as absent.
 *
 * @example Inputs of a note-only sample
 * ```ts ignore
 * const inputs = await sampleInputs(sample, featurizer);
 * console.log(inputs.note?.tokens, inputs.timeseries === null);
 * ```
 */
export async function sampleInputs(
  sample: Sample,
  featurizer: Featurizer,
): Promise<FeaturizedSample> {
  let matrix: FeatureMatrix | null = null;
  if (sample.episode !== null) {
    const observations = await readEpisode(featurizer.dataDir, sample.episode);
    const m = standardize(
      discretize(observations, predictionTime(sample, observations)),
      featurizer.normalizer,
    );
    if (m.rows > 0) matrix = m;
  }
  let image: Float32Array | null = null;
  if (sample.dicomId !== null) {
    const path = imagePath(featurizer.dataDir, sample.dicomId);
    try {
      image = preprocessImage(await Deno.readFile(path));
    } catch (error) {
      throw new Error(
        `${sample.origin}: cannot read image "${path}": ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  let note: SampleInputs["note"] = null;
  if (sample.note !== null) {
    const encoded = await featurizer.noteEncoder.encode(sample.note);
    const tokens = Math.min(encoded.tokens, featurizer.noteMaxTokens);
    if (tokens > 0) {
      note = { tokens, dim: encoded.dim, data: encoded.data.subarray(0, tokens * encoded.dim) };
    }
  }
  if (matrix === null && image === null && note === null) {
    throw new RangeError(`${sample.origin}: sample has no usable modality`);
  }
  return {
    timeseries: matrix === null ? null : lastRows(matrix, featurizer.maxRows),
    image,
    note,
    matrix,
  };
}
