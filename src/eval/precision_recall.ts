/**
 * The precision-recall curve and its two summaries: the trapezoid area over the curve (what the
 * reference FlexCare code reports as AUPRC: scikit-learn `precision_recall_curve` then
 * `auc(recall, precision)`) and average precision (scikit-learn `average_precision_score`,
 * the step-function integral). Points after full recall lie at recall 1 and add no area, so
 * older scikit-learn versions that dropped them give the same trapezoid value.
 *
 * @module
 */
import { type BinaryCurve, binaryCurve, type BinaryMetricOptions } from "./binary_curve.ts";
import type { Numbers } from "./_check.ts";

/** A precision-recall curve in scikit-learn's order: recall decreasing, ending at (0, 1). */
export interface PrecisionRecallCurve {
  /** Precision at each threshold (0 where nothing is predicted positive), then 1. */
  readonly precision: Float64Array;
  /** Recall at each threshold, then 0. */
  readonly recall: Float64Array;
  /** Thresholds, ascending (one fewer than the points). */
  readonly thresholds: Float64Array;
}

/**
 * The curve as scikit-learn's `precision_recall_curve` (version 1.2) returns it. Recall is set
 * to 1 everywhere when there are no positives, as scikit-learn does.
 *
 * @example Recall decreases to 0
 * ```ts
 * import { precisionRecallCurve } from "./precision_recall.ts";
 * const c = precisionRecallCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * if ([...c.recall].join() !== "1,1,0.5,0.5,0") throw new Error();
 * ```
 */
export function precisionRecallCurve(
  labels: Numbers,
  scores: Numbers,
  options: BinaryMetricOptions = {},
): PrecisionRecallCurve {
  return fromBinaryCurve(binaryCurve(labels, scores, options));
}

function fromBinaryCurve({ thresholds, tps, fps }: BinaryCurve): PrecisionRecallCurve {
  const m = tps.length;
  const positives = m > 0 ? tps[m - 1]! : 0;
  const precision = new Float64Array(m + 1);
  const recall = new Float64Array(m + 1);
  const ascending = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const j = m - 1 - i; // reversed so recall decreases
    const predicted = tps[j]! + fps[j]!;
    precision[i] = predicted !== 0 ? tps[j]! / predicted : 0;
    recall[i] = positives !== 0 ? tps[j]! / positives : 1;
    ascending[i] = thresholds[j]!;
  }
  precision[m] = 1;
  recall[m] = 0;
  return { precision, recall, thresholds: ascending };
}

/** The curve, or `undefined` when there are no (weighted) positives. */
function curveWithPositives(
  labels: Numbers,
  scores: Numbers,
  options: BinaryMetricOptions,
): PrecisionRecallCurve | undefined {
  const counts = binaryCurve(labels, scores, options);
  const m = counts.tps.length;
  if (m === 0 || !(counts.tps[m - 1]! > 0)) return undefined;
  return fromBinaryCurve(counts);
}

/**
 * Area under the precision-recall curve by the trapezoid rule (the reference code's AUPRC);
 * `NaN` when there are no positives.
 *
 * @example Trapezoid area
 * ```ts
 * import { auprc } from "./precision_recall.ts";
 * const v = auprc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * if (Math.abs(v - 0.7916666666666666) > 1e-12) throw new Error(String(v));
 * ```
 */
export function auprc(labels: Numbers, scores: Numbers, options: BinaryMetricOptions = {}): number {
  const curve = curveWithPositives(labels, scores, options);
  if (curve === undefined) return Number.NaN;
  const { precision, recall } = curve;
  let area = 0;
  for (let i = 1; i < recall.length; i++) {
    area += (recall[i - 1]! - recall[i]!) * (precision[i]! + precision[i - 1]!) / 2;
  }
  return area;
}

/**
 * Average precision, `sum_n (R_n - R_{n-1}) P_n` (scikit-learn `average_precision_score`);
 * `NaN` when there are no positives.
 *
 * @example Step-function area
 * ```ts
 * import { averagePrecision } from "./precision_recall.ts";
 * const v = averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * if (Math.abs(v - 0.8333333333333333) > 1e-12) throw new Error(String(v));
 * ```
 */
export function averagePrecision(
  labels: Numbers,
  scores: Numbers,
  options: BinaryMetricOptions = {},
): number {
  const curve = curveWithPositives(labels, scores, options);
  if (curve === undefined) return Number.NaN;
  const { precision, recall } = curve;
  let sum = 0;
  for (let i = 0; i < recall.length - 1; i++) {
    sum += (recall[i]! - recall[i + 1]!) * precision[i]!;
  }
  return sum;
}
