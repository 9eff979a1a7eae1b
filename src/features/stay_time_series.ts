/**
 * The incremental form of the discretizer: a per-stay object that accepts observations one at
 * a time — late and out of order too — and yields the 76-column matrix for any prediction
 * time, equal to what {@linkcode discretize} gives for the same observations in time order.
 * Rows that no new observation can change are cached, so an hourly update only recomputes
 * from the affected bin onward.
 *
 * @module
 */
import { type DiscretizerConfig, REFERENCE_CONFIG } from "./discretizer_config.ts";
import type { FeatureMatrix } from "./matrix.ts";
import {
  binOf,
  type EncodedObservation,
  encodeObservation,
  EPS,
  normalCodes,
  type Observation,
  rowCount,
  writeValue,
} from "./observation.ts";

/** Options for {@linkcode StayTimeSeries}. */
export interface StayTimeSeriesOptions {
  /**
   * The discretizer configuration.
   * @default {REFERENCE_CONFIG}
   */
  config?: DiscretizerConfig;
}

interface Entry extends EncodedObservation {
  /** Arrival order: ties in time are broken by arrival, as file order in the batch form. */
  readonly seq: number;
}

/**
 * Per-stay incremental time-series features.
 *
 * @example Late observations are folded in
 * ```ts
 * import { StayTimeSeries } from "./stay_time_series.ts";
 * const stay = new StayTimeSeries();
 * stay.add([{ hours: 2.5, channel: "Heart Rate", value: 110 }]);
 * stay.add([{ hours: 0.5, channel: "Heart Rate", value: 90 }]); // arrives late
 * const m = stay.matrix(3);
 * // Heart rate column (50): 90 in bins 0 and 1 (carried forward), 110 in bin 2.
 * if (m.data[50] !== 90 || m.data[76 + 50] !== 90 || m.data[152 + 50] !== 110) throw new Error();
 * ```
 */
export class StayTimeSeries {
  readonly #config: DiscretizerConfig;
  /** Per channel, entries sorted by (hours, seq). */
  readonly #entries: Entry[][];
  readonly #normal: Float64Array;
  #seq = 0;
  /** Cached full rows (computed without a cut-off) and the per-row channel codes. */
  #rows = new Float64Array(0);
  #codes = new Float64Array(0);
  #validBins = 0;

  constructor(options: StayTimeSeriesOptions = {}) {
    this.#config = options.config ?? REFERENCE_CONFIG;
    this.#entries = this.#config.channels.map(() => []);
    this.#normal = normalCodes(this.#config);
  }

  /** The configuration in use. */
  get config(): DiscretizerConfig {
    return this.#config;
  }

  /** Number of accepted observations. */
  get size(): number {
    return this.#seq;
  }

  /** The latest observation time, or `-Infinity` when there is none. */
  get lastHour(): number {
    let last = Number.NEGATIVE_INFINITY;
    for (const list of this.#entries) {
      const e = list.at(-1);
      if (e !== undefined && e.hours > last) last = e.hours;
    }
    return last;
  }

  /**
   * Adds observations. All are validated first; if any is invalid a `FeatureInputError` is
   * thrown and none is added. Returns the first bin whose row may have changed (rows before
   * it are unaffected), or `Infinity` when nothing was added.
   */
  add(observations: Iterable<Observation>): number {
    const encoded = [...observations].map((o) => encodeObservation(this.#config, o));
    let first = Number.POSITIVE_INFINITY;
    for (const e of encoded) {
      const entry: Entry = { ...e, seq: this.#seq++ };
      const list = this.#entries[entry.channel]!;
      // Insert after every entry at the same or an earlier time (seq grows with arrival).
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]!.hours <= entry.hours) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, entry);
      first = Math.min(first, binOf(entry.hours));
    }
    if (first < this.#validBins) this.#validBins = first;
    return first;
  }

  /**
   * The raw (not standardized) matrix for a prediction at `end` hours: `trunc(end + 1 - 1e-6)`
   * rows; observations after `end` are ignored.
   */
  matrix(end: number): FeatureMatrix {
    if (!Number.isFinite(end) || end <= -1 + EPS) {
      throw new RangeError(
        `Prediction time ${end} is not a finite number of hours after admission`,
      );
    }
    const rows = rowCount(end);
    const columns = this.#config.columns;
    // Bins before the last are complete at `end`; the last one may be cut by `end`.
    this.#ensureCached(rows - 1);
    const data = new Float64Array(rows * columns);
    data.set(this.#rows.subarray(0, (rows - 1) * columns));
    if (rows > 0) {
      const carry = rows > 1
        ? this.#codes.subarray((rows - 2) * this.#nCh, (rows - 1) * this.#nCh)
        : this.#normal;
      this.#computeBin(
        rows - 1,
        end + EPS,
        carry,
        data,
        (rows - 1) * columns,
        new Float64Array(this.#nCh),
      );
    }
    return { rows, columns, data };
  }

  get #nCh(): number {
    return this.#config.channels.length;
  }

  /** Makes the cache hold at least `bins` complete rows. */
  #ensureCached(bins: number): void {
    if (bins <= this.#validBins) return;
    const columns = this.#config.columns;
    const nCh = this.#nCh;
    if (this.#rows.length < bins * columns) {
      const capacity = Math.max(bins, 2 * (this.#rows.length / columns), 64);
      const rows = new Float64Array(capacity * columns);
      rows.set(this.#rows.subarray(0, this.#validBins * columns));
      const codes = new Float64Array(capacity * nCh);
      codes.set(this.#codes.subarray(0, this.#validBins * nCh));
      this.#rows = rows;
      this.#codes = codes;
    }
    for (let b = this.#validBins; b < bins; b++) {
      const carry = b > 0 ? this.#codes.subarray((b - 1) * nCh, b * nCh) : this.#normal;
      this.#computeBin(
        b,
        Number.POSITIVE_INFINITY,
        carry,
        this.#rows,
        b * columns,
        this.#codes.subarray(b * nCh),
      );
    }
    this.#validBins = bins;
  }

  /**
   * Writes row `bin` into `out` at `offset`: per channel the last observation in the bin with
   * time <= `cutoff`, or the carried code from the previous row. Stores the row's codes.
   */
  #computeBin(
    bin: number,
    cutoff: number,
    carry: ArrayLike<number>,
    out: Float64Array,
    offset: number,
    codesOut: Float64Array,
  ): void {
    const config = this.#config;
    for (let c = 0; c < this.#nCh; c++) {
      const list = this.#entries[c]!;
      // Entries with bin <= `bin` and time <= cutoff form a prefix (both are monotone in time).
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const e = list[mid]!;
        if (binOf(e.hours) <= bin && e.hours <= cutoff) lo = mid + 1;
        else hi = mid;
      }
      const last = lo > 0 ? list[lo - 1]! : undefined;
      let code = carry[c]!;
      if (last !== undefined && binOf(last.hours) === bin) {
        code = last.code;
        out[offset + config.valueColumns + c] = 1;
      } else {
        out[offset + config.valueColumns + c] = 0;
      }
      codesOut[c] = code;
      writeValue(config, out, offset, c, code);
    }
  }
}
