/**
 * NEWS2 for a dataset sample (decompensation baseline): the episode's raw feature matrix up to
 * the sample's prediction time, scored on its last row (see `news2_matrix.ts`). The
 * model-driven evaluation attaches this value to each decompensation record.
 *
 * @module
 */
import { predictionTime, readEpisode, type Sample } from "../data/dataset.ts";
import { discretize } from "../features/discretizer.ts";
import type { News2Result } from "./news2.ts";
import { news2FromMatrix } from "./news2_matrix.ts";

/**
 * NEWS2 at a sample's prediction time; `null` for a sample without time series.
 *
 * @example NEWS2 of the test decompensation samples
 * ```ts ignore
 * import { readSamples } from "../data/dataset.ts";
 * import { news2ForSample } from "./news2_dataset.ts";
 * for await (const sample of readSamples("data/synth", "dec", "test")) {
 *   console.log(sample.origin, (await news2ForSample("data/synth", sample))?.total);
 * }
 * ```
 */
export async function news2ForSample(
  dataDir: string,
  sample: Pick<Sample, "episode" | "task" | "time">,
): Promise<News2Result | null> {
  if (sample.episode === null) return null;
  const observations = await readEpisode(dataDir, sample.episode);
  const matrix = discretize(observations, predictionTime(sample, observations));
  return news2FromMatrix(matrix);
}
