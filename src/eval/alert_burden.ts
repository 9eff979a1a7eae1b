/**
 * Alert burden of a score used as an alarm: at a threshold (alert when score >= threshold), the
 * fraction of predictions that alert, the sensitivity and the positive predictive value; and the
 * threshold at which a model matches a given sensitivity.
 *
 * @module
 */
import { binaryCurve } from "./binary_curve.ts";
import type { Numbers } from "./_check.ts";

/** Alarm statistics at one threshold. */
export interface AlertStats {
  /** Alert when score >= threshold. */
  readonly threshold: number;
  /** Number of alerting predictions. */
  readonly alerts: number;
  /** Fraction of predictions that alert (the alert burden). */
  readonly alertRate: number;
  /** Fraction of positives that alert; `NaN` without positives. */
  readonly sensitivity: number;
  /** Fraction of alerts that are positive; `NaN` without alerts. */
  readonly ppv: number;
}

/**
 * Alarm statistics of `scores` at `threshold` (alert when score >= threshold).
 *
 * @example Alerts at NEWS2 >= 5
 * ```ts
 * import { alertStats } from "./alert_burden.ts";
 * const s = alertStats([1, 0, 1, 0], [7, 5, 3, 1], 5);
 * if (s.alerts !== 2 || s.alertRate !== 0.5 || s.sensitivity !== 0.5 || s.ppv !== 0.5) {
 *   throw new Error();
 * }
 * ```
 */
export function alertStats(labels: Numbers, scores: Numbers, threshold: number): AlertStats {
  const { thresholds, tps, fps } = binaryCurve(labels, scores);
  const m = thresholds.length;
  const positives = m > 0 ? tps[m - 1]! : 0;
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < m && thresholds[i]! >= threshold; i++) {
    tp = tps[i]!;
    fp = fps[i]!;
  }
  const n = labels.length;
  return {
    threshold,
    alerts: tp + fp,
    alertRate: n === 0 ? Number.NaN : (tp + fp) / n,
    sensitivity: positives === 0 ? Number.NaN : tp / positives,
    ppv: tp + fp === 0 ? Number.NaN : tp / (tp + fp),
  };
}

/**
 * The highest threshold at which `scores` reach at least `sensitivity` (the fewest alerts that
 * catch as many positives); `NaN` when there are no positives. Exact equality is generally
 * impossible with ties, so the model's sensitivity at this threshold may be slightly higher.
 *
 * @example The fewest alerts reaching a sensitivity
 * ```ts
 * import { thresholdAtSensitivity } from "./alert_burden.ts";
 * if (thresholdAtSensitivity([1, 0, 1, 0], [0.9, 0.8, 0.4, 0.1], 0.5) !== 0.9) throw new Error();
 * if (thresholdAtSensitivity([1, 0, 1, 0], [0.9, 0.8, 0.4, 0.1], 0.75) !== 0.4) throw new Error();
 * ```
 */
export function thresholdAtSensitivity(
  labels: Numbers,
  scores: Numbers,
  sensitivity: number,
): number {
  if (!(sensitivity >= 0 && sensitivity <= 1)) {
    throw new RangeError(`Target sensitivity must be between 0 and 1, got ${sensitivity}`);
  }
  const { thresholds, tps } = binaryCurve(labels, scores);
  const m = thresholds.length;
  const positives = m > 0 ? tps[m - 1]! : 0;
  if (positives === 0) return Number.NaN;
  // A little slack so a sensitivity computed elsewhere as tp / positives is matched exactly.
  const needed = sensitivity * positives - 1e-9;
  for (let i = 0; i < m; i++) {
    if (tps[i]! >= needed) return thresholds[i]!;
  }
  return thresholds[m - 1]!;
}
