/**
 * F1 score for multi-class predictions with scikit-learn `f1_score` semantics
 * (`zero_division=0`): the classes are those given, or else the sorted union of the classes in
 * the true and predicted vectors.
 *
 * @module
 */
import { checkClassPair, unionClasses } from "./_classes.ts";
import type { Numbers } from "./_check.ts";

/** Options for {@linkcode f1Score}. */
export interface F1Options {
  /**
   * `macro`: the unweighted mean of the per-class F1; `micro`: F1 of the counts pooled over the
   * classes (equal to accuracy when every class is included).
   * @default {"macro"}
   */
  average?: "macro" | "micro";
  /**
   * The classes to score.
   * @default {undefined} (the union of classes present in `yTrue` and `yPred`)
   */
  classes?: readonly number[];
  /**
   * Weight of each sample.
   * @default {undefined} (every sample weighs 1)
   */
  sampleWeights?: Numbers;
}

function divide(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function fScore(precision: number, recall: number): number {
  const denom = precision + recall;
  return denom === 0 ? 0 : 2 * precision * recall / denom;
}

/**
 * The macro or micro F1 of predicted classes against true classes; 0 where a class's
 * precision or recall divides by zero. `NaN` when there are no classes at all.
 *
 * @example Macro and micro F1 of three classes
 * ```ts
 * import { f1Score } from "./f1.ts";
 * const t = [0, 1, 2, 0, 1, 2], p = [0, 2, 1, 0, 0, 1];
 * if (Math.abs(f1Score(t, p) - 0.26666666666666666) > 1e-12) throw new Error();
 * if (Math.abs(f1Score(t, p, { average: "micro" }) - 1 / 3) > 1e-12) throw new Error();
 * ```
 */
export function f1Score(yTrue: Numbers, yPred: Numbers, options: F1Options = {}): number {
  const weights = options.sampleWeights;
  checkClassPair(yTrue, yPred, weights, "F1");
  const classes = options.classes ?? unionClasses(yTrue, yPred);
  if (classes.length === 0) return Number.NaN;
  const index = new Map(classes.map((c, i) => [c, i]));
  const k = classes.length;
  const tp = new Float64Array(k);
  const predicted = new Float64Array(k);
  const actual = new Float64Array(k);
  for (let s = 0; s < yTrue.length; s++) {
    const w = weights === undefined ? 1 : weights[s]!;
    const t = index.get(yTrue[s]!);
    const p = index.get(yPred[s]!);
    if (t !== undefined) actual[t]! += w;
    if (p !== undefined) predicted[p]! += w;
    if (t !== undefined && t === p) tp[t]! += w;
  }
  const average = options.average ?? "macro";
  if (average === "micro") {
    const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
    return fScore(divide(sum(tp), sum(predicted)), divide(sum(tp), sum(actual)));
  }
  if (average !== "macro") {
    throw new TypeError(`Unknown average ${JSON.stringify(average)}: expected macro or micro`);
  }
  let total = 0;
  for (let c = 0; c < k; c++) {
    total += fScore(divide(tp[c]!, predicted[c]!), divide(tp[c]!, actual[c]!));
  }
  return total / k;
}
