/**
 * Probability calibration that belongs to a model: one temperature per task, fitted on a
 * validation split and recorded in `manifest.json` (`calibration`), applied to the head's logits
 * before the sigmoid or softmax in every serving path (one graph, staged step, batches, built-in
 * heads read as linear heads).
 *
 * Temperature scaling (Guo et al., 2017) divides the logits by T > 0: it keeps the ranking of
 * every binary and multi-label output (AUROC, AUPRC unchanged) and the arg max of a multi-class
 * distribution, and changes only how sure the probabilities are. T is the minimiser of the
 * validation negative log-likelihood.
 *
 * @module
 */
import type { TaskKind } from "../data/tasks.ts";

/** Sigmoid (binary, multi-label) or softmax (multi-class) of logits, into a new array. */
export function activate(kind: TaskKind, logits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(logits.length);
  if (kind === "multiclass") {
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  } else {
    for (let i = 0; i < logits.length; i++) out[i] = 1 / (1 + Math.exp(-logits[i]!));
  }
  return out;
}

/** Smallest and largest temperature a manifest may record. */
export const TEMPERATURE_RANGE: readonly [number, number] = [0.05, 20];

/** What the fit measured on one split: before and after the temperature. */
export interface CalibrationSplitReport {
  /** Samples (multi-label: samples, each with every known label). */
  readonly samples: number;
  /** Mean negative log-likelihood. */
  readonly nllBefore: number;
  readonly nllAfter: number;
  /** Expected calibration error, 10 equal-width bins (multi-class: of the top class). */
  readonly eceBefore: number;
  readonly eceAfter: number;
}

/** One task's calibration in the manifest. */
export interface TaskCalibration {
  /** Logits are divided by this before the activation. */
  readonly temperature: number;
  /** The split it was fitted on (its report), and others scored after the fit. */
  readonly splits?: Readonly<Record<string, CalibrationSplitReport>>;
}

/** `manifest.calibration`. */
export interface ModelCalibration {
  readonly method: "temperature";
  /** Where and how it was fitted (data folder, split, command, time). */
  readonly fitted?: Readonly<Record<string, unknown>>;
  /** Task code to its calibration; a task not listed is served uncalibrated. */
  readonly tasks: Readonly<Record<string, TaskCalibration>>;
}

/**
 * The problem with a manifest's `calibration` for the given task codes, or `null` when it is
 * valid (absent is valid).
 */
export function calibrationProblem(value: unknown, codes: readonly string[]): string | null {
  if (value === undefined) return null;
  const c = value as ModelCalibration;
  if (typeof c !== "object" || c === null || c.method !== "temperature") {
    return `calibration.method must be "temperature"`;
  }
  if (typeof c.tasks !== "object" || c.tasks === null) return "calibration.tasks must be an object";
  for (const [code, t] of Object.entries(c.tasks)) {
    if (!codes.includes(code)) return `calibration names task ${JSON.stringify(code)}, not a task`;
    const T = t?.temperature;
    if (
      typeof T !== "number" || !Number.isFinite(T) || T < TEMPERATURE_RANGE[0] ||
      T > TEMPERATURE_RANGE[1]
    ) {
      return `calibration.tasks.${code}.temperature must be a number in [${
        TEMPERATURE_RANGE.join(", ")
      }], got ${JSON.stringify(T)}`;
    }
  }
  return null;
}

/**
 * Logits divided by `temperature` and their activation.
 *
 * @example A binary logit of 2 at T = 2 becomes sigmoid(1)
 * ```ts
 * import { applyTemperature } from "./calibration.ts";
 * const { logits, probs } = applyTemperature("binary", new Float32Array([2]), 2);
 * if (logits[0] !== 1 || Math.abs(probs[0]! - 1 / (1 + Math.exp(-1))) > 1e-7) throw new Error();
 * ```
 */
export function applyTemperature(
  kind: TaskKind,
  logits: ArrayLike<number>,
  temperature: number,
): { logits: Float32Array; probs: Float32Array } {
  const scaled = Float32Array.from(logits, (z) => z / temperature);
  return { logits: scaled, probs: activate(kind, scaled) };
}

/** Validation outputs of one task for {@linkcode fitTemperature}. */
export interface CalibrationData {
  readonly kind: TaskKind;
  /** One logit vector per sample (`outputs` values). */
  readonly logits: readonly ArrayLike<number>[];
  /** Binary: 0/1; multi-label: one 0/1/-1 (unknown, skipped) per label; multi-class: the class. */
  readonly labels: readonly (number | readonly number[])[];
}

const clampP = (p: number) => Math.min(1 - 1e-12, Math.max(1e-12, p));

/** Mean negative log-likelihood of `data` at `temperature`. */
export function negativeLogLikelihood(data: CalibrationData, temperature: number): number {
  let sum = 0;
  let n = 0;
  data.logits.forEach((z, i) => {
    const label = data.labels[i]!;
    if (data.kind === "multiclass") {
      let max = -Infinity;
      for (let k = 0; k < z.length; k++) max = Math.max(max, z[k]! / temperature);
      let s = 0;
      for (let k = 0; k < z.length; k++) s += Math.exp(z[k]! / temperature - max);
      sum += -(z[label as number]! / temperature - max - Math.log(s));
      n++;
      return;
    }
    const ys = typeof label === "number" ? [label] : label;
    ys.forEach((y, k) => {
      if (y !== 0 && y !== 1) return;
      const p = clampP(1 / (1 + Math.exp(-z[k]! / temperature)));
      sum += -(y === 1 ? Math.log(p) : Math.log(1 - p));
      n++;
    });
  });
  return n === 0 ? Number.NaN : sum / n;
}

/**
 * The temperature that minimises the validation negative log-likelihood: golden-section search
 * over log T in the manifest's range (the NLL of temperature scaling is unimodal in log T for
 * these losses in practice), to 1e-4 in log T.
 *
 * @example Over-confident logits get T > 1
 * ```ts
 * import { fitTemperature } from "./calibration.ts";
 * // Half of the samples with logit +4 are positive: the calibrated probability is 0.5.
 * const logits = [[4], [4], [-4], [-4]];
 * const T = fitTemperature({ kind: "binary", logits, labels: [1, 0, 0, 1] });
 * if (!(T > 10)) throw new Error(String(T));
 * ```
 */
export function fitTemperature(data: CalibrationData): number {
  let lo = Math.log(TEMPERATURE_RANGE[0]);
  let hi = Math.log(TEMPERATURE_RANGE[1]);
  const f = (u: number) => negativeLogLikelihood(data, Math.exp(u));
  const g = (Math.sqrt(5) - 1) / 2;
  let a = hi - g * (hi - lo);
  let b = lo + g * (hi - lo);
  let fa = f(a);
  let fb = f(b);
  while (hi - lo > 1e-4) {
    if (fa <= fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - g * (hi - lo);
      fa = f(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + g * (hi - lo);
      fb = f(b);
    }
  }
  return Math.exp((lo + hi) / 2);
}
