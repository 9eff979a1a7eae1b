/**
 * Unit cleaning of raw charted values into the 17 channels of the discretizer, following
 * mimic3-benchmarks `preprocessing.py` (`clean_events`), and the outlier rule of
 * `variable_ranges.csv`. Every value either comes back as a channel value or with the reason it
 * was refused, so callers can count it.
 *
 * Differences from the reference, on purpose:
 * - FiO2: a value is a percentage (divided by 100) when it is above 1 and its unit is not torr
 *   (the reference's "correct way" comment; its Python 3 code divides every non-torr value).
 * - Temperature: Fahrenheit when the unit reads F (`?F`, `Deg. F`, `°F`), the item label names
 *   F/Fahrenheit, or the value is at least 79 (the reference lower-cases the unit before looking
 *   for an upper-case "F", so only the label and the value rule fire there).
 * - Glasgow coma scale: text is matched to the discretizer's categories (case-insensitively);
 *   a bare score (`4`, `4.0`) maps to the numbered category (`4 Spontaneously`); totals become
 *   the integer text `3`..`15`.
 * - Continuous values that are not numbers are refused (the reference would crash later).
 *
 * @module
 */
import { REFERENCE_CONFIG } from "../../features/discretizer_config.ts";

/** A raw value as charted, with the context unit cleaning needs. */
export interface RawValue {
  /** The `VALUE` text. */
  value: string;
  /** The `VALUEUOM` text ("" when absent). */
  unit?: string;
  /** The item's label (`MIMIC LABEL` of the item map), e.g. `Temperature F`. */
  label?: string;
}

/** Why a value was refused. */
export type RejectReason =
  | "empty"
  | "not_numeric"
  | "unknown_category"
  | "outlier_low"
  | "outlier_high";

/** What cleaning did to an accepted value. */
export type CleanAction =
  | "fahrenheit_to_celsius"
  | "pounds_to_kg"
  | "ounces_to_kg"
  | "inches_to_cm"
  | "percent_to_fraction"
  | "fraction_to_percent"
  | "split_blood_pressure"
  | "text_to_category"
  | "score_to_category"
  | "clipped_low"
  | "clipped_high";

/** The outcome of cleaning one value. */
export type CleanResult =
  | { ok: true; value: string | number; actions: CleanAction[] }
  | { ok: false; reason: RejectReason };

/** Outlier and valid bounds of one variable (a row of `variable_ranges.csv`). */
export interface VariableRange {
  /** Below this the value is an outlier and removed. */
  outlierLow: number;
  /** Below this (and not an outlier) the value is clipped up to it. */
  validLow: number;
  /** Above this (and not an outlier) the value is clipped down to it. */
  validHigh: number;
  /** Above this the value is an outlier and removed. */
  outlierHigh: number;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BP_PAIR = /^(\d+)\/(\d+)$/;

/** Numbered GCS categories by score, for values charted as bare numbers. */
const GCS_BY_SCORE: Record<string, Record<number, string>> = {
  "Glascow coma scale eye opening": {
    1: "1 No Response",
    2: "2 To pain",
    3: "3 To speech",
    4: "4 Spontaneously",
  },
  "Glascow coma scale motor response": {
    1: "1 No Response",
    2: "2 Abnorm extensn",
    3: "3 Abnorm flexion",
    4: "4 Flex-withdraws",
    5: "5 Localizes Pain",
    6: "6 Obeys Commands",
  },
  "Glascow coma scale verbal response": {
    1: "1 No Response",
    2: "2 Incomp sounds",
    3: "3 Inapprop words",
    4: "4 Confused",
    5: "5 Oriented",
  },
};

function parseNumber(text: string): number | null {
  const t = text.trim();
  return NUMBER.test(t) ? Number(t) : null;
}

/**
 * Maps a Glasgow coma scale text or score to the discretizer's category text, or null.
 *
 * @example Text and scores
 * ```ts
 * import { gcsCategory } from "./clean.ts";
 * if (gcsCategory("Glascow coma scale eye opening", "spontaneously") !== "Spontaneously") throw new Error();
 * if (gcsCategory("Glascow coma scale motor response", "6") !== "6 Obeys Commands") throw new Error();
 * if (gcsCategory("Glascow coma scale total", "15.0") !== "15") throw new Error();
 * if (gcsCategory("Glascow coma scale total", "2") !== null) throw new Error();
 * ```
 */
export function gcsCategory(channel: string, text: string): string | null {
  const index = REFERENCE_CONFIG.channelIndex.get(channel);
  if (index === undefined || !REFERENCE_CONFIG.categorical[index]) return null;
  const allowed = REFERENCE_CONFIG.possibleValues[index]!;
  const t = text.trim();
  if (allowed.includes(t)) return t;
  const lower = t.toLowerCase().replace(/\s+/g, " ");
  const match = allowed.find((a) => a.toLowerCase() === lower);
  if (match !== undefined) return match;
  const n = parseNumber(t);
  if (n === null || !Number.isInteger(n)) return null;
  if (channel === "Glascow coma scale total") {
    return allowed.includes(String(n)) ? String(n) : null;
  }
  return GCS_BY_SCORE[channel]?.[n] ?? null;
}

function isFahrenheit(raw: RawValue, v: number): boolean {
  const unit = (raw.unit ?? "").trim().toUpperCase();
  if (/(^|[?°\s.])F$/.test(unit) || unit === "DEG F" || unit.includes("FAHRENHEIT")) return true;
  const label = raw.label ?? "";
  if (/\bF\b|\[F\]|Fahrenheit/.test(label)) return true;
  return v >= 79;
}

/**
 * Cleans one raw value for a channel (unit conversion, text mapping); does not apply the
 * outlier ranges (see {@linkcode applyRange}).
 *
 * @example Fahrenheit, pounds and capillary refill
 * ```ts
 * import { cleanValue } from "./clean.ts";
 * const t = cleanValue("Temperature", { value: "98.6", unit: "?F" });
 * if (!t.ok || Math.abs(Number(t.value) - 37) > 1e-9) throw new Error();
 * const w = cleanValue("Weight", { value: "200", label: "Present Weight  (lb)" });
 * if (!w.ok || Math.abs(Number(w.value) - 90.7184) > 1e-9) throw new Error();
 * const c = cleanValue("Capillary refill rate", { value: "Brisk" });
 * if (!c.ok || c.value !== "0.0") throw new Error();
 * ```
 */
export function cleanValue(channel: string, raw: RawValue): CleanResult {
  const text = raw.value.trim();
  if (text === "") return { ok: false, reason: "empty" };
  const index = REFERENCE_CONFIG.channelIndex.get(channel);
  if (index === undefined) throw new RangeError(`Unknown channel ${JSON.stringify(channel)}`);
  if (channel === "Capillary refill rate") {
    if (text === "Normal <3 secs" || text === "Brisk") {
      return { ok: true, value: "0.0", actions: ["text_to_category"] };
    }
    if (text === "Abnormal >3 secs" || text === "Delayed") {
      return { ok: true, value: "1.0", actions: ["text_to_category"] };
    }
    const n = parseNumber(text);
    if (n === 0 || n === 1) return { ok: true, value: n === 0 ? "0.0" : "1.0", actions: [] };
    return { ok: false, reason: "unknown_category" };
  }
  if (REFERENCE_CONFIG.categorical[index]) {
    const category = gcsCategory(channel, text);
    if (category === null) return { ok: false, reason: "unknown_category" };
    const actions: CleanAction[] = category === text
      ? []
      : [parseNumber(text) !== null ? "score_to_category" : "text_to_category"];
    return { ok: true, value: category, actions };
  }
  const actions: CleanAction[] = [];
  let v: number | null;
  const pair = BP_PAIR.exec(text);
  if (
    pair !== null &&
    (channel === "Systolic blood pressure" || channel === "Diastolic blood pressure")
  ) {
    v = Number(channel === "Systolic blood pressure" ? pair[1] : pair[2]);
    actions.push("split_blood_pressure");
  } else {
    v = parseNumber(text);
  }
  if (v === null || !Number.isFinite(v)) return { ok: false, reason: "not_numeric" };
  const unit = () => (raw.unit ?? "").toLowerCase();
  const label = () => (raw.label ?? "").toLowerCase();
  switch (channel) {
    case "Temperature":
      if (isFahrenheit(raw, v)) {
        v = (v - 32) * 5 / 9;
        actions.push("fahrenheit_to_celsius");
      }
      break;
    case "Weight": {
      const oz = unit().includes("oz") || label().includes("oz");
      if (oz) {
        v = v / 16 * 0.453592;
        actions.push("ounces_to_kg");
      } else if (unit().includes("lb") || label().includes("lb")) {
        v = v * 0.453592;
        actions.push("pounds_to_kg");
      }
      break;
    }
    case "Height":
      if (unit().includes("in") || label().includes("in")) {
        v = Math.round(v * 2.54);
        actions.push("inches_to_cm");
      }
      break;
    case "Fraction inspired oxygen":
      if (v > 1 && !unit().includes("torr")) {
        v = v / 100;
        actions.push("percent_to_fraction");
      }
      break;
    case "Oxygen saturation":
      if (v <= 1) {
        v = v * 100;
        actions.push("fraction_to_percent");
      }
      break;
  }
  return { ok: true, value: v, actions };
}

/**
 * Applies a variable's ranges: outliers are refused, values between the valid and outlier
 * bounds are clipped to the valid bound (mimic3-benchmarks `remove_outliers_for_variable`).
 *
 * @example Clip and refuse
 * ```ts
 * import { applyRange } from "./clean.ts";
 * const range = { outlierLow: 0, validLow: 0, validHigh: 100, outlierHigh: 150 };
 * const a = applyRange(120, range), b = applyRange(151, range);
 * if (!a.ok || a.value !== 100 || b.ok) throw new Error();
 * ```
 */
export function applyRange(value: number, range: VariableRange): CleanResult {
  if (value < range.outlierLow) return { ok: false, reason: "outlier_low" };
  if (value > range.outlierHigh) return { ok: false, reason: "outlier_high" };
  if (value < range.validLow) return { ok: true, value: range.validLow, actions: ["clipped_low"] };
  if (value > range.validHigh) {
    return { ok: true, value: range.validHigh, actions: ["clipped_high"] };
  }
  return { ok: true, value, actions: [] };
}

/**
 * Cleans a value and, for continuous channels with a range, applies it; the channel value is
 * rounded to 6 significant decimals so episode files stay readable.
 *
 * @example Out of range temperature
 * ```ts
 * import { cleanAndCheck } from "./clean.ts";
 * const ranges = new Map([["temperature", { outlierLow: 14.2, validLow: 26, validHigh: 45, outlierHigh: 47 }]]);
 * const r = cleanAndCheck("Temperature", { value: "3" }, ranges);
 * if (r.ok || r.reason !== "outlier_low") throw new Error();
 * ```
 */
export function cleanAndCheck(
  channel: string,
  raw: RawValue,
  ranges: ReadonlyMap<string, VariableRange>,
): CleanResult {
  const cleaned = cleanValue(channel, raw);
  if (!cleaned.ok || typeof cleaned.value !== "number") return cleaned;
  const range = ranges.get(channel.toLowerCase());
  let result: CleanResult = cleaned;
  if (range !== undefined) {
    const ranged = applyRange(cleaned.value, range);
    if (!ranged.ok) return ranged;
    result = { ok: true, value: ranged.value, actions: [...cleaned.actions, ...ranged.actions] };
  }
  // Six decimals keep episode files readable (Math.round: toFixed is slow on hot paths).
  return { ...result, value: Math.round((result.value as number) * 1e6) / 1e6 };
}
