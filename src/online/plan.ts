/**
 * The predetermined change control plan (FDA's PCCP guidance for AI-enabled device software
 * functions): what the online learner may change, triggered by what, validated how, deployed
 * when. A JSON file (`change_control.json` in the model directory, or `serve --plan FILE`),
 * validated at start with errors naming the key. The learner never promotes outside it.
 *
 * ```json
 * {
 *   "format": "flexcare-change-control", "format_version": 1,
 *   "heads": {
 *     "dec": { "update": "automatic", "metric": "auroc", "labelWindow": 20000,
 *              "retrainEvery": 2000, "minEvaluationSamples": 2000, "minEvaluationStays": 50,
 *              "minPositiveStays": 20,
 *              "confidence": 0.95, "resamples": 400,
 *              "maxCalibrationIncrease": 0.02, "maxCalibrationError": 0.1,
 *              "referenceSamples": 2000, "maxReferenceDrop": 0.01 }
 *   },
 *   "drift": { "window": 2000, "maxCalibrationError": 0.1, "maxInputShift": 0.5 }
 * }
 * ```
 *
 * `update`: `automatic` (the learner promotes a candidate that passes every rule), `approval`
 * (it waits for `POST /v1/heads/:task/promote`; the rules still apply), `locked` (no candidate
 * is trained; only a rollback). A task not listed is locked.
 *
 * @module
 */
import { METRICS_BY_KIND } from "../finetune/task_metrics.ts";
import type { TaskKind } from "../data/tasks.ts";

/** `format` of a plan file. */
export const PLAN_FORMAT = "flexcare-change-control";

/** How a head may change. */
export type UpdateMode = "automatic" | "approval" | "locked";

/** The rules of one head. */
export interface HeadPlan {
  readonly update: UpdateMode;
  /** A metric of `taskMetrics` for the task's kind (higher is better), or `log_loss`. */
  readonly metric: string;
  /** Most recent labelled samples a candidate trains on. */
  readonly labelWindow: number;
  /** A new candidate after this many new labelled samples. */
  readonly retrainEvery: number;
  /** Shadow samples (labelled after the candidate was trained) before it may be promoted. */
  readonly minEvaluationSamples: number;
  /** ... from at least this many stays. */
  readonly minEvaluationStays: number;
  /**
   * Binary tasks: ... of which at least this many stays have a positive label (a rank metric of
   * a handful of events decides nothing).
   */
  readonly minPositiveStays: number;
  /** Lower bound of the paired stay-level bootstrap of (candidate - incumbent) must be > 0. */
  readonly confidence: number;
  readonly resamples: number;
  /** Candidate ECE at most incumbent ECE plus this (binary tasks). */
  readonly maxCalibrationIncrease: number;
  /** Candidate ECE at most this (binary tasks). */
  readonly maxCalibrationError: number;
  /** The first labelled samples of the task are locked away as the reference set. */
  readonly referenceSamples: number;
  /** No drop of the metric on the reference set beyond this, against the base model. */
  readonly maxReferenceDrop: number;
}

/** The drift watch. */
export interface DriftPlan {
  /** Rolling window of labelled samples for calibration and input shift. */
  readonly window: number;
  /** Flag the incumbent's rolling ECE above this. */
  readonly maxCalibrationError: number;
  /** Flag a mean absolute standardized shift of s_p (window vs reference) above this. */
  readonly maxInputShift: number;
}

/** A validated plan. */
export interface ChangeControlPlan {
  readonly heads: Readonly<Record<string, HeadPlan>>;
  readonly drift: DriftPlan;
  /** Where it came from (a path, or `built-in`). */
  readonly source: string;
}

/** A plan that does not validate: `field` is the key path. */
export class PlanError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`Change control plan: ${field}: ${message}`);
    this.name = "PlanError";
    this.field = field;
  }
}

const HEAD_DEFAULTS: Omit<HeadPlan, "update" | "metric"> = {
  labelWindow: 20000,
  retrainEvery: 2000,
  minEvaluationSamples: 2000,
  minEvaluationStays: 50,
  minPositiveStays: 20,
  confidence: 0.95,
  resamples: 400,
  maxCalibrationIncrease: 0.02,
  maxCalibrationError: 0.1,
  referenceSamples: 2000,
  maxReferenceDrop: 0.01,
};

const DRIFT_DEFAULTS: DriftPlan = { window: 2000, maxCalibrationError: 0.1, maxInputShift: 0.5 };

/** The plan used when none is given: every head locked (the service learns nothing). */
export const LOCKED_PLAN: ChangeControlPlan = Object.freeze({
  heads: {},
  drift: DRIFT_DEFAULTS,
  source: "built-in (all heads locked)",
});

function num(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  fallback: number,
  check: (v: number) => boolean,
  expected: string,
): number {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) {
    throw new PlanError(`${path}.${key}`, `expected ${expected}, got ${JSON.stringify(v)}`);
  }
  return v;
}

const posInt = (v: number) => Number.isInteger(v) && v >= 1;
const nonNeg = (v: number) => v >= 0;

/**
 * Validates a plan document against the tasks the service predicts (code and kind).
 *
 * @example
 * ```ts
 * import { parsePlan } from "./plan.ts";
 * const plan = parsePlan({
 *   format: "flexcare-change-control", format_version: 1,
 *   heads: { dec: { update: "automatic", metric: "auroc" } },
 * }, new Map([["dec", "binary" as const]]));
 * if (plan.heads.dec!.retrainEvery !== 2000) throw new Error();
 * ```
 */
export function parsePlan(
  json: unknown,
  tasks: ReadonlyMap<string, TaskKind>,
  source = "<plan>",
): ChangeControlPlan {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new PlanError("(root)", "expected a JSON object");
  }
  const j = json as Record<string, unknown>;
  if (j["format"] !== PLAN_FORMAT) {
    throw new PlanError("format", `expected "${PLAN_FORMAT}"`);
  }
  if (j["format_version"] !== 1) throw new PlanError("format_version", "expected 1");
  const known = new Set(["format", "format_version", "heads", "drift", "description"]);
  for (const k of Object.keys(j)) if (!known.has(k)) throw new PlanError(k, "unknown key");
  const headsIn = j["heads"] ?? {};
  if (typeof headsIn !== "object" || headsIn === null || Array.isArray(headsIn)) {
    throw new PlanError("heads", "expected an object of task codes");
  }
  const heads: Record<string, HeadPlan> = {};
  const headKeys = new Set(["update", "metric", ...Object.keys(HEAD_DEFAULTS)]);
  for (const [task, value] of Object.entries(headsIn as Record<string, unknown>)) {
    const path = `heads.${task}`;
    const kind = tasks.get(task);
    if (kind === undefined) {
      throw new PlanError(
        path,
        `the service does not predict "${task}" (it predicts ${[...tasks.keys()].join(", ")})`,
      );
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new PlanError(path, "expected an object");
    }
    const h = value as Record<string, unknown>;
    for (const k of Object.keys(h)) {
      if (!headKeys.has(k)) throw new PlanError(`${path}.${k}`, "unknown key");
    }
    const update = h["update"] ?? "locked";
    if (update !== "automatic" && update !== "approval" && update !== "locked") {
      throw new PlanError(`${path}.update`, `expected automatic, approval or locked`);
    }
    const metrics = [...METRICS_BY_KIND[kind], "log_loss"];
    const metric = h["metric"] ?? METRICS_BY_KIND[kind][0];
    if (typeof metric !== "string" || !metrics.includes(metric)) {
      throw new PlanError(
        `${path}.metric`,
        `expected one of ${metrics.join(", ")} for a ${kind} task`,
      );
    }
    const d = HEAD_DEFAULTS;
    const confidence = num(
      h,
      "confidence",
      path,
      d.confidence,
      (v) => v > 0.5 && v < 1,
      "0.5 < c < 1",
    );
    heads[task] = {
      update,
      metric,
      labelWindow: num(h, "labelWindow", path, d.labelWindow, posInt, "a positive integer"),
      retrainEvery: num(h, "retrainEvery", path, d.retrainEvery, posInt, "a positive integer"),
      minEvaluationSamples: num(
        h,
        "minEvaluationSamples",
        path,
        d.minEvaluationSamples,
        posInt,
        "a positive integer",
      ),
      minEvaluationStays: num(
        h,
        "minEvaluationStays",
        path,
        d.minEvaluationStays,
        posInt,
        "a positive integer",
      ),
      minPositiveStays: num(
        h,
        "minPositiveStays",
        path,
        d.minPositiveStays,
        (v: number) => Number.isInteger(v) && v >= 0,
        "an integer >= 0",
      ),
      confidence,
      resamples: num(
        h,
        "resamples",
        path,
        d.resamples,
        (v) => posInt(v) && v >= 50,
        "an integer >= 50",
      ),
      maxCalibrationIncrease: num(
        h,
        "maxCalibrationIncrease",
        path,
        d.maxCalibrationIncrease,
        nonNeg,
        ">= 0",
      ),
      maxCalibrationError: num(
        h,
        "maxCalibrationError",
        path,
        d.maxCalibrationError,
        (v) => v > 0 && v <= 1,
        "0 < e <= 1",
      ),
      referenceSamples: num(
        h,
        "referenceSamples",
        path,
        d.referenceSamples,
        (v) => Number.isInteger(v) && v >= 0,
        "an integer >= 0",
      ),
      maxReferenceDrop: num(h, "maxReferenceDrop", path, d.maxReferenceDrop, nonNeg, ">= 0"),
    };
  }
  const driftIn = j["drift"] ?? {};
  if (typeof driftIn !== "object" || driftIn === null || Array.isArray(driftIn)) {
    throw new PlanError("drift", "expected an object");
  }
  const dr = driftIn as Record<string, unknown>;
  for (const k of Object.keys(dr)) {
    if (!(k in DRIFT_DEFAULTS)) throw new PlanError(`drift.${k}`, "unknown key");
  }
  const drift: DriftPlan = {
    window: num(dr, "window", "drift", DRIFT_DEFAULTS.window, posInt, "a positive integer"),
    maxCalibrationError: num(
      dr,
      "maxCalibrationError",
      "drift",
      DRIFT_DEFAULTS.maxCalibrationError,
      (v) => v > 0 && v <= 1,
      "0 < e <= 1",
    ),
    maxInputShift: num(
      dr,
      "maxInputShift",
      "drift",
      DRIFT_DEFAULTS.maxInputShift,
      (v) => v > 0,
      "> 0",
    ),
  };
  return { heads, drift, source };
}

/** Reads and validates a plan file; a missing or invalid file is a {@linkcode PlanError}. */
export async function readPlan(
  path: string,
  tasks: ReadonlyMap<string, TaskKind>,
): Promise<ChangeControlPlan> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new PlanError("(file)", `cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PlanError("(file)", `${path} is not JSON: ${(error as Error).message}`);
  }
  return parsePlan(json, tasks, path);
}

/** The plan as JSON (for `GET /v1/online` and the change log). */
export function planToJson(plan: ChangeControlPlan): Record<string, unknown> {
  return { source: plan.source, heads: plan.heads, drift: plan.drift };
}
