/**
 * Fitting standardization statistics from a dataset's training episodes, as the reference
 * pipeline does: every hourly row of every training sample's matrix (raw, cut at the
 * prediction time) counts once.
 *
 * @module
 */
import { predictionTime, readEpisode, readSamples } from "./dataset.ts";
import type { Split } from "./tasks.ts";
import { discretize } from "../features/discretizer.ts";
import { REFERENCE_CONFIG } from "../features/discretizer_config.ts";
import { type Normalizer, NormalizerFitter } from "../features/normalizer.ts";

/** Options for {@linkcode fitNormalizerFromDataset}. */
export interface FitNormalizerOptions {
  /**
   * Task whose samples are used.
   * @default {"phe"}
   */
  task?: string;
  /**
   * Split whose samples are used.
   * @default {"train"}
   */
  split?: Split;
}

/**
 * Fits population means and sample standard deviations (n-1, floored at 1e-7) over all 76
 * columns; the 12 continuous columns are the ones standardized.
 *
 * @example Fit on a dataset
 * ```ts ignore
 * import { fitNormalizerFromDataset } from "./fit_normalizer.ts";
 * const stats = await fitNormalizerFromDataset("data/synth", { task: "ihm" });
 * ```
 */
export async function fitNormalizerFromDataset(
  dataDir: string,
  options: FitNormalizerOptions = {},
): Promise<Normalizer> {
  const fitter = new NormalizerFitter({
    columns: REFERENCE_CONFIG.columns,
    standardizedColumns: REFERENCE_CONFIG.continuousColumns,
  });
  for await (
    const sample of readSamples(dataDir, options.task ?? "phe", options.split ?? "train")
  ) {
    if (sample.episode === null) continue;
    const observations = await readEpisode(dataDir, sample.episode);
    fitter.add(discretize(observations, predictionTime(sample, observations)));
  }
  return fitter.result();
}
