/**
 * Bootstrap confidence intervals by the percentile method with a seeded generator. Each
 * resample draws `n` sample indices with replacement and hands the statistic the multiplicity
 * of every sample (a weight vector), so ranking metrics can reuse one sort order across
 * resamples. Resamples where the statistic is undefined (`NaN`, e.g. one class only) are
 * skipped and counted.
 *
 * @module
 */
import { seededRandom } from "../data/random.ts";

/** Options for {@linkcode bootstrapCi}. */
export interface BootstrapOptions {
  /**
   * Number of resamples.
   * @default {1000}
   */
  resamples?: number;
  /**
   * Seed of the generator.
   * @default {0}
   */
  seed?: number;
  /**
   * Confidence level.
   * @default {0.95}
   */
  level?: number;
}

/** A point estimate with its bootstrap percentile interval. */
export interface ConfidenceInterval {
  /** The statistic on the full data (all weights 1). */
  readonly value: number;
  /** Lower percentile bound; `null` when no resample gave a defined value. */
  readonly lower: number | null;
  /** Upper percentile bound; `null` when no resample gave a defined value. */
  readonly upper: number | null;
  /** Confidence level. */
  readonly level: number;
  /** Resamples drawn. */
  readonly resamples: number;
  /** Resamples skipped because the statistic was undefined on them. */
  readonly skipped: number;
}

/**
 * The q-th quantile (0..1) of sorted values by linear interpolation (numpy's default).
 *
 * @example Median by interpolation
 * ```ts
 * import { quantileSorted } from "./bootstrap.ts";
 * if (quantileSorted([1, 2, 3, 4], 0.5) !== 2.5) throw new Error();
 * ```
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo]!;
  return a + (sorted[hi]! - a) * (pos - lo);
}

/**
 * Computes `statistic(weights)` on the full data (weights all 1) and on seeded resamples,
 * returning the percentile interval.
 *
 * @example Interval of a mean
 * ```ts
 * import { bootstrapCi } from "./bootstrap.ts";
 * const x = [1, 2, 3, 4, 5, 6, 7, 8];
 * const mean = (w: Float64Array) => {
 *   let s = 0, t = 0;
 *   w.forEach((wi, i) => { s += wi * x[i]!; t += wi; });
 *   return s / t;
 * };
 * const ci = bootstrapCi(x.length, mean, { resamples: 200, seed: 1 });
 * if (ci.value !== 4.5 || !(ci.lower! < 4.5 && 4.5 < ci.upper!) || ci.skipped !== 0) {
 *   throw new Error();
 * }
 * ```
 */
export function bootstrapCi(
  n: number,
  statistic: (weights: Float64Array) => number,
  options: BootstrapOptions = {},
): ConfidenceInterval {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`Sample count must be a non-negative integer, got ${n}`);
  }
  if (!Number.isInteger(resamples) || resamples < 0) {
    throw new RangeError(`Number of resamples must be a non-negative integer, got ${resamples}`);
  }
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`Confidence level must be between 0 and 1, got ${level}`);
  }
  const weights = new Float64Array(n).fill(1);
  const value = statistic(weights);
  const rand = seededRandom(options.seed ?? 0);
  const values: number[] = [];
  let skipped = 0;
  for (let r = 0; r < resamples; r++) {
    weights.fill(0);
    for (let i = 0; i < n; i++) weights[Math.floor(rand() * n)]! += 1;
    const v = n === 0 ? Number.NaN : statistic(weights);
    if (Number.isNaN(v)) skipped++;
    else values.push(v);
  }
  values.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  const defined = values.length > 0;
  return {
    value,
    lower: defined ? quantileSorted(values, tail) : null,
    upper: defined ? quantileSorted(values, 1 - tail) : null,
    level,
    resamples,
    skipped,
  };
}
