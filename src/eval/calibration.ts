/**
 * Calibration of binary probabilities: reliability-diagram bins and the expected calibration
 * error (ECE).
 *
 * Bins: `bins` equal-width bins over [0, 1] with edges `b / bins`, assigned exactly as
 * scikit-learn's `calibration_curve(strategy="uniform")` does (`searchsorted` on the inner
 * edges): bin 0 is [0, 1/bins] and bin b >= 1 is (b/bins, (b+1)/bins], so a probability on an
 * edge falls in the lower bin.
 *
 * ECE = sum over non-empty bins of (n_b / N) * |observed rate_b - mean predicted_b|, the
 * weighted mean gap between the diagonal and the reliability curve.
 *
 * @module
 */
import { checkBinary, checkWeights, type Numbers } from "./_check.ts";

/** Options for {@linkcode reliabilityBins} and {@linkcode expectedCalibrationError}. */
export interface CalibrationOptions {
  /**
   * Number of equal-width bins over [0, 1].
   * @default {10}
   */
  bins?: number;
  /**
   * Weight of each sample.
   * @default {undefined} (every sample weighs 1)
   */
  sampleWeights?: Numbers;
}

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  /** Lower edge. */
  readonly lower: number;
  /** Upper edge. */
  readonly upper: number;
  /** (Weighted) number of samples in the bin. */
  readonly count: number;
  /** Mean predicted probability in the bin; `null` when empty. */
  readonly meanPredicted: number | null;
  /** Fraction of positives in the bin; `null` when empty. */
  readonly observedRate: number | null;
}

/**
 * The reliability-diagram bins (empty bins included, with `null` means). Throws a
 * `RangeError` for probabilities outside [0, 1].
 *
 * @example A probability on an edge falls in the lower bin
 * ```ts
 * import { reliabilityBins } from "./calibration.ts";
 * const bins = reliabilityBins([0, 1, 1], [0.1, 0.15, 0.95]);
 * if (bins.length !== 10 || bins[0]!.count !== 1 || bins[1]!.count !== 1) throw new Error();
 * if (bins[9]!.observedRate !== 1 || bins[5]!.meanPredicted !== null) throw new Error();
 * ```
 */
export function reliabilityBins(
  labels: Numbers,
  probs: Numbers,
  options: CalibrationOptions = {},
): ReliabilityBin[] {
  const n = options.bins ?? 10;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Number of calibration bins must be a positive integer, got ${n}`);
  }
  checkBinary(labels, probs, "calibration");
  const weights = options.sampleWeights;
  checkWeights(weights, labels.length, "calibration");
  const step = 1 / n;
  const edges = Array.from({ length: n + 1 }, (_, b) => b === n ? 1 : b * step);
  const count = new Float64Array(n);
  const sumProb = new Float64Array(n);
  const sumTrue = new Float64Array(n);
  for (let i = 0; i < labels.length; i++) {
    const p = probs[i]!;
    if (p < 0 || p > 1) {
      throw new RangeError(`Cannot compute calibration: probability ${p} at index ${i}`);
    }
    // Number of inner edges strictly below p (numpy searchsorted, side "left").
    let b = Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
    while (b > 0 && !(edges[b]! < p)) b--;
    while (b < n - 1 && edges[b + 1]! < p) b++;
    const w = weights === undefined ? 1 : weights[i]!;
    count[b]! += w;
    sumProb[b]! += w * p;
    sumTrue[b]! += w * labels[i]!;
  }
  return Array.from({ length: n }, (_, b) => {
    const c = count[b]!;
    return {
      lower: edges[b]!,
      upper: edges[b + 1]!,
      count: c,
      meanPredicted: c > 0 ? sumProb[b]! / c : null,
      observedRate: c > 0 ? sumTrue[b]! / c : null,
    };
  });
}

/**
 * The expected calibration error over equal-width bins; `NaN` for no samples.
 *
 * @example One bin with a gap of 0.25
 * ```ts
 * import { expectedCalibrationError } from "./calibration.ts";
 * // One bin [0.2, 0.3] holds p = 0.25 twice with one positive: gap 0.25.
 * if (Math.abs(expectedCalibrationError([0, 1], [0.25, 0.25]) - 0.25) > 1e-12) throw new Error();
 * ```
 */
export function expectedCalibrationError(
  labels: Numbers,
  probs: Numbers,
  options: CalibrationOptions = {},
): number {
  const bins = reliabilityBins(labels, probs, options);
  const total = bins.reduce((a, b) => a + b.count, 0);
  if (total === 0) return Number.NaN;
  let ece = 0;
  for (const bin of bins) {
    if (bin.count === 0) continue;
    ece += bin.count / total * Math.abs(bin.observedRate! - bin.meanPredicted!);
  }
  return ece;
}
