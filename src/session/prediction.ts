/**
 * Turning the model's per-task outputs into published predictions: probability (binary),
 * probabilities (multi-label), class distribution (multi-class) and, for length of stay, the
 * expected remaining days.
 *
 * @module
 */
import type { TaskOutput } from "../model/flexcare_model.ts";
import type { ModalitiesUsed, StayPrediction } from "./types.ts";

/**
 * Mid-points, in days, of the 10 length-of-stay classes (remaining ICU time): classes 0-7 are
 * whole days (`[i, i+1)` days -> `i + 0.5`), class 8 is 8-14 days (-> 11) and class 9 is 14 days
 * or more, open-ended, represented by 21 days (the middle of 14-28 days; ICU stays beyond four
 * weeks are rare). The expected remaining days is the distribution's mean over these points.
 */
export const LOS_CLASS_MIDPOINT_DAYS: readonly number[] = Object.freeze([
  0.5,
  1.5,
  2.5,
  3.5,
  4.5,
  5.5,
  6.5,
  7.5,
  11,
  21,
]);

/**
 * Expected remaining days from a length-of-stay class distribution.
 *
 * @example All mass on "8-14 days"
 * ```ts
 * import { expectedRemainingDays } from "./prediction.ts";
 * const d = [0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
 * if (expectedRemainingDays(d) !== 11) throw new Error();
 * ```
 */
export function expectedRemainingDays(distribution: ArrayLike<number>): number {
  if (distribution.length !== LOS_CLASS_MIDPOINT_DAYS.length) {
    throw new RangeError(
      `A length-of-stay distribution has ${LOS_CLASS_MIDPOINT_DAYS.length} classes, got ${distribution.length}`,
    );
  }
  let sum = 0;
  for (let i = 0; i < distribution.length; i++) {
    sum += distribution[i]! * LOS_CLASS_MIDPOINT_DAYS[i]!;
  }
  return sum;
}

/** What a prediction is about, besides the model output. */
export interface PredictionContext {
  readonly stayId: string;
  readonly seq: number;
  readonly hours: number;
  readonly modalities: ModalitiesUsed;
  /** Combination names in the order of `alpha`. */
  readonly combinations: readonly string[];
  readonly model: { readonly name: string; readonly version: string };
  readonly backend: string;
  readonly createdAt: string;
  /** NEWS2 at the same hour (set on decompensation predictions only). */
  readonly news2?: number;
}

/**
 * One published prediction from one task's output.
 *
 * @example A binary task
 * ```ts
 * import { toStayPrediction } from "./prediction.ts";
 * const p = toStayPrediction({
 *   task: { code: "dec", id: 1, kind: "binary", outputs: 1, labels: [], activation: "sigmoid" },
 *   probs: new Float32Array([0.25]), logits: new Float32Array(1),
 *   alpha: new Float32Array([1, 0, 0, 0, 0, 0, 0]), gates: new Float32Array(0),
 *   representation: new Float32Array(0),
 * }, {
 *   stayId: "s1", seq: 1, hours: 3, modalities: { timeseries: true, image: false, note: false },
 *   combinations: ["tin", "ti", "tn", "in", "t", "i", "n"], model: { name: "m", version: "1" },
 *   backend: "wasm", createdAt: "2024-01-01T00:00:00.000Z", news2: 2,
 * });
 * if (p.probability !== 0.25 || p.news2 !== 2 || p.fusionWeights.tin !== 1) throw new Error();
 * ```
 */
export function toStayPrediction(output: TaskOutput, context: PredictionContext): StayPrediction {
  const task = output.task;
  const fusionWeights: Record<string, number> = {};
  context.combinations.forEach((name, i) => fusionWeights[name] = output.alpha[i] ?? 0);
  const probs = Array.from(output.probs);
  const values: {
    -readonly [K in keyof StayPrediction]?: StayPrediction[K];
  } = {};
  if (task.kind === "binary") values.probability = probs[0]!;
  else if (task.kind === "multilabel") values.probabilities = probs;
  else {
    values.distribution = probs;
    if (task.code === "los" && probs.length === LOS_CLASS_MIDPOINT_DAYS.length) {
      values.expectedRemainingDays = expectedRemainingDays(probs);
    }
  }
  if (task.code === "dec" && context.news2 !== undefined) values.news2 = context.news2;
  return {
    stayId: context.stayId,
    seq: context.seq,
    task: task.code,
    hours: context.hours,
    ...values,
    modalities: context.modalities,
    fusionWeights,
    model: context.model,
    backend: context.backend,
    createdAt: context.createdAt,
  };
}
