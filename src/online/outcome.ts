/**
 * Outcomes of a stay and the training labels of its predictions. An outcome says what became
 * known: in-hospital death (and the time of death, which may be after discharge), the time the
 * stay ended (so the length of stay is known), and labels of any task a head serves. The labels
 * of each served prediction are derived exactly as the dataset builders derive them, with the
 * same functions (`src/data/extract/labels.ts`): decompensation is death within 24 h of the
 * prediction time, length of stay the remaining days bucketed into the 10 classes, in-hospital
 * mortality the death flag for the prediction at hour 48.
 *
 * @module
 */
import {
  decompensationLabel,
  decompensationTimes,
  IHM_HOURS,
  inHospitalMortality,
  LABEL_EPS,
  lengthOfStayLabel,
  lengthOfStayTimes,
  type StayTimeline,
} from "../data/extract/labels.ts";
import type { TaskKind } from "../data/tasks.ts";
import { ServiceError } from "../session/errors.ts";

/** An outcome as the API accepts it (times are hours since admission or ISO 8601). */
export interface OutcomeInput {
  readonly eventId?: string;
  /** Died during the hospital admission. */
  readonly died?: boolean;
  /** Time of death (also a death after discharge, as PhysioNet 2012's `Survival`). */
  readonly deathTime?: number | string;
  /** When the stay ended (ICU discharge; the length of stay). */
  readonly dischargeTime?: number | string;
  /**
   * Labels of tasks by code: binary `0|1`, multi-label an array of `0|1` per label, multi-class
   * the class index or name.
   */
  readonly labels?: Readonly<Record<string, number | string | readonly number[]>>;
}

/** A stay's known outcome, times in hours since admission. */
export interface Outcome {
  readonly died: boolean | null;
  readonly deathHours: number | null;
  readonly dischargeHours: number | null;
  /** Explicit labels by task: binary `[y]`, multi-label `[y per label]`, multi-class `[class]`. */
  readonly labels: Readonly<Record<string, readonly number[]>>;
}

/** What the label derivation needs of a task. */
export interface LabelTask {
  readonly code: string;
  readonly kind: TaskKind;
  readonly outputs: number;
  readonly labels: readonly string[];
}

/** An outcome with nothing known. */
export const EMPTY_OUTCOME: Outcome = Object.freeze({
  died: null,
  deathHours: null,
  dischargeHours: null,
  labels: {},
});

function invalid(field: string, detail: string): ServiceError {
  return new ServiceError(422, "invalid_outcome", detail, { field });
}

function hoursOf(value: number | string, admittedAtMs: number, field: string): number {
  let hours: number;
  if (typeof value === "number") hours = value;
  else {
    const ms = Date.parse(value);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) {
      throw invalid(field, `${field} must be hours since admission or an ISO 8601 time`);
    }
    hours = (ms - admittedAtMs) / 3_600_000;
  }
  if (!Number.isFinite(hours)) throw invalid(field, `${field} must be a finite number`);
  if (hours < -LABEL_EPS) {
    throw invalid(field, `${field} is before the stay's admission`);
  }
  return Math.max(0, hours);
}

function label(task: LabelTask, value: unknown, field: string): number[] {
  if (task.kind === "binary") {
    if (value !== 0 && value !== 1 && value !== true && value !== false) {
      throw invalid(field, `${task.code} is a binary task: its label is 0 or 1`);
    }
    return [value === 1 || value === true ? 1 : 0];
  }
  if (task.kind === "multilabel") {
    if (
      !Array.isArray(value) || value.length !== task.outputs ||
      !value.every((v) => v === 0 || v === 1)
    ) {
      throw invalid(
        field,
        `${task.code} is a multi-label task: its label is ${task.outputs} values of 0 or 1`,
      );
    }
    return value.slice();
  }
  if (typeof value === "string") {
    const i = task.labels.indexOf(value);
    if (i < 0) {
      throw invalid(field, `${task.code} has no class ${JSON.stringify(value)}`);
    }
    return [i];
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= task.outputs) {
    throw invalid(
      field,
      `${task.code} is a multi-class task: its label is a class index 0-${
        task.outputs - 1
      } or a class name`,
    );
  }
  return [value];
}

/**
 * Validates an outcome against the stay's admission and the tasks served; errors are 422
 * `invalid_outcome` naming the field.
 */
export function parseOutcome(
  input: OutcomeInput,
  admittedAtMs: number,
  tasks: ReadonlyMap<string, LabelTask>,
): Outcome {
  if (typeof input !== "object" || input === null) throw invalid("(body)", "expected an object");
  const died = input.died ?? null;
  if (died !== null && typeof died !== "boolean") throw invalid("died", "died must be a boolean");
  const deathHours = input.deathTime === undefined
    ? null
    : hoursOf(input.deathTime, admittedAtMs, "deathTime");
  const dischargeHours = input.dischargeTime === undefined
    ? null
    : hoursOf(input.dischargeTime, admittedAtMs, "dischargeTime");
  if (died === true && deathHours === null) {
    throw invalid("deathTime", "an in-hospital death needs its deathTime");
  }
  if (died === true && dischargeHours !== null && deathHours! > dischargeHours + LABEL_EPS) {
    throw invalid("deathTime", "an in-hospital death cannot come after the stay ended");
  }
  const labels: Record<string, number[]> = {};
  for (const [code, value] of Object.entries(input.labels ?? {})) {
    const task = tasks.get(code);
    if (task === undefined) {
      throw invalid(
        `labels.${code}`,
        `No served task ${JSON.stringify(code)}: served tasks are ${[...tasks.keys()].join(", ")}`,
      );
    }
    labels[code] = label(task, value, `labels.${code}`);
  }
  if (
    died === null && deathHours === null && dischargeHours === null && !Object.keys(labels).length
  ) {
    throw invalid("(body)", "an outcome needs died, deathTime, dischargeTime or labels");
  }
  return { died, deathHours, dischargeHours, labels };
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Adds a new outcome to what is known; a field already known with another value is a 409
 * `outcome_conflict` naming it.
 */
export function mergeOutcome(known: Outcome, next: Outcome): Outcome {
  const conflict = (field: string) =>
    new ServiceError(
      409,
      "outcome_conflict",
      `The stay's ${field} is already recorded with another value`,
      {
        field,
      },
    );
  const pick = <T>(a: T | null, b: T | null, field: string, eq = (x: T, y: T) => x === y) => {
    if (a !== null && b !== null && !eq(a, b)) throw conflict(field);
    return a ?? b;
  };
  const close = (x: number, y: number) => Math.abs(x - y) < 1e-6;
  const labels: Record<string, readonly number[]> = { ...known.labels };
  for (const [code, y] of Object.entries(next.labels)) {
    const had = labels[code];
    if (had !== undefined && !same(had, y)) throw conflict(`labels.${code}`);
    labels[code] = y;
  }
  const merged = {
    died: pick(known.died, next.died, "died"),
    deathHours: pick(known.deathHours, next.deathHours, "deathTime", close),
    dischargeHours: pick(known.dischargeHours, next.dischargeHours, "dischargeTime", close),
    labels,
  };
  if (merged.died === true && merged.deathHours === null) {
    throw new ServiceError(422, "invalid_outcome", "an in-hospital death needs its deathTime", {
      field: "deathTime",
    });
  }
  return merged;
}

/** The label timeline of a stay from its outcome, or null when the stay's end is not known. */
export function timelineOf(outcome: Outcome, firstEventHours: number): StayTimeline | null {
  // The stay's end: the discharge, or an in-hospital death.
  const end = outcome.dischargeHours ?? (outcome.died === true ? outcome.deathHours : null);
  if (end === null || outcome.died === null) return null;
  return {
    losHours: end,
    firstEventHours: Number.isFinite(firstEventHours) ? firstEventHours : Number.NaN,
    mortality: outcome.died ? 1 : 0,
    deathHours: outcome.deathHours ?? Number.NaN,
  };
}

/**
 * The training label of a served prediction of `task` at `hours`, or null when none is known
 * (yet) or the prediction time is not one the task's dataset would contain.
 *
 * @example Decompensation: death within 24 hours
 * ```ts
 * import { sampleLabel } from "./outcome.ts";
 * const o = { died: true, deathHours: 40, dischargeHours: 40, labels: {} };
 * const dec = { code: "dec", kind: "binary" as const, outputs: 1, labels: ["y"] };
 * if (sampleLabel(dec, 10, o, 0)?.[0] !== 0 || sampleLabel(dec, 20, o, 0)?.[0] !== 1) throw new Error();
 * ```
 */
export function sampleLabel(
  task: LabelTask,
  hours: number,
  outcome: Outcome,
  firstEventHours: number,
): readonly number[] | null {
  const explicit = outcome.labels[task.code];
  if (explicit !== undefined) return explicit;
  const timeline = timelineOf(outcome, firstEventHours);
  if (timeline === null) return null;
  const at = (times: number[]) => times.some((t) => Math.abs(t - hours) < LABEL_EPS);
  switch (task.code) {
    case "dec":
      return at(decompensationTimes(timeline)) ? [decompensationLabel(timeline, hours)] : null;
    case "los":
      return at(lengthOfStayTimes(timeline)) ? [lengthOfStayLabel(timeline, hours)] : null;
    case "ihm": {
      if (Math.abs(hours - IHM_HOURS) > LABEL_EPS) return null;
      const y = inHospitalMortality(timeline);
      return y === null ? null : [y];
    }
    default:
      return null;
  }
}

/** The outcome as stored and listed (times in hours since admission). */
export function outcomeToJson(o: Outcome): Record<string, unknown> {
  return {
    died: o.died,
    deathHours: o.deathHours,
    dischargeHours: o.dischargeHours,
    labels: o.labels,
  };
}

/** The stored form back. */
export function outcomeFromJson(j: Record<string, unknown>): Outcome {
  return {
    died: (j["died"] ?? null) as boolean | null,
    deathHours: (j["deathHours"] ?? null) as number | null,
    dischargeHours: (j["dischargeHours"] ?? null) as number | null,
    labels: (j["labels"] ?? {}) as Record<string, number[]>,
  };
}
