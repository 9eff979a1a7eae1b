/**
 * Observations (one channel's value at one time) and their validation and encoding, shared by
 * the batch discretizer and the incremental per-stay state so both refuse and encode alike.
 *
 * @module
 */
import type { DiscretizerConfig } from "./discretizer_config.ts";
import { FeatureInputError } from "./errors.ts";

/** One charted value of one channel. */
export interface Observation {
  /** Hours since ICU admission (fractional). */
  hours: number;
  /** Channel name exactly as in `discretizer.json`. */
  channel: string;
  /**
   * The value: a number for continuous channels (numeric text is accepted), the category text
   * for categorical channels (a number is accepted when it equals exactly one category).
   */
  value: string | number;
}

/** An observation resolved against a configuration. */
export interface EncodedObservation {
  /** Hours since admission. */
  readonly hours: number;
  /** Channel index. */
  readonly channel: number;
  /** The number (continuous) or the category index (categorical). */
  readonly code: number;
}

/** The tolerance of the reference discretizer (`eps = 1e-6`). */
export const EPS = 1e-6;

/**
 * Hours beyond which an observation is refused (two years): no ICU stay is that long, and it
 * bounds the memory a single bad timestamp can ask for.
 */
export const MAX_HOURS = 24 * 366 * 2;

/** The bin of a time: `trunc(t - 1e-6)`, so bin 0 is (-1, 1] and bin b >= 1 is (b, b+1]. */
export function binOf(hours: number): number {
  return Math.trunc(hours - EPS);
}

/** Number of rows of the matrix for a prediction at `end` hours: `trunc(end + 1 - 1e-6)`. */
export function rowCount(end: number): number {
  return Math.trunc(end + 1 - EPS);
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * Validates and encodes one observation. Throws {@linkcode FeatureInputError} naming the
 * channel, value and hour.
 *
 * @example Encode a categorical and a continuous value
 * ```ts
 * import { encodeObservation } from "./observation.ts";
 * import { REFERENCE_CONFIG } from "./discretizer_config.ts";
 * const gcs = encodeObservation(REFERENCE_CONFIG, { hours: 1, channel: "Glascow coma scale total", value: 15 });
 * const hr = encodeObservation(REFERENCE_CONFIG, { hours: 1, channel: "Heart Rate", value: "86" });
 * if (REFERENCE_CONFIG.possibleValues[gcs.channel]![gcs.code] !== "15" || hr.code !== 86) throw new Error();
 * ```
 */
export function encodeObservation(config: DiscretizerConfig, obs: Observation): EncodedObservation {
  const { channel: name, value, hours } = obs;
  const fail = (problem: FeatureInputError["problem"], message: string): never => {
    throw new FeatureInputError(problem, { channel: name, value, hour: hours, message });
  };
  const channel = config.channelIndex.get(name);
  if (channel === undefined) {
    return fail("unknown_channel", `Unknown channel ${JSON.stringify(name)} at hour ${hours}`);
  }
  if (
    typeof hours !== "number" || !Number.isFinite(hours) || binOf(hours) < 0 || hours > MAX_HOURS
  ) {
    return fail(
      "time_out_of_range",
      `Time ${describe(hours)} of channel ${
        JSON.stringify(name)
      } is outside the allowed range (-1, ${MAX_HOURS}] hours`,
    );
  }
  if (config.categorical[channel]) {
    const allowed = config.possibleValues[channel]!;
    let code = -1;
    if (typeof value === "string") {
      code = allowed.indexOf(value);
      if (code < 0 && DECIMAL.test(value.trim())) code = numericCategory(allowed, Number(value));
    } else if (typeof value === "number") {
      code = numericCategory(allowed, value);
    }
    if (code < 0) {
      return fail(
        "unknown_category",
        `Value ${describe(value)} of channel ${
          JSON.stringify(name)
        } at hour ${hours} is not one of its categories`,
      );
    }
    return { hours, channel, code };
  }
  let number: number;
  if (typeof value === "number") {
    number = value;
  } else if (typeof value === "string") {
    const text = value.trim();
    if (NON_FINITE.test(text)) number = Number.NaN;
    else if (DECIMAL.test(text)) number = Number(text);
    else {
      return fail(
        "not_a_number",
        `Value ${describe(value)} of channel ${
          JSON.stringify(name)
        } at hour ${hours} is not a number`,
      );
    }
  } else {
    return fail(
      "not_a_number",
      `Value ${describe(value)} of channel ${
        JSON.stringify(name)
      } at hour ${hours} is not a number`,
    );
  }
  if (!Number.isFinite(number)) {
    return fail(
      "not_finite",
      `Value ${describe(value)} of channel ${JSON.stringify(name)} at hour ${hours} is not finite`,
    );
  }
  return { hours, channel, code: number };
}

/** The single category whose text is numerically equal to `value`, or -1. */
function numericCategory(allowed: readonly string[], value: number): number {
  if (!Number.isFinite(value)) return -1;
  let found = -1;
  for (let i = 0; i < allowed.length; i++) {
    const text = allowed[i]!;
    if (DECIMAL.test(text) && Number(text) === value) {
      if (found >= 0) return -1;
      found = i;
    }
  }
  return found;
}

/**
 * Writes a channel's encoded value into a row's value columns (a one-hot block for
 * categorical channels, the number otherwise), as the reference discretizer's `write`.
 */
export function writeValue(
  config: DiscretizerConfig,
  row: Float64Array,
  offset: number,
  channel: number,
  code: number,
): void {
  const begin = offset + config.beginColumn[channel]!;
  if (config.categorical[channel]) {
    const width = config.width[channel]!;
    for (let k = 0; k < width; k++) row[begin + k] = k === code ? 1 : 0;
  } else {
    row[begin] = code;
  }
}

/** The encoded normal value of each channel (imputed before the first measurement). */
export function normalCodes(config: DiscretizerConfig): Float64Array {
  const codes = new Float64Array(config.channels.length);
  for (let c = 0; c < config.channels.length; c++) {
    const text = config.normalValues[c]!;
    codes[c] = config.categorical[c] ? config.possibleValues[c]!.indexOf(text) : Number(text);
  }
  return codes;
}
