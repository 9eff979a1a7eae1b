/**
 * Standardization statistics for the 76-column matrix: loading the reference JSON files and
 * fitting new ones from a dataset as the reference normalizer does (population mean, sample
 * standard deviation with n-1, floored at 1e-7); only the continuous columns are standardized.
 *
 * @module
 */
import PH from "./reference/normalizer_ph.json" with { type: "json" };
import DECOMP from "./reference/normalizer_decomp.json" with { type: "json" };
import type { FeatureMatrix } from "./matrix.ts";

/** Standardization statistics. */
export interface Normalizer {
  /** Mean of every column. */
  readonly means: readonly number[];
  /** Standard deviation of every column (already floored). */
  readonly stds: readonly number[];
  /** Columns that are standardized (the continuous value columns). */
  readonly standardizedColumns: readonly number[];
}

/** The JSON form (as in `normalizer_ph.json`). */
export interface NormalizerJson {
  means: number[];
  stds: number[];
  standardized_columns: number[];
  source?: string;
}

/** Floor of the standard deviation, as the reference normalizer. */
export const STD_FLOOR = 1e-7;

/** Validates the JSON form of a normalizer. */
export function normalizerFromJson(json: NormalizerJson, columns = 76): Normalizer {
  const ok = Array.isArray(json.means) && Array.isArray(json.stds) &&
    json.means.length === columns && json.stds.length === columns &&
    Array.isArray(json.standardized_columns) &&
    json.standardized_columns.every((c) => Number.isInteger(c) && c >= 0 && c < columns) &&
    [...json.means, ...json.stds].every(Number.isFinite) &&
    json.standardized_columns.every((c) => json.stds[c]! > 0);
  if (!ok) {
    throw new TypeError(
      `Normalizer statistics must have ${columns} finite means and positive standard deviations`,
    );
  }
  return Object.freeze({
    means: Object.freeze([...json.means]),
    stds: Object.freeze([...json.stds]),
    standardizedColumns: Object.freeze([...json.standardized_columns]),
  });
}

/** The JSON form of a normalizer, for writing to a file or a manifest. */
export function normalizerToJson(normalizer: Normalizer, source?: string): NormalizerJson {
  return {
    ...(source === undefined ? {} : { source }),
    standardized_columns: [...normalizer.standardizedColumns],
    means: [...normalizer.means],
    stds: [...normalizer.stds],
  };
}

/** The reference statistics FlexCare trains every task with. */
export const NORMALIZER_PH: Normalizer = normalizerFromJson(PH);
/** The reference decompensation statistics. */
export const NORMALIZER_DECOMP: Normalizer = normalizerFromJson(DECOMP);

/**
 * Standardizes the continuous columns: `(x - mean) / std`; other columns are copied.
 *
 * @example Standardize one row
 * ```ts
 * import { NORMALIZER_PH, standardize } from "./normalizer.ts";
 * const row = new Float64Array(76);
 * row[50] = NORMALIZER_PH.means[50]!;
 * const out = standardize({ rows: 1, columns: 76, data: row }, NORMALIZER_PH);
 * if (Math.abs(out.data[50]!) > 1e-12) throw new Error();
 * ```
 */
export function standardize(matrix: FeatureMatrix, normalizer: Normalizer): FeatureMatrix {
  if (matrix.columns !== normalizer.means.length) {
    throw new TypeError(
      `Cannot standardize a ${matrix.columns}-column matrix with ${normalizer.means.length}-column statistics`,
    );
  }
  const data = new Float64Array(matrix.data);
  for (let r = 0; r < matrix.rows; r++) {
    const offset = r * matrix.columns;
    for (const col of normalizer.standardizedColumns) {
      data[offset + col] = (data[offset + col]! - normalizer.means[col]!) / normalizer.stds[col]!;
    }
  }
  return { rows: matrix.rows, columns: matrix.columns, data };
}

/**
 * Accumulates column sums over the rows of many matrices and yields statistics as the
 * reference normalizer's `_use_params` / `_save_params`.
 *
 * @example Fit two rows
 * ```ts
 * import { NormalizerFitter } from "./normalizer.ts";
 * const fit = new NormalizerFitter({ columns: 1, standardizedColumns: [0] });
 * fit.add({ rows: 2, columns: 1, data: new Float64Array([1, 3]) });
 * const n = fit.result();
 * if (n.means[0] !== 2 || Math.abs(n.stds[0]! - Math.SQRT2) > 1e-12) throw new Error();
 * ```
 */
export class NormalizerFitter {
  #sum: Float64Array;
  #sumSq: Float64Array;
  #count = 0;
  #columns: number;
  #standardized: readonly number[];

  constructor(options: { columns: number; standardizedColumns: readonly number[] }) {
    this.#columns = options.columns;
    this.#standardized = options.standardizedColumns;
    this.#sum = new Float64Array(options.columns);
    this.#sumSq = new Float64Array(options.columns);
  }

  /** Adds every row of a raw (not standardized) matrix. */
  add(matrix: FeatureMatrix): void {
    if (matrix.columns !== this.#columns) {
      throw new TypeError(`Expected ${this.#columns} columns, got ${matrix.columns}`);
    }
    for (let r = 0; r < matrix.rows; r++) {
      const offset = r * matrix.columns;
      for (let c = 0; c < this.#columns; c++) {
        const x = matrix.data[offset + c]!;
        this.#sum[c]! += x;
        this.#sumSq[c]! += x * x;
      }
    }
    this.#count += matrix.rows;
  }

  /** Number of rows seen. */
  get count(): number {
    return this.#count;
  }

  /** The statistics; needs at least two rows. */
  result(): Normalizer {
    const n = this.#count;
    if (n < 2) {
      throw new RangeError(`Cannot fit normalizer statistics on ${n} rows (need at least 2)`);
    }
    const means: number[] = [];
    const stds: number[] = [];
    for (let c = 0; c < this.#columns; c++) {
      const sum = this.#sum[c]!;
      const mean = sum / n;
      const variance = (this.#sumSq[c]! - 2 * sum * mean + n * mean * mean) / (n - 1);
      const std = Math.sqrt(Math.max(variance, 0));
      means.push(mean);
      stds.push(std < STD_FLOOR ? STD_FLOOR : std);
    }
    return Object.freeze({
      means: Object.freeze(means),
      stds: Object.freeze(stds),
      standardizedColumns: Object.freeze([...this.#standardized]),
    });
  }
}
