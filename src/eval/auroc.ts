/**
 * Area under the ROC curve, equal to scikit-learn's `roc_auc_score` for binary labels: the
 * trapezoid rule over the curve's distinct thresholds, so a tie between a positive and a
 * negative counts one half.
 *
 * @module
 */
import { binaryCurve, type BinaryMetricOptions } from "./binary_curve.ts";
import type { Numbers } from "./_check.ts";

/**
 * Area under the ROC curve; `NaN` when the (weighted) labels hold only one class, where
 * scikit-learn raises. Throws a `RangeError` for labels other than 0/1 or non-finite scores.
 *
 * @example Ties count one half
 * ```ts
 * import { auroc } from "./auroc.ts";
 * if (auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) !== 0.75) throw new Error();
 * if (auroc([0, 1], [0.5, 0.5]) !== 0.5 || !Number.isNaN(auroc([1, 1], [0.2, 0.3]))) {
 *   throw new Error();
 * }
 * ```
 */
export function auroc(labels: Numbers, scores: Numbers, options: BinaryMetricOptions = {}): number {
  const { tps, fps } = binaryCurve(labels, scores, options);
  const last = tps.length - 1;
  if (last < 0) return Number.NaN;
  const positives = tps[last]!;
  const negatives = fps[last]!;
  if (positives <= 0 || negatives <= 0) return Number.NaN;
  let area = 0;
  let prevX = 0;
  let prevY = 0;
  for (let i = 0; i <= last; i++) {
    const x = fps[i]! / negatives;
    const y = tps[i]! / positives;
    area += (x - prevX) * (y + prevY) / 2;
    prevX = x;
    prevY = y;
  }
  return area;
}
