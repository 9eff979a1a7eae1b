/**
 * The paper's metrics of a task's predictions (Table 3, Table 5): AUROC and AUPRC for binary
 * tasks, macro and micro AUROC for multi-label tasks (-1 labels masked), macro and micro F1 of
 * the arg-max class for multi-class tasks (scikit-learn `f1_score`, classes = those in the true
 * or predicted labels).
 *
 * @module
 */
import { auroc } from "../eval/auroc.ts";
import { f1Score } from "../eval/f1.ts";
import { multilabelAuroc } from "../eval/multilabel_auroc.ts";
import { auprc } from "../eval/precision_recall.ts";
import type { TaskKind } from "../data/tasks.ts";

/** Metric names by task kind; the first is the one the reports lead with. */
export const METRICS_BY_KIND: Readonly<Record<TaskKind, readonly [string, string]>> = {
  binary: ["auroc", "auprc"],
  multilabel: ["macro_auroc", "micro_auroc"],
  multiclass: ["macro_f1", "micro_f1"],
};

/** Index of the largest value. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/**
 * The two metrics of a task kind (`NaN` where undefined, e.g. AUROC with one class).
 *
 * @example Multi-class F1
 * ```ts
 * import { taskMetrics } from "./task_metrics.ts";
 * const m = taskMetrics("multiclass", [[0], [1]], [new Float32Array([0.9, 0.1]), new Float32Array([0.8, 0.2])]);
 * if (m.micro_f1 !== 0.5) throw new Error(JSON.stringify(m));
 * ```
 */
export function taskMetrics(
  kind: TaskKind,
  labels: readonly (readonly number[])[],
  probs: readonly ArrayLike<number>[],
  sampleWeights?: ArrayLike<number>,
): Record<string, number> {
  const w = sampleWeights === undefined ? {} : { sampleWeights };
  if (labels.length !== probs.length) {
    throw new TypeError(`Got ${labels.length} labels but ${probs.length} predictions`);
  }
  if (labels.length === 0) {
    return { [METRICS_BY_KIND[kind][0]]: NaN, [METRICS_BY_KIND[kind][1]]: NaN };
  }
  switch (kind) {
    case "binary": {
      const y = labels.map((l) => l[0]!);
      const p = probs.map((q) => q[0]!);
      return { auroc: auroc(y, p, w), auprc: auprc(y, p, w) };
    }
    case "multilabel":
      return {
        macro_auroc: multilabelAuroc(labels, probs, { average: "macro", ...w }),
        micro_auroc: multilabelAuroc(labels, probs, { average: "micro", ...w }),
      };
    case "multiclass": {
      const y = labels.map((l) => l[0]!);
      const p = probs.map((q) => argmax(q));
      return {
        macro_f1: f1Score(y, p, { average: "macro", ...w }),
        micro_f1: f1Score(y, p, { average: "micro", ...w }),
      };
    }
  }
}
