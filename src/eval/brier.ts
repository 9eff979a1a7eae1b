/**
 * The Brier score of binary probabilities (scikit-learn `brier_score_loss`).
 *
 * @module
 */
import { checkBinary, checkWeights, type Numbers } from "./_check.ts";

/** Options for {@linkcode brierScore}. */
export interface BrierOptions {
  /**
   * Weight of each sample.
   * @default {undefined} (every sample weighs 1)
   */
  sampleWeights?: Numbers;
}

/**
 * The mean squared difference between probability and outcome; `NaN` for no samples.
 * Throws a `RangeError` for probabilities outside [0, 1].
 *
 * @example Three probabilities
 * ```ts
 * import { brierScore } from "./brier.ts";
 * if (Math.abs(brierScore([0, 1, 1], [0.1, 0.9, 0.4]) - 0.12666666666666668) > 1e-12) {
 *   throw new Error();
 * }
 * ```
 */
export function brierScore(labels: Numbers, probs: Numbers, options: BrierOptions = {}): number {
  checkBinary(labels, probs, "the Brier score");
  const weights = options.sampleWeights;
  checkWeights(weights, labels.length, "the Brier score");
  let sum = 0;
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = probs[i]!;
    if (p < 0 || p > 1) {
      throw new RangeError(`Cannot compute the Brier score: probability ${p} at index ${i}`);
    }
    const w = weights === undefined ? 1 : weights[i]!;
    sum += w * (labels[i]! - p) ** 2;
    total += w;
  }
  return total === 0 ? Number.NaN : sum / total;
}
