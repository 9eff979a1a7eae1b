/**
 * Cohen's kappa (scikit-learn `cohen_kappa_score`), unweighted or with linear or quadratic
 * disagreement weights. mimic3-benchmarks reports the linear-weighted kappa for length of stay
 * (`cohen_kappa_score(y_true, y_pred, weights='linear')`). As in scikit-learn, the weights use
 * the positions of the classes in the sorted class list, not the class values.
 *
 * @module
 */
import { checkClassPair, confusionMatrix, unionClasses } from "./_classes.ts";
import type { Numbers } from "./_check.ts";

/** Options for {@linkcode cohenKappa}. */
export interface CohenKappaOptions {
  /**
   * Disagreement weights: `none` (every disagreement weighs 1), `linear` (|i - j|) or
   * `quadratic` ((i - j)^2).
   * @default {"none"}
   */
  weighting?: "none" | "linear" | "quadratic";
  /**
   * The classes (their order sets the weight distances).
   * @default {undefined} (the sorted union of classes in both vectors)
   */
  classes?: readonly number[];
  /**
   * Weight of each sample.
   * @default {undefined} (every sample weighs 1)
   */
  sampleWeights?: Numbers;
}

/**
 * Cohen's kappa between two class vectors; `NaN` where it divides by zero (e.g. one class
 * only).
 *
 * @example Unweighted and linear
 * ```ts
 * import { cohenKappa } from "./cohen_kappa.ts";
 * const a = [0, 1, 2, 2, 1], b = [0, 2, 2, 1, 1];
 * if (Math.abs(cohenKappa(a, b) - 0.375) > 1e-12) throw new Error();
 * if (Math.abs(cohenKappa(a, b, { weighting: "linear" }) - 0.5) > 1e-12) {
 *   throw new Error();
 * }
 * ```
 */
export function cohenKappa(
  yTrue: Numbers,
  yPred: Numbers,
  options: CohenKappaOptions = {},
): number {
  checkClassPair(yTrue, yPred, options.sampleWeights, "Cohen's kappa");
  const weighting = options.weighting ?? "none";
  if (weighting !== "none" && weighting !== "linear" && weighting !== "quadratic") {
    throw new TypeError(
      `Unknown weighting ${JSON.stringify(weighting)}: expected none, linear or quadratic`,
    );
  }
  const classes = options.classes ?? unionClasses(yTrue, yPred);
  const n = classes.length;
  const confusion = confusionMatrix(yTrue, yPred, classes, options.sampleWeights);
  const rowSum = new Float64Array(n);
  const colSum = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = confusion[i * n + j]!;
      rowSum[i]! += v;
      colSum[j]! += v;
      total += v;
    }
  }
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = Math.abs(i - j);
      const w = weighting === "none" ? (d === 0 ? 0 : 1) : weighting === "linear" ? d : d * d;
      observed += w * confusion[i * n + j]!;
      expected += w * rowSum[i]! * colSum[j]! / total;
    }
  }
  if (!(expected !== 0) || !Number.isFinite(expected)) return Number.NaN;
  return 1 - observed / expected;
}
