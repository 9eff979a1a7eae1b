/**
 * The cumulative true- and false-positive counts at each distinct score threshold, from the
 * highest score down, like scikit-learn's `_binary_clf_curve`. ROC, precision-recall and
 * alert-burden computations are all read off this one curve, so ties are handled alike
 * everywhere: samples with equal scores cross a threshold together.
 *
 * @module
 */
import { checkBinary, checkWeights, type Numbers } from "./_check.ts";

/** Options shared by the binary ranking metrics. */
export interface BinaryMetricOptions {
  /**
   * Non-negative weight of each sample (bootstrap resamples pass multiplicities); samples of
   * weight 0 are left out, as scikit-learn does.
   * @default {undefined} (every sample weighs 1)
   */
  sampleWeights?: Numbers;
  /**
   * The sample indices sorted by descending score, from {@linkcode descendingOrder}; pass it
   * to skip the sort when one data set is scored many times (bootstrap).
   * @default {undefined} (sorted here)
   */
  order?: Uint32Array;
}

/** Counts at each distinct threshold, thresholds descending. */
export interface BinaryCurve {
  /** Distinct scores, descending. */
  readonly thresholds: Float64Array;
  /** Weighted count of positives with score >= threshold. */
  readonly tps: Float64Array;
  /** Weighted count of negatives with score >= threshold. */
  readonly fps: Float64Array;
}

/**
 * Sample indices ordered by descending score (ties in index order).
 *
 * @example Indices by descending score
 * ```ts
 * import { descendingOrder } from "./binary_curve.ts";
 * if (descendingOrder([0.2, 0.9, 0.5]).join() !== "1,2,0") throw new Error();
 * ```
 */
export function descendingOrder(scores: Numbers): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/**
 * Computes the curve of cumulative positives and negatives at each distinct threshold.
 * Throws a `RangeError` for labels other than 0/1 or non-finite scores.
 *
 * @example Two samples tie at 0.5
 * ```ts
 * import { binaryCurve } from "./binary_curve.ts";
 * const c = binaryCurve([1, 0, 1], [0.9, 0.5, 0.5]);
 * if ([...c.thresholds].join() !== "0.9,0.5" || [...c.tps].join() !== "1,2") throw new Error();
 * if ([...c.fps].join() !== "0,1") throw new Error();
 * ```
 */
export function binaryCurve(
  labels: Numbers,
  scores: Numbers,
  options: BinaryMetricOptions = {},
): BinaryCurve {
  checkBinary(labels, scores, "a binary curve");
  const weights = options.sampleWeights;
  checkWeights(weights, labels.length, "a binary curve");
  const order = options.order ?? descendingOrder(scores);
  if (order.length !== labels.length) {
    throw new TypeError(`Sort order has ${order.length} entries for ${labels.length} samples`);
  }
  const n = order.length;
  // At most one point per sample; filled in place and trimmed at the end.
  const thresholds = new Float64Array(n);
  const tps = new Float64Array(n);
  const fps = new Float64Array(n);
  let m = 0;
  let tp = 0;
  let fp = 0;
  let k = 0;
  while (k < n) {
    const s = scores[order[k]!]!;
    let any = false;
    // One group of tied scores crosses the threshold together.
    while (k < n && scores[order[k]!]! === s) {
      const i = order[k]!;
      const w = weights === undefined ? 1 : weights[i]!;
      if (w !== 0) {
        any = true;
        if (labels[i] === 1) tp += w;
        else fp += w;
      }
      k++;
    }
    if (any) {
      thresholds[m] = s;
      tps[m] = tp;
      fps[m] = fp;
      m++;
    }
  }
  return { thresholds: thresholds.slice(0, m), tps: tps.slice(0, m), fps: fps.slice(0, m) };
}
