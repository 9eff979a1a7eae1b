/**
 * Task labels of one stay, as the reference task scripts define them (mimic3-benchmarks
 * `create_*.py`, FlexCare `mimic4extract/scripts/`), shared by the MIMIC extraction and the
 * PhysioNet 2012 import. Pure functions over a stay's timeline.
 *
 * @module
 */
import { losClass, PHENOTYPE_LABELS } from "../tasks.ts";
import { normalizeIcd } from "./resources.ts";
import type { CcsDefinitions } from "./resources.ts";

/** The reference scripts' tolerance. */
export const LABEL_EPS = 1e-6;

/** What the labels of a stay depend on. */
export interface StayTimeline {
  /** ICU length of stay in hours (NaN when unknown). */
  losHours: number;
  /** Hours of the stay's first observation (NaN when it has none). */
  firstEventHours: number;
  /** 1 when the patient died during the hospital admission. */
  mortality: 0 | 1;
  /** Hours from ICU admission to death (NaN when unknown or alive). */
  deathHours: number;
  /**
   * Hours of data available (PhysioNet 2012 records stop at 48); prediction times stay within.
   * @default {Infinity}
   */
  horizonHours?: number;
}

/** Options of the hourly tasks. */
export interface HourlyOptions {
  /**
   * No prediction before this hour (`shortest_length` of the reference).
   * @default {4}
   */
  shortestHours?: number;
  /**
   * Decompensation window in hours (`future_time_interval`).
   * @default {24}
   */
  windowHours?: number;
}

/** In-hospital mortality window. */
export const IHM_HOURS = 48;

/**
 * The in-hospital mortality label, or null when the stay is shorter than 48 hours or has no
 * observation in the window.
 *
 * @example
 * ```ts
 * import { inHospitalMortality } from "./labels.ts";
 * const stay = { losHours: 60, firstEventHours: 0.5, mortality: 1 as const, deathHours: 59 };
 * if (inHospitalMortality(stay) !== 1) throw new Error();
 * if (inHospitalMortality({ ...stay, losHours: 47 }) !== null) throw new Error();
 * ```
 */
export function inHospitalMortality(stay: StayTimeline): 0 | 1 | null {
  if (Number.isNaN(stay.losHours) || stay.losHours < IHM_HOURS - LABEL_EPS) return null;
  if (Number.isNaN(stay.firstEventHours) || stay.firstEventHours >= IHM_HOURS + LABEL_EPS) {
    return null;
  }
  return stay.mortality;
}

function hourlyTimes(end: number, stay: StayTimeline, shortest: number): number[] {
  const times: number[] = [];
  if (Number.isNaN(end) || Number.isNaN(stay.firstEventHours)) return times;
  const last = Math.min(end, stay.horizonHours ?? Infinity);
  for (let t = 0; t < last + LABEL_EPS; t += 1) {
    if (t > shortest && t > stay.firstEventHours) times.push(t);
  }
  return times;
}

/**
 * Candidate decompensation hours: every hour after `shortestHours` and after the first
 * observation, up to the end of the stay or death.
 *
 * @example
 * ```ts
 * import { decompensationTimes } from "./labels.ts";
 * const t = decompensationTimes({ losHours: 7.5, firstEventHours: 0, mortality: 0, deathHours: NaN });
 * if (t.join() !== "5,6,7") throw new Error();
 * ```
 */
export function decompensationTimes(stay: StayTimeline, options: HourlyOptions = {}): number[] {
  const lived = Number.isNaN(stay.deathHours) ? Infinity : stay.deathHours;
  return hourlyTimes(Math.min(stay.losHours, lived), stay, options.shortestHours ?? 4);
}

/**
 * The decompensation label at an hour: 1 when the patient dies (in hospital) within the next
 * `windowHours`.
 *
 * @example
 * ```ts
 * import { decompensationLabel } from "./labels.ts";
 * const stay = { losHours: 50, firstEventHours: 0, mortality: 1 as const, deathHours: 40 };
 * if (decompensationLabel(stay, 10) !== 0 || decompensationLabel(stay, 20) !== 1) throw new Error();
 * ```
 */
export function decompensationLabel(
  stay: StayTimeline,
  hour: number,
  options: HourlyOptions = {},
): 0 | 1 {
  if (stay.mortality === 0 || Number.isNaN(stay.deathHours)) return 0;
  return stay.deathHours - hour < (options.windowHours ?? 24) ? 1 : 0;
}

/**
 * Candidate length-of-stay hours: every hour after `shortestHours` and the first observation,
 * up to the end of the stay.
 *
 * @example
 * ```ts
 * import { lengthOfStayTimes } from "./labels.ts";
 * if (lengthOfStayTimes({ losHours: 6, firstEventHours: 4.5, mortality: 0, deathHours: NaN }).join() !== "5,6") throw new Error();
 * ```
 */
export function lengthOfStayTimes(stay: StayTimeline, options: HourlyOptions = {}): number[] {
  return hourlyTimes(stay.losHours, stay, options.shortestHours ?? 4);
}

/**
 * The length-of-stay class at an hour (remaining hours binned by {@linkcode losClass}).
 *
 * @example
 * ```ts
 * import { lengthOfStayLabel } from "./labels.ts";
 * if (lengthOfStayLabel({ losHours: 100, firstEventHours: 0, mortality: 0, deathHours: NaN }, 10) !== 3) throw new Error();
 * ```
 */
export function lengthOfStayLabel(stay: StayTimeline, hour: number): number {
  return losClass(Math.max(0, stay.losHours - hour));
}

/**
 * The 25 phenotype labels of an admission from its ICD codes.
 *
 * @example
 * ```ts
 * import { phenotypeLabels } from "./labels.ts";
 * import { PHENOTYPE_LABELS } from "../tasks.ts";
 * const ccs = { codeToGroup: new Map([["78552", "Shock"]]), benchmarkGroups: new Set(["Shock"]) };
 * const y = phenotypeLabels(["785.52"], ccs);
 * if (y[PHENOTYPE_LABELS.indexOf("Shock")] !== 1 || y.reduce((a, b) => a + b) !== 1) throw new Error();
 * ```
 */
export function phenotypeLabels(codes: Iterable<string>, ccs: CcsDefinitions): number[] {
  const labels = new Array<number>(PHENOTYPE_LABELS.length).fill(0);
  for (const code of codes) {
    const group = ccs.codeToGroup.get(normalizeIcd(code));
    if (group === undefined || !ccs.benchmarkGroups.has(group)) continue;
    const i = PHENOTYPE_LABELS.indexOf(group);
    if (i >= 0) labels[i] = 1;
  }
  return labels;
}

/**
 * Picks one element with a random source (the reference keeps one random hour per stay for
 * decompensation and length of stay).
 *
 * @example
 * ```ts
 * import { pickOne } from "./labels.ts";
 * if (pickOne([5, 6, 7], () => 0.99) !== 7 || pickOne([], Math.random) !== undefined) throw new Error();
 * ```
 */
export function pickOne<T>(items: readonly T[], random: () => number): T | undefined {
  if (items.length === 0) return undefined;
  return items[Math.min(items.length - 1, Math.floor(random() * items.length))];
}
