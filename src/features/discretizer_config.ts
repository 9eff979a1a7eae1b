/**
 * The discretizer configuration: the 17 channels, which are categorical, their allowed values,
 * their normal values, and the resulting 76-column header (see `features.md`).
 *
 * @module
 */
import REFERENCE from "./reference/discretizer.json" with { type: "json" };

/** A validated, frozen discretizer configuration with derived column positions. */
export interface DiscretizerConfig {
  /** Channel names in order. */
  readonly channels: readonly string[];
  /** Whether each channel (by index) is categorical. */
  readonly categorical: readonly boolean[];
  /** Allowed text values of each channel (empty for continuous channels). */
  readonly possibleValues: readonly (readonly string[])[];
  /** Normal value text of each channel, imputed before its first measurement. */
  readonly normalValues: readonly string[];
  /** First value column of each channel. */
  readonly beginColumn: readonly number[];
  /** Number of value columns of each channel (1, or the number of categories). */
  readonly width: readonly number[];
  /** Number of value columns (59 for the reference configuration). */
  readonly valueColumns: number;
  /** Total columns: value columns plus one mask column per channel (76). */
  readonly columns: number;
  /** Column names: `Channel->value` for one-hot columns, the channel name otherwise, then `mask->Channel`. */
  readonly header: readonly string[];
  /** Index of each channel by name. */
  readonly channelIndex: ReadonlyMap<string, number>;
  /** Indices of the continuous value columns (those standardized). */
  readonly continuousColumns: readonly number[];
}

/** The JSON shape of `discretizer.json`. */
export interface DiscretizerJson {
  channels: string[];
  is_categorical: Record<string, boolean>;
  possible_values: Record<string, string[]>;
  normal_values: Record<string, string>;
  feature_header?: string[];
}

/**
 * Builds a configuration from the JSON form, deriving column positions and the header and
 * checking them against `feature_header` when present.
 *
 * @example The reference configuration has 76 columns
 * ```ts
 * import { REFERENCE_CONFIG } from "./discretizer_config.ts";
 * if (REFERENCE_CONFIG.columns !== 76 || REFERENCE_CONFIG.continuousColumns.length !== 12) {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function discretizerConfigFromJson(json: DiscretizerJson): DiscretizerConfig {
  const channels = [...json.channels];
  const categorical: boolean[] = [];
  const possibleValues: string[][] = [];
  const normalValues: string[] = [];
  const beginColumn: number[] = [];
  const width: number[] = [];
  const header: string[] = [];
  const continuousColumns: number[] = [];
  let col = 0;
  for (const channel of channels) {
    const isCat = json.is_categorical[channel];
    const normal = json.normal_values[channel];
    if (isCat === undefined || normal === undefined) {
      throw new TypeError(
        `Discretizer configuration lacks settings for channel ${JSON.stringify(channel)}`,
      );
    }
    const values = isCat ? [...(json.possible_values[channel] ?? [])] : [];
    if (isCat && !values.includes(normal)) {
      throw new TypeError(
        `Normal value ${JSON.stringify(normal)} of channel ${
          JSON.stringify(channel)
        } is not an allowed value`,
      );
    }
    categorical.push(isCat);
    possibleValues.push(values);
    normalValues.push(normal);
    beginColumn.push(col);
    if (isCat) {
      for (const v of values) header.push(`${channel}->${v}`);
      width.push(values.length);
      col += values.length;
    } else {
      header.push(channel);
      continuousColumns.push(col);
      width.push(1);
      col += 1;
    }
  }
  const valueColumns = col;
  for (const channel of channels) header.push(`mask->${channel}`);
  if (json.feature_header && json.feature_header.join("\n") !== header.join("\n")) {
    throw new TypeError(
      "Discretizer configuration's feature_header does not match its channels and values",
    );
  }
  return Object.freeze({
    channels: Object.freeze(channels),
    categorical: Object.freeze(categorical),
    possibleValues: Object.freeze(possibleValues.map((v) => Object.freeze(v))),
    normalValues: Object.freeze(normalValues),
    beginColumn: Object.freeze(beginColumn),
    width: Object.freeze(width),
    valueColumns,
    columns: valueColumns + channels.length,
    header: Object.freeze(header),
    channelIndex: new Map(channels.map((c, i) => [c, i])),
    continuousColumns: Object.freeze(continuousColumns),
  });
}

/** The reference FlexCare / mimic3-benchmarks configuration (17 channels, 76 columns). */
export const REFERENCE_CONFIG: DiscretizerConfig = discretizerConfigFromJson(
  REFERENCE as DiscretizerJson,
);
