/**
 * NEWS2 against the model for decompensation: discrimination of both (AUROC, AUPRC with paired
 * bootstrap intervals: the same resamples for both), and alert burden at the usual NEWS2
 * trigger thresholds (>= 5: urgent response; >= 7: emergency response) next to the model's at
 * matched sensitivity (the highest model threshold whose sensitivity is at least NEWS2's).
 *
 * @module
 */
import { type AlertStats, alertStats, thresholdAtSensitivity } from "./alert_burden.ts";
import { auroc } from "./auroc.ts";
import { descendingOrder } from "./binary_curve.ts";
import { bootstrapCi, type BootstrapOptions, type ConfidenceInterval } from "./bootstrap.ts";
import { auprc } from "./precision_recall.ts";
import { checkBinary, type Numbers } from "./_check.ts";

/** Options for {@linkcode news2Comparison}. */
export interface News2ComparisonOptions {
  /**
   * NEWS2 trigger thresholds (alert when NEWS2 >= threshold).
   * @default {[5, 7]}
   */
  thresholds?: readonly number[];
  /**
   * Bootstrap settings of the intervals.
   * @default {{ resamples: 1000, seed: 0, level: 0.95 }}
   */
  bootstrap?: BootstrapOptions;
}

/** One trigger threshold: NEWS2's alarms and the model's at matched sensitivity. */
export interface News2ThresholdRow {
  /** The NEWS2 trigger threshold. */
  readonly news2Threshold: number;
  /** NEWS2 alarm statistics at the trigger. */
  readonly news2: AlertStats;
  /** The model's alarm statistics at the threshold matching NEWS2's sensitivity. */
  readonly model: AlertStats;
}

/** The comparison table. */
export interface News2Comparison {
  /** Number of predictions. */
  readonly n: number;
  /** Fraction of positive labels. */
  readonly prevalence: number;
  /** AUROC and AUPRC (trapezoid) of NEWS2. */
  readonly news2: { readonly auroc: ConfidenceInterval; readonly auprc: ConfidenceInterval };
  /** AUROC and AUPRC (trapezoid) of the model. */
  readonly model: { readonly auroc: ConfidenceInterval; readonly auprc: ConfidenceInterval };
  /** One row per trigger threshold. */
  readonly rows: readonly News2ThresholdRow[];
}

/**
 * Compares NEWS2 scores with model probabilities on the same predictions.
 *
 * @example NEWS2 >= 5 against the model at the same sensitivity
 * ```ts
 * import { news2Comparison } from "./news2_comparison.ts";
 * const labels = [1, 0, 0, 1, 0, 0, 1, 0];
 * const news2 = [8, 2, 5, 6, 1, 0, 3, 7];
 * const probs = [0.9, 0.1, 0.3, 0.7, 0.2, 0.05, 0.6, 0.4];
 * const c = news2Comparison(news2, probs, labels, { bootstrap: { resamples: 50 } });
 * const row5 = c.rows[0]!; // NEWS2 >= 5 alerts on 4 of 8 and catches 2 of 3
 * if (row5.news2.alerts !== 4 || Math.abs(row5.news2.sensitivity - 2 / 3) > 1e-12) throw new Error();
 * if (row5.model.alerts !== 2 || row5.model.ppv !== 1) throw new Error(); // same sensitivity
 * ```
 */
export function news2Comparison(
  news2Scores: Numbers,
  modelProbs: Numbers,
  labels: Numbers,
  options: News2ComparisonOptions = {},
): News2Comparison {
  checkBinary(labels, news2Scores, "the NEWS2 comparison");
  checkBinary(labels, modelProbs, "the NEWS2 comparison");
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i]!;
  const ranked = (scores: Numbers) => {
    const order = descendingOrder(scores);
    const interval = (metric: typeof auroc) =>
      bootstrapCi(n, (w) => metric(labels, scores, { sampleWeights: w, order }), options.bootstrap);
    return { auroc: interval(auroc), auprc: interval(auprc) };
  };
  const rows = (options.thresholds ?? [5, 7]).map((t) => {
    const news2 = alertStats(labels, news2Scores, t);
    const matched = Number.isNaN(news2.sensitivity)
      ? Number.NaN
      : thresholdAtSensitivity(labels, modelProbs, news2.sensitivity);
    return { news2Threshold: t, news2, model: alertStats(labels, modelProbs, matched) };
  });
  return {
    n,
    prevalence: n === 0 ? Number.NaN : positives / n,
    news2: ranked(news2Scores),
    model: ranked(modelProbs),
    rows,
  };
}
