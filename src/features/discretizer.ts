/**
 * The batch discretizer: an episode's observations and a prediction time to the hourly
 * 76-column matrix, exactly as the reference FlexCare / mimic3-benchmarks discretizer (1-hour
 * step, start time zero, "previous" imputation, masks stored). See `features.md`.
 *
 * @module
 */
import { type DiscretizerConfig, REFERENCE_CONFIG } from "./discretizer_config.ts";
import { FeatureInputError } from "./errors.ts";
import type { FeatureMatrix } from "./matrix.ts";
import {
  binOf,
  encodeObservation,
  EPS,
  normalCodes,
  type Observation,
  rowCount,
  writeValue,
} from "./observation.ts";

/** Options for {@linkcode discretize}. */
export interface DiscretizeOptions {
  /**
   * The discretizer configuration.
   * @default {REFERENCE_CONFIG}
   */
  config?: DiscretizerConfig;
}

/**
 * Discretizes observations (in charting order: ascending time, ties in file order) for a
 * prediction at `end` hours. Observations after `end` are ignored; within one bin the last
 * observation of a channel wins; unmeasured bins carry the previous value forward, or the
 * normal value before the first measurement.
 *
 * @example One heart rate at hour 0.5, prediction at hour 2
 * ```ts
 * import { discretize } from "./discretizer.ts";
 * const m = discretize([{ hours: 0.5, channel: "Heart Rate", value: 100 }], 2);
 * // 2 rows; the heart-rate column (index 50) is 100 in both, measured (mask 1) only in row 0.
 * if (m.rows !== 2 || m.data[50] !== 100 || m.data[76 + 50] !== 100) throw new Error();
 * ```
 */
export function discretize(
  observations: Iterable<Observation>,
  end: number,
  options: DiscretizeOptions = {},
): FeatureMatrix {
  const config = options.config ?? REFERENCE_CONFIG;
  if (!Number.isFinite(end) || end <= -1 + EPS) {
    throw new RangeError(`Prediction time ${end} is not a finite number of hours after admission`);
  }
  const nChannels = config.channels.length;
  const columns = config.columns;
  const rows = rowCount(end);
  // Per bin and channel: the winning code, NaN when not measured.
  const measured = new Float64Array(rows * nChannels).fill(Number.NaN);
  for (const obs of observations) {
    const encoded = encodeObservation(config, obs);
    if (encoded.hours > end + EPS) continue;
    const bin = binOf(encoded.hours);
    if (bin < 0 || bin >= rows) {
      throw new FeatureInputError("time_out_of_range", {
        channel: obs.channel,
        value: obs.value,
        hour: obs.hours,
        message: `Time ${obs.hours} of channel ${
          JSON.stringify(obs.channel)
        } falls outside the ${rows} bins of a prediction at hour ${end}`,
      });
    }
    measured[bin * nChannels + encoded.channel] = encoded.code;
  }
  const data = new Float64Array(rows * columns);
  const current = normalCodes(config);
  for (let b = 0; b < rows; b++) {
    const offset = b * columns;
    for (let c = 0; c < nChannels; c++) {
      const code = measured[b * nChannels + c]!;
      if (!Number.isNaN(code)) {
        current[c] = code;
        data[offset + config.valueColumns + c] = 1;
      }
      writeValue(config, data, offset, c, current[c]!);
    }
  }
  return { rows, columns, data };
}
