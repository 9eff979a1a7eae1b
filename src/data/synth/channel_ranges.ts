/**
 * Valid value ranges of the 17 episode channels, from MIMIC-Extract's `variable_ranges.csv`
 * (its VALID LOW / VALID HIGH columns), under the channel names of `discretizer.json`. The
 * synthetic physiology clamps every value into these ranges; tests compare them with the CSV.
 *
 * @module
 */
import { parseCsv } from "../csv.ts";

/** A closed interval of valid values. */
export interface ValueRange {
  /** Lowest valid value. */
  readonly low: number;
  /** Highest valid value. */
  readonly high: number;
}

/** The CSV's variable name for each channel whose name differs in `discretizer.json`. */
const CSV_NAME_OF_CHANNEL: Readonly<Record<string, string>> = Object.freeze({
  "Heart Rate": "Heart rate",
});

/**
 * VALID LOW..VALID HIGH of MIMIC-Extract for the 17 channels (GCS channels as component
 * scores, capillary refill as 0/1).
 */
export const CHANNEL_RANGES: Readonly<Record<string, ValueRange>> = Object.freeze({
  "Capillary refill rate": { low: 0, high: 1 },
  "Diastolic blood pressure": { low: 0, high: 375 },
  "Fraction inspired oxygen": { low: 0.21, high: 1 },
  "Glascow coma scale eye opening": { low: 1, high: 4 },
  "Glascow coma scale motor response": { low: 1, high: 6 },
  "Glascow coma scale total": { low: 3, high: 15 },
  "Glascow coma scale verbal response": { low: 1, high: 5 },
  "Glucose": { low: 33, high: 2000 },
  "Heart Rate": { low: 0, high: 350 },
  "Height": { low: 0, high: 240 },
  "Mean blood pressure": { low: 14, high: 330 },
  "Oxygen saturation": { low: 0, high: 100 },
  "Respiratory rate": { low: 0, high: 300 },
  "Systolic blood pressure": { low: 0, high: 375 },
  "Temperature": { low: 26, high: 45 },
  "Weight": { low: 0, high: 250 },
  "pH": { low: 6.3, high: 8.4 },
});

/**
 * Reads MIMIC-Extract's `variable_ranges.csv` text and returns the valid ranges of the given
 * channels (named as in `discretizer.json`). Throws a `RangeError` for a channel the CSV lacks.
 *
 * @example Map "Heart Rate" to the CSV's "Heart rate"
 * ```ts
 * import { channelRangesFromCsv } from "./channel_ranges.ts";
 * const csv = "LEVEL2,LEVEL1,OUTLIER LOW,VALID LOW,IMPUTE,VALID HIGH,OUTLIER HIGH\nHeart rate,,0,0,86,350,390\n";
 * const r = channelRangesFromCsv(csv, ["Heart Rate"]);
 * if (r["Heart Rate"]?.high !== 350) throw new Error();
 * ```
 */
export function channelRangesFromCsv(
  csvText: string,
  channels: readonly string[],
): Record<string, ValueRange> {
  const records = parseCsv(csvText, { source: "variable_ranges.csv" });
  const header = records[0]?.fields ?? [];
  const lowAt = header.indexOf("VALID LOW");
  const highAt = header.indexOf("VALID HIGH");
  if (lowAt < 0 || highAt < 0) {
    throw new SyntaxError("variable_ranges.csv lacks the VALID LOW and VALID HIGH columns");
  }
  const byName = new Map<string, ValueRange>();
  for (const { fields } of records.slice(1)) {
    const low = Number(fields[lowAt]), high = Number(fields[highAt]);
    if (fields[lowAt] === "" || !Number.isFinite(low) || !Number.isFinite(high)) continue;
    byName.set(fields[0]!.toLowerCase(), { low, high });
  }
  const out: Record<string, ValueRange> = {};
  for (const channel of channels) {
    const range = byName.get((CSV_NAME_OF_CHANNEL[channel] ?? channel).toLowerCase());
    if (range === undefined) {
      throw new RangeError(`variable_ranges.csv has no valid range for channel "${channel}"`);
    }
    out[channel] = range;
  }
  return out;
}
