/**
 * Fits a model's per-task temperatures from prediction records of its uncalibrated outputs
 * (`../model/calibration.ts`) and scores other splits before and after, for
 * `deno task calibrate`.
 *
 * The records carry probabilities; the logits are recovered exactly up to float32 precision
 * (binary and multi-label: log(p / (1 - p)); multi-class: log p, which differs from the logits
 * by a constant that the softmax ignores).
 *
 * @module
 */
import { getTask, type TaskKind } from "../data/tasks.ts";
import {
  applyTemperature,
  type CalibrationData,
  type CalibrationSplitReport,
  fitTemperature,
  negativeLogLikelihood,
} from "../model/calibration.ts";
import { expectedCalibrationError } from "./calibration.ts";
import type { PredictionRecord } from "./predictions.ts";

const P_MIN = 1e-7;

/** Logits recovered from a record's probabilities. */
function recordLogits(kind: TaskKind, probs: number | readonly number[]): number[] {
  const ps = typeof probs === "number" ? [probs] : [...probs];
  if (kind === "multiclass") return ps.map((p) => Math.log(Math.max(p, 1e-30)));
  return ps.map((p) => {
    const q = Math.min(1 - P_MIN, Math.max(P_MIN, p));
    return Math.log(q / (1 - q));
  });
}

/** Groups records by task into calibration data. */
export function calibrationData(
  records: readonly PredictionRecord[],
): Map<string, CalibrationData> {
  const byTask = new Map<
    string,
    { kind: TaskKind; logits: number[][]; labels: CalibrationData["labels"][number][] }
  >();
  for (const r of records) {
    if (r.probs === undefined) throw new TypeError("calibration needs probabilities, not scores");
    const task = getTask(r.task);
    let entry = byTask.get(task.code);
    if (entry === undefined) {
      byTask.set(task.code, entry = { kind: task.kind, logits: [], labels: [] });
    }
    entry.logits.push(recordLogits(task.kind, r.probs));
    entry.labels.push(r.labels);
  }
  return new Map(
    [...byTask].map(([code, e]) => [code, { kind: e.kind, logits: e.logits, labels: e.labels }]),
  );
}

/** Labels and probabilities flattened for the ECE (multi-class: the top class's confidence). */
function eceInputs(data: CalibrationData, temperature: number): { y: number[]; p: number[] } {
  const y: number[] = [];
  const p: number[] = [];
  data.logits.forEach((z, i) => {
    const probs = applyTemperature(data.kind, z, temperature).probs;
    const label = data.labels[i]!;
    if (data.kind === "multiclass") {
      let top = 0;
      for (let k = 1; k < probs.length; k++) if (probs[k]! > probs[top]!) top = k;
      y.push(top === label ? 1 : 0);
      p.push(probs[top]!);
      return;
    }
    const ys = typeof label === "number" ? [label] : label;
    ys.forEach((v, k) => {
      if (v !== 0 && v !== 1) return;
      y.push(v);
      p.push(probs[k]!);
    });
  });
  return { y, p };
}

/**
 * NLL and ECE of `data` without a temperature and with `temperature`.
 *
 * @example Scaling that fits makes the ECE smaller
 * ```ts
 * import { scoreCalibration } from "./calibrate.ts";
 * const data = { kind: "binary" as const, logits: [[3], [3], [-3], [-3]], labels: [1, 0, 0, 1] };
 * const r = scoreCalibration(data, 20);
 * if (!(r.eceAfter < r.eceBefore && r.nllAfter < r.nllBefore)) throw new Error();
 * ```
 */
export function scoreCalibration(
  data: CalibrationData,
  temperature: number,
): CalibrationSplitReport {
  const before = eceInputs(data, 1);
  const after = eceInputs(data, temperature);
  return {
    samples: data.logits.length,
    nllBefore: negativeLogLikelihood(data, 1),
    nllAfter: negativeLogLikelihood(data, temperature),
    eceBefore: before.y.length === 0 ? Number.NaN : expectedCalibrationError(before.y, before.p),
    eceAfter: after.y.length === 0 ? Number.NaN : expectedCalibrationError(after.y, after.p),
  };
}

/** A fitted task: its temperature and the score of every split given. */
export interface FittedTask {
  readonly temperature: number;
  readonly splits: Record<string, CalibrationSplitReport>;
}

/**
 * Fits one temperature per task on `fitSplit`'s records and scores every split with it.
 * Tasks absent from the fit split are left out.
 */
export function fitCalibration(
  splits: Readonly<Record<string, readonly PredictionRecord[]>>,
  fitSplit: string,
): Map<string, FittedTask> {
  const data = Object.fromEntries(
    Object.entries(splits).map(([name, records]) => [name, calibrationData(records)]),
  );
  const fit = data[fitSplit];
  if (fit === undefined) throw new RangeError(`No records for the ${fitSplit} split`);
  const out = new Map<string, FittedTask>();
  for (const [code, d] of fit) {
    const temperature = fitTemperature(d);
    const scored: Record<string, CalibrationSplitReport> = {};
    for (const [name, byTask] of Object.entries(data)) {
      const t = byTask.get(code);
      if (t !== undefined) scored[name] = scoreCalibration(t, temperature);
    }
    out.set(code, { temperature, splits: scored });
  }
  return out;
}
