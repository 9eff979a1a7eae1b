/**
 * Shadow evaluation of a candidate head against the incumbent, and the plan's acceptance
 * rule: on samples labelled after the candidate was trained (prequential, never trained on),
 * the paired difference of the plan's metric (candidate minus incumbent) with a bootstrap over
 * stays (a stay's hourly samples are resampled together, since they are not independent); the
 * candidate passes when the lower bound at the plan's confidence is above 0, its calibration
 * error is within bounds, and on the locked reference set it is not worse than the base head
 * beyond the plan's limit.
 *
 * @module
 */
import type { TaskKind } from "../data/tasks.ts";
import { argmax, taskMetrics } from "../finetune/task_metrics.ts";
import { auroc } from "../eval/auroc.ts";
import { auprc } from "../eval/precision_recall.ts";
import { f1Score } from "../eval/f1.ts";
import { expectedCalibrationError } from "../eval/calibration.ts";
import { seededRandom } from "../eval/prng.ts";
import type { HeadPlan } from "./plan.ts";

/** A labelled sample scored by two heads. */
export interface PairedSample {
  readonly stayId: string;
  readonly label: readonly number[];
  readonly a: readonly number[];
  readonly b: readonly number[];
}

/** The plan metric on some samples (higher is better; `log_loss` is negated). */
export function planMetric(
  kind: TaskKind,
  metric: string,
  labels: readonly (readonly number[])[],
  probs: readonly (readonly number[])[],
): number {
  if (metric === "log_loss") {
    let sum = 0, n = 0;
    for (let r = 0; r < labels.length; r++) {
      const y = labels[r]!, p = probs[r]!;
      if (kind === "multiclass") {
        sum += -Math.log(Math.max(p[y[0]!]!, 1e-12));
        n++;
      } else {
        for (let o = 0; o < y.length; o++) {
          if (y[o] !== 0 && y[o] !== 1) continue;
          const q = Math.min(Math.max(p[o]!, 1e-12), 1 - 1e-12);
          sum += -(y[o]! * Math.log(q) + (1 - y[o]!) * Math.log(1 - q));
          n++;
        }
      }
    }
    return n === 0 ? NaN : -sum / n;
  }
  const value = taskMetrics(kind, labels, probs.map((p) => Float64Array.from(p)))[metric];
  if (value === undefined) throw new RangeError(`Unknown metric ${metric} for a ${kind} task`);
  return value;
}

/** Calibration error of binary probabilities (NaN for other kinds). */
export function calibrationError(
  kind: TaskKind,
  labels: readonly (readonly number[])[],
  probs: readonly (readonly number[])[],
): number {
  if (kind !== "binary" || labels.length === 0) return NaN;
  return expectedCalibrationError(labels.map((y) => y[0]!), probs.map((p) => p[0]!));
}

/** A paired bootstrap result. */
export interface PairedDifference {
  /** Metric of `a` and of `b` on all samples, and `a - b`. */
  readonly a: number;
  readonly b: number;
  readonly difference: number;
  /** Bootstrap percentile interval of `a - b` at the confidence (one-sided lower bound). */
  readonly lower: number;
  readonly upper: number;
  readonly samples: number;
  readonly stays: number;
  /** Resamples where the metric was defined in both (e.g. both classes drawn). */
  readonly resamples: number;
}

/**
 * Paired bootstrap over stays of `metric(a) - metric(b)`.
 *
 * @example A better head gets a positive lower bound
 * ```ts
 * import { pairedBootstrap } from "./shadow.ts";
 * const rows = Array.from({ length: 200 }, (_, i) => {
 *   const y = i % 2;
 *   return { stayId: `s${i}`, label: [y], a: [y ? 0.8 : 0.2], b: [(i * 7919) % 100 / 100] };
 * });
 * const d = pairedBootstrap(rows, "binary", "auroc", { resamples: 200, confidence: 0.95 });
 * if (!(d.lower > 0.2)) throw new Error(JSON.stringify(d));
 * ```
 */
export function pairedBootstrap(
  rows: readonly PairedSample[],
  kind: TaskKind,
  metric: string,
  options: { resamples: number; confidence: number; seed?: number; afterResample?: () => void },
): PairedDifference {
  const labels = rows.map((r) => r.label);
  const a = planMetric(kind, metric, labels, rows.map((r) => r.a));
  const b = planMetric(kind, metric, labels, rows.map((r) => r.b));
  const byStay = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const list = byStay.get(r.stayId);
    if (list === undefined) byStay.set(r.stayId, [i]);
    else list.push(i);
  });
  const stays = [...byStay.values()];
  const rand = seededRandom(options.seed ?? 0);
  const diffs: number[] = [];
  const fastA = flatScorer(kind, metric, rows, (r) => r.a);
  const fastB = flatScorer(kind, metric, rows, (r) => r.b);
  for (let k = 0; k < options.resamples && stays.length > 0; k++) {
    options.afterResample?.();
    const idx: number[] = [];
    for (let s = 0; s < stays.length; s++) {
      for (const i of stays[Math.floor(rand() * stays.length)]!) idx.push(i);
    }
    let da: number, db: number;
    if (fastA !== null && fastB !== null) {
      da = fastA(idx);
      db = fastB(idx);
    } else {
      const y = idx.map((i) => labels[i]!);
      da = planMetric(kind, metric, y, idx.map((i) => rows[i]!.a));
      db = planMetric(kind, metric, y, idx.map((i) => rows[i]!.b));
    }
    if (Number.isFinite(da) && Number.isFinite(db)) diffs.push(da - db);
  }
  diffs.sort((x, y) => x - y);
  const q = (p: number) =>
    diffs.length === 0
      ? NaN
      : diffs[Math.min(diffs.length - 1, Math.max(0, Math.floor(p * diffs.length)))]!;
  return {
    a,
    b,
    difference: a - b,
    lower: q(1 - options.confidence),
    upper: q(options.confidence),
    samples: rows.length,
    stays: stays.length,
    resamples: diffs.length,
  };
}

/**
 * The metric of a resample by row indices, on arrays extracted once (binary AUROC/AUPRC,
 * multi-class F1): the same functions `taskMetrics` calls, without per-row copies. Null for
 * other metrics.
 */
function flatScorer(
  kind: TaskKind,
  metric: string,
  rows: readonly PairedSample[],
  pick: (r: PairedSample) => readonly number[],
): ((idx: readonly number[]) => number) | null {
  const gather = (from: Float64Array, idx: readonly number[]) => {
    const out = new Float64Array(idx.length);
    for (let j = 0; j < idx.length; j++) out[j] = from[idx[j]!]!;
    return out;
  };
  const y = Float64Array.from(rows, (r) => r.label[0]!);
  if (kind === "binary" && (metric === "auroc" || metric === "auprc")) {
    const score = Float64Array.from(rows, (r) => pick(r)[0]!);
    const f = metric === "auroc" ? auroc : auprc;
    return (idx) => f(gather(y, idx), gather(score, idx));
  }
  if (kind === "multiclass" && (metric === "macro_f1" || metric === "micro_f1")) {
    const predicted = Float64Array.from(rows, (r) => argmax(pick(r)));
    const average = metric === "macro_f1" ? "macro" : "micro";
    return (idx) => f1Score(gather(y, idx), gather(predicted, idx), { average });
  }
  return null;
}

/** What a candidate's shadow evaluation found, and the decision of the plan. */
export interface ShadowEvidence {
  readonly metric: string;
  readonly comparison: PairedDifference;
  readonly calibration: { readonly candidate: number; readonly incumbent: number };
  readonly reference: {
    readonly candidate: number;
    readonly base: number;
    readonly samples: number;
  };
  /** Every rule of the plan and whether it held. */
  readonly rules: readonly {
    readonly rule: string;
    readonly passed: boolean;
    readonly detail: string;
  }[];
  /** Enough shadow samples and stays to decide. */
  readonly ready: boolean;
  /** Every rule held. */
  readonly passed: boolean;
}

/** Scores a candidate against the incumbent on its shadow samples and the reference set. */
export function evaluateCandidate(
  kind: TaskKind,
  plan: HeadPlan,
  shadow: readonly PairedSample[],
  reference: readonly PairedSample[],
  seed = 0,
  afterResample?: () => void,
): ShadowEvidence {
  const comparison = pairedBootstrap(shadow, kind, plan.metric, {
    resamples: plan.resamples,
    confidence: plan.confidence,
    seed,
    ...(afterResample === undefined ? {} : { afterResample }),
  });
  const labels = shadow.map((r) => r.label);
  const calibration = {
    candidate: calibrationError(kind, labels, shadow.map((r) => r.a)),
    incumbent: calibrationError(kind, labels, shadow.map((r) => r.b)),
  };
  const refLabels = reference.map((r) => r.label);
  const refCand = reference.length
    ? planMetric(kind, plan.metric, refLabels, reference.map((r) => r.a))
    : NaN;
  const refBase = reference.length
    ? planMetric(kind, plan.metric, refLabels, reference.map((r) => r.b))
    : NaN;
  const positiveStays = kind === "binary"
    ? new Set(shadow.filter((r) => r.label[0] === 1).map((r) => r.stayId)).size
    : null;
  const ready = comparison.samples >= plan.minEvaluationSamples &&
    comparison.stays >= plan.minEvaluationStays &&
    (positiveStays === null || positiveStays >= plan.minPositiveStays);
  const f = (v: number) => Number.isFinite(v) ? v.toFixed(4) : String(v);
  const rules = [
    {
      rule: "enough shadow samples",
      passed: ready,
      detail:
        `${comparison.samples} samples (>= ${plan.minEvaluationSamples}) from ${comparison.stays} stays (>= ${plan.minEvaluationStays})${
          positiveStays === null
            ? ""
            : `, ${positiveStays} with a positive label (>= ${plan.minPositiveStays})`
        }`,
    },
    {
      rule: "better than the incumbent",
      passed: Number.isFinite(comparison.lower) && comparison.lower > 0,
      detail: `${plan.metric} ${f(comparison.a)} vs ${f(comparison.b)}: difference ${
        f(comparison.difference)
      }, ${plan.confidence} lower bound ${f(comparison.lower)} (> 0)`,
    },
  ];
  if (kind === "binary") {
    rules.push({
      rule: "calibration",
      passed: Number.isFinite(calibration.candidate) &&
        calibration.candidate <= plan.maxCalibrationError &&
        calibration.candidate <= calibration.incumbent + plan.maxCalibrationIncrease,
      detail: `ECE ${f(calibration.candidate)} (incumbent ${
        f(calibration.incumbent)
      }; at most ${plan.maxCalibrationError} and incumbent + ${plan.maxCalibrationIncrease})`,
    });
  }
  rules.push({
    rule: "reference set",
    passed: reference.length === 0 || !Number.isFinite(refBase) ||
      (Number.isFinite(refCand) && refCand >= refBase - plan.maxReferenceDrop),
    detail: reference.length === 0
      ? "no reference samples yet"
      : `${plan.metric} ${f(refCand)} vs base ${
        f(refBase)
      } on ${reference.length} locked samples (drop at most ${plan.maxReferenceDrop})`,
  });
  return {
    metric: plan.metric,
    comparison,
    calibration,
    reference: { candidate: refCand, base: refBase, samples: reference.length },
    rules,
    ready,
    passed: rules.every((r) => r.passed),
  };
}

/**
 * Input drift: the mean over s_p dimensions of |mean(window) - mean(reference)| / sd(reference).
 */
export function inputShift(
  reference: readonly ArrayLike<number>[],
  window: readonly ArrayLike<number>[],
): number {
  if (reference.length < 2 || window.length === 0) return NaN;
  const width = reference[0]!.length;
  let total = 0;
  for (let i = 0; i < width; i++) {
    let m = 0, v = 0, w = 0;
    for (const r of reference) m += r[i]!;
    m /= reference.length;
    for (const r of reference) v += (r[i]! - m) ** 2;
    const sd = Math.sqrt(v / reference.length);
    for (const r of window) w += r[i]!;
    w /= window.length;
    total += sd > 1e-6 ? Math.abs(w - m) / sd : 0;
  }
  return total / width;
}
