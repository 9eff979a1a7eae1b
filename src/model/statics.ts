/**
 * Stay statics beside the patient representation: the ICU unit, age and sex of a stay, encoded
 * as a few numbers appended to s_p, and linear heads over `[s_p || statics]` that a model
 * directory may carry (`manifest.statics`), fitted on a frozen backbone by
 * `deno task fit-statics`. The backbone stays as in the paper; only the heads see the statics.
 *
 * Encoding (width `units + 5`): one-hot of the unit among `spec.units`, then "unit unknown";
 * `(age - ageCenter) / ageScale` and "age unknown"; "female" and "sex unknown". Unknown values
 * (absent, or a unit the spec does not list) set their indicator and leave the rest 0; the heads
 * are fitted with statics hidden at random so that a stay admitted without them still gets a
 * calibrated prediction.
 *
 * @module
 */

/** What a stay may say about itself at admission (all optional). */
export interface StayStatics {
  /** First care unit, MIMIC's codes (`CCU`, `CSRU`, `MICU`, `SICU`, `TSICU`, ...). */
  readonly unit?: string;
  /** Age in years at ICU admission. */
  readonly age?: number;
  readonly sex?: "F" | "M";
}

/** How statics are encoded. */
export interface StaticsSpec {
  readonly units: readonly string[];
  readonly ageCenter: number;
  readonly ageScale: number;
}

/** A head over `[s_p || statics]`, row-major `[outputs, 2d + statics width]`. */
export interface StaticsHead {
  readonly weights: readonly number[];
  readonly bias: readonly number[];
}

/** `manifest.statics`. */
export interface ModelStatics {
  readonly spec: StaticsSpec;
  /** Task code to head; tasks not listed keep the graph's head (the statics do not change them). */
  readonly heads: Readonly<Record<string, StaticsHead>>;
  /** How they were fitted (data, command, metrics). */
  readonly fitted?: Readonly<Record<string, unknown>>;
}

/** Width of the statics encoding. */
export function staticsWidth(spec: StaticsSpec): number {
  return spec.units.length + 5;
}

/**
 * Encodes a stay's statics.
 *
 * @example A 75-year-old woman in the medical ICU, and a stay with nothing known
 * ```ts
 * import { encodeStatics } from "./statics.ts";
 * const spec = { units: ["CCU", "MICU"], ageCenter: 65, ageScale: 10 };
 * const a = encodeStatics(spec, { unit: "MICU", age: 75, sex: "F" });
 * if (a.join() !== "0,1,0,1,0,1,0") throw new Error(a.join());
 * if (encodeStatics(spec, undefined).join() !== "0,0,1,0,1,0,1") throw new Error();
 * ```
 */
export function encodeStatics(spec: StaticsSpec, statics: StayStatics | undefined): Float32Array {
  const u = spec.units.length;
  const out = new Float32Array(u + 5);
  const unit = statics?.unit === undefined ? -1 : spec.units.indexOf(statics.unit);
  if (unit >= 0) out[unit] = 1;
  else out[u] = 1;
  if (statics?.age !== undefined && Number.isFinite(statics.age)) {
    out[u + 1] = (statics.age - spec.ageCenter) / spec.ageScale;
  } else out[u + 2] = 1;
  if (statics?.sex === "F") out[u + 3] = 1;
  else if (statics?.sex !== "M") out[u + 4] = 1;
  return out;
}

/** The problem with a manifest's `statics` for the model, or `null` when valid (absent is). */
export function staticsProblem(
  value: unknown,
  tasks: readonly { code: string; outputs: number }[],
  representationWidth: number,
): string | null {
  if (value === undefined) return null;
  const s = value as ModelStatics;
  if (typeof s !== "object" || s === null || typeof s.spec !== "object" || s.spec === null) {
    return "statics.spec is missing";
  }
  const { units, ageCenter, ageScale } = s.spec;
  if (!Array.isArray(units) || !units.every((x) => typeof x === "string" && x !== "")) {
    return "statics.spec.units must be a list of unit codes";
  }
  if (!Number.isFinite(ageCenter) || !(ageScale > 0)) {
    return "statics.spec needs a finite ageCenter and a positive ageScale";
  }
  if (typeof s.heads !== "object" || s.heads === null) return "statics.heads must be an object";
  const width = representationWidth + staticsWidth(s.spec);
  for (const [code, head] of Object.entries(s.heads)) {
    const task = tasks.find((t) => t.code === code);
    if (task === undefined) return `statics names task ${JSON.stringify(code)}, not a task`;
    if (
      !Array.isArray(head?.weights) || head.weights.length !== task.outputs * width ||
      !Array.isArray(head.bias) || head.bias.length !== task.outputs ||
      ![...head.weights, ...head.bias].every(Number.isFinite)
    ) {
      return `statics.heads.${code} must hold ${task.outputs} x ${width} finite weights and ${task.outputs} biases`;
    }
  }
  return null;
}
