/**
 * One pass over a task's samples that computes, for every sample still missing from its cache,
 * each encoder's vector: the s_p of a frozen backbone with the new task's token, or the summary
 * features. The sample's inputs are computed once per sample for all encoders; a progress bar
 * counts samples; caches make an interrupted run resumable.
 *
 * @module
 */
import { Progress } from "../data/extract/progress.ts";
import type { Sample } from "../data/dataset.ts";
import type { FlexCareModel, TaskToken } from "../model/flexcare_model.ts";
import { type FeaturizedSample, type Featurizer, sampleInputs } from "./sample_inputs.ts";
import { sha256Text, VectorCache } from "./vector_cache.ts";

/** Something that turns a sample's inputs into one vector. */
export interface SampleEncoder {
  /** Short name, used in cache file names. */
  readonly name: string;
  /** What the vectors depend on besides the samples (model hash, token, feature version). */
  readonly key: string;
  encode(inputs: FeaturizedSample): Promise<Float32Array>;
}

/** The s_p of a backbone with a task token (staged graphs when the model has them). */
export function backboneEncoder(
  name: string,
  model: FlexCareModel,
  token: TaskToken,
  key: string,
): SampleEncoder {
  return {
    name,
    key: `${key}|model:${model.hash}`,
    async encode(inputs) {
      const options = { tokens: [token] };
      const out = model.staged
        ? await model.step(
          {
            timeseries: inputs.timeseries,
            imageStates: inputs.image === null ? null : await model.encodeImage(inputs.image),
            noteStates: inputs.note === null ? null : await model.encodeNote(inputs.note),
          },
          [],
          options,
        )
        : await model.predict(inputs, [], options);
      return out[0]!.representation;
    },
  };
}

/** A stable id of a sample within its split. */
export function sampleId(sample: Sample, index: number): string {
  return `${index}:${sample.stayId}:${sample.time ?? ""}`;
}

/** Options for {@linkcode extractVectors}. */
export interface ExtractOptions {
  readonly featurizer: Featurizer;
  readonly encoders: readonly SampleEncoder[];
  /** Folder of the cache files (created). */
  readonly cacheDir: string;
  /** Label of the progress bar and cache files (e.g. the split). */
  readonly label: string;
  /**
   * Draw a progress bar on stderr.
   * @default {true}
   */
  readonly progress?: boolean;
}

/**
 * Vectors of every encoder for the given samples: `result[encoder.name]` is row-major
 * `[samples, width]`.
 *
 * @example Summary features of a split
 * ```ts ignore
 * const { summary } = await extractVectors(samples, { featurizer, encoders, cacheDir, label: "train" });
 * ```
 */
export async function extractVectors(
  samples: readonly Sample[],
  options: ExtractOptions,
): Promise<Record<string, { data: Float32Array; width: number }>> {
  await Deno.mkdir(options.cacheDir, { recursive: true });
  const ids = samples.map(sampleId);
  const idsHash = await sha256Text(ids.join("\n"));
  const caches: VectorCache[] = [];
  for (const e of options.encoders) {
    const key = await sha256Text(`${e.key}|samples:${idsHash}`);
    caches.push(
      await VectorCache.open(
        `${options.cacheDir}/${options.label.replace(/[^\w.-]+/g, "-")}-${e.name}-${
          key.slice(0, 16)
        }.jsonl`,
        key,
      ),
    );
  }
  const bar = new Progress(options.label, samples.length, {
    enabled: options.progress ?? true,
    unit: "samples",
  });
  try {
    for (let i = 0; i < samples.length; i++) {
      const missing = caches.map((c, k) => (c.get(ids[i]!) === undefined ? k : -1)).filter((k) =>
        k >= 0
      );
      if (missing.length > 0) {
        const inputs = await sampleInputs(samples[i]!, options.featurizer);
        for (const k of missing) {
          await caches[k]!.put(ids[i]!, await options.encoders[k]!.encode(inputs));
        }
      }
      bar.update(i + 1);
    }
    bar.finish();
    const out: Record<string, { data: Float32Array; width: number }> = {};
    options.encoders.forEach((e, k) => {
      const width = samples.length > 0 ? caches[k]!.get(ids[0]!)!.length : 0;
      const data = new Float32Array(samples.length * width);
      ids.forEach((id, i) => data.set(caches[k]!.get(id)!, i * width));
      out[e.name] = { data, width };
    });
    return out;
  } finally {
    for (const c of caches) await c.close();
  }
}
