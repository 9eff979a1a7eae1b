/**
 * AUROC for multi-label tasks (phenotyping, diagnosis) where a label of -1 means unknown and is
 * masked out: per label over its known entries, then averaged (macro) or pooled (micro).
 *
 * @module
 */
import { auroc } from "./auroc.ts";
import { descendingOrder } from "./binary_curve.ts";
import { checkWeights, type Numbers } from "./_check.ts";

/** Options for {@linkcode multilabelAuroc}. */
export interface MultilabelAurocOptions {
  /**
   * `macro`: the mean of the per-label AUROCs over labels whose known entries hold both
   * classes; `micro`: one AUROC over all known (label, sample) entries pooled.
   * @default {"macro"}
   */
  average?: "macro" | "micro";
  /**
   * Weight of each sample (row).
   * @default {undefined} (every sample weighs 1)
   */
  sampleWeights?: Numbers;
}

/** The known entries of some label columns, with their rows and their score order. */
class Entries {
  readonly labels: number[] = [];
  readonly scores: number[] = [];
  readonly rows: number[] = [];
  #order: Uint32Array | undefined;

  add(label: number, score: number, row: number): void {
    this.labels.push(label);
    this.scores.push(score);
    this.rows.push(row);
  }

  auroc(rowWeights: Numbers | undefined): number {
    this.#order ??= descendingOrder(this.scores);
    if (rowWeights === undefined) return auroc(this.labels, this.scores, { order: this.#order });
    const weights = new Float64Array(this.rows.length);
    for (let e = 0; e < weights.length; e++) weights[e] = rowWeights[this.rows[e]!]!;
    return auroc(this.labels, this.scores, { sampleWeights: weights, order: this.#order });
  }
}

/**
 * Multi-label AUROC prepared once for many evaluations (the bootstrap): the entries are
 * gathered and sorted once, each call only reweights them.
 */
export interface PreparedMultilabelAuroc {
  /** Number of samples (rows). */
  readonly samples: number;
  /** AUROC per label (`NaN` where the known entries hold one class only). */
  perLabel(sampleWeights?: Numbers): number[];
  /** Mean of the defined per-label AUROCs; `NaN` when none is defined. */
  macro(sampleWeights?: Numbers): number;
  /** AUROC over all known entries pooled. */
  micro(sampleWeights?: Numbers): number;
}

/**
 * Checks shapes and labels (0, 1 or -1) and gathers the known entries.
 *
 * @example Prepare once, reweight many times
 * ```ts
 * import { prepareMultilabelAuroc } from "./multilabel_auroc.ts";
 * const m = prepareMultilabelAuroc([[1, 0], [0, -1], [1, 1], [0, 0]], [
 *   [0.9, 0.2], [0.1, 0.7], [0.8, 0.6], [0.3, 0.9],
 * ]);
 * // Weight 0 drops row 2: label 1 keeps negatives only and is left out of the mean.
 * if (m.macro() !== 0.75 || m.macro([1, 1, 0, 1]) !== 1) throw new Error();
 * ```
 */
export function prepareMultilabelAuroc(
  labels: readonly Numbers[],
  scores: readonly Numbers[],
): PreparedMultilabelAuroc {
  if (labels.length !== scores.length) {
    throw new TypeError(
      `Cannot compute multi-label AUROC: ${labels.length} label rows but ${scores.length} score rows`,
    );
  }
  const k = labels[0]?.length ?? 0;
  const columns = Array.from({ length: k }, () => new Entries());
  const pooled = new Entries();
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]!.length !== k || scores[i]!.length !== k) {
      throw new TypeError(
        `Cannot compute multi-label AUROC: row ${i} has ${labels[i]!.length} labels and ${
          scores[i]!.length
        } scores, expected ${k}`,
      );
    }
    for (let j = 0; j < k; j++) {
      const y = labels[i]![j]!;
      if (y !== 0 && y !== 1 && y !== -1) {
        throw new RangeError(
          `Cannot compute multi-label AUROC: label ${y} at row ${i}, column ${j} is not 0, 1 or -1`,
        );
      }
      if (y === -1) continue;
      columns[j]!.add(y, scores[i]![j]!, i);
      pooled.add(y, scores[i]![j]!, i);
    }
  }
  const n = labels.length;
  const check = (w: Numbers | undefined) => checkWeights(w, n, "multi-label AUROC");
  const perLabel = (w?: Numbers) => {
    check(w);
    return columns.map((c) => c.auroc(w));
  };
  return {
    samples: n,
    perLabel,
    macro(w?: Numbers) {
      const defined = perLabel(w).filter((v) => !Number.isNaN(v));
      return defined.length === 0
        ? Number.NaN
        : defined.reduce((a, b) => a + b, 0) / defined.length;
    },
    micro(w?: Numbers) {
      check(w);
      return pooled.auroc(w);
    },
  };
}

/**
 * The AUROC of each label over its known entries (`NaN` where they hold one class only).
 *
 * @example The second label is unknown for one sample
 * ```ts
 * import { perLabelAuroc } from "./multilabel_auroc.ts";
 * const v = perLabelAuroc([[1, 0], [0, -1], [1, 1]], [[0.9, 0.2], [0.1, 0.7], [0.8, 0.6]]);
 * if (v[0] !== 1 || v[1] !== 1) throw new Error();
 * ```
 */
export function perLabelAuroc(
  labels: readonly Numbers[],
  scores: readonly Numbers[],
  options: Pick<MultilabelAurocOptions, "sampleWeights"> = {},
): number[] {
  return prepareMultilabelAuroc(labels, scores).perLabel(options.sampleWeights);
}

/**
 * Macro or micro AUROC over labels with -1 entries masked; `NaN` when no label (macro) or the
 * pooled entries (micro) hold both classes.
 *
 * @example Macro and micro with a masked entry
 * ```ts
 * import { multilabelAuroc } from "./multilabel_auroc.ts";
 * const y = [[1, 0], [0, -1], [1, 1], [0, 0]];
 * const p = [[0.9, 0.2], [0.1, 0.7], [0.8, 0.6], [0.3, 0.9]];
 * if (multilabelAuroc(y, p) !== 0.75) throw new Error(); // mean of 1 and 0.5
 * const micro = multilabelAuroc(y, p, { average: "micro" });
 * if (Math.abs(micro - 19 / 24) > 1e-12) throw new Error();
 * ```
 */
export function multilabelAuroc(
  labels: readonly Numbers[],
  scores: readonly Numbers[],
  options: MultilabelAurocOptions = {},
): number {
  const average = options.average ?? "macro";
  if (average !== "macro" && average !== "micro") {
    throw new TypeError(`Unknown average ${JSON.stringify(average)}: expected macro or micro`);
  }
  return prepareMultilabelAuroc(labels, scores)[average](options.sampleWeights);
}
