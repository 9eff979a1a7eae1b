/**
 * Accuracy of predicted classes (scikit-learn `accuracy_score`).
 *
 * @module
 */
import { checkClassPair } from "./_classes.ts";
import type { Numbers } from "./_check.ts";

/** Options for {@linkcode accuracy}. */
export interface AccuracyOptions {
  /**
   * Weight of each sample.
   * @default {undefined} (every sample weighs 1)
   */
  sampleWeights?: Numbers;
}

/**
 * The (weighted) fraction of samples whose predicted class equals the true class; `NaN` for
 * no samples (or zero total weight).
 *
 * @example Three of four right
 * ```ts
 * import { accuracy } from "./accuracy.ts";
 * if (accuracy([0, 1, 2, 2], [0, 2, 2, 2]) !== 0.75) throw new Error();
 * ```
 */
export function accuracy(yTrue: Numbers, yPred: Numbers, options: AccuracyOptions = {}): number {
  const weights = options.sampleWeights;
  checkClassPair(yTrue, yPred, weights, "accuracy");
  let right = 0;
  let total = 0;
  for (let s = 0; s < yTrue.length; s++) {
    const w = weights === undefined ? 1 : weights[s]!;
    total += w;
    if (yTrue[s] === yPred[s]) right += w;
  }
  return total === 0 ? Number.NaN : right / total;
}
