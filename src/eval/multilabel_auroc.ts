/**
 * AUROC for multi-label tasks (phenotyping, diagnosis) where a label of -1 means unknown and is
 * masked out: per label over its known entries, then averaged (macro) or pooled (micro).
 *
 * @module
 */
import { auroc } from "./auroc.ts";
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

interface Flat {
  labels: number[];
  scores: number[];
  weights: number[] | undefined;
}

function checkShape(labels: readonly Numbers[], scores: readonly Numbers[]): number {
  if (labels.length !== scores.length) {
    throw new TypeError(
      `Cannot compute multi-label AUROC: ${labels.length} label rows but ${scores.length} score rows`,
    );
  }
  const k = labels[0]?.length ?? 0;
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
    }
  }
  return k;
}

function collect(
  labels: readonly Numbers[],
  scores: readonly Numbers[],
  columns: readonly number[],
  weights: Numbers | undefined,
): Flat {
  const flat: Flat = { labels: [], scores: [], weights: weights === undefined ? undefined : [] };
  for (let i = 0; i < labels.length; i++) {
    for (const j of columns) {
      const y = labels[i]![j]!;
      if (y === -1) continue;
      flat.labels.push(y);
      flat.scores.push(scores[i]![j]!);
      flat.weights?.push(weights![i]!);
    }
  }
  return flat;
}

function flatAuroc(flat: Flat): number {
  return auroc(
    flat.labels,
    flat.scores,
    flat.weights === undefined ? {} : { sampleWeights: flat.weights },
  );
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
  const k = checkShape(labels, scores);
  checkWeights(options.sampleWeights, labels.length, "multi-label AUROC");
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    out.push(flatAuroc(collect(labels, scores, [j], options.sampleWeights)));
  }
  return out;
}

/**
 * Macro or micro AUROC over labels with -1 entries masked; `NaN` when no label (macro) or the
 * pooled entries (micro) hold both classes.
 *
 * @example
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
  if (average === "micro") {
    const k = checkShape(labels, scores);
    checkWeights(options.sampleWeights, labels.length, "multi-label AUROC");
    const all = Array.from({ length: k }, (_, j) => j);
    return flatAuroc(collect(labels, scores, all, options.sampleWeights));
  }
  if (average !== "macro") {
    throw new TypeError(`Unknown average ${JSON.stringify(average)}: expected macro or micro`);
  }
  const defined = perLabelAuroc(labels, scores, options).filter((v) => !Number.isNaN(v));
  if (defined.length === 0) return Number.NaN;
  return defined.reduce((a, b) => a + b, 0) / defined.length;
}
