/**
 * A dense row-major feature matrix (hourly rows x 76 columns).
 *
 * @module
 */

/** Row-major matrix of time-series features. */
export interface FeatureMatrix {
  /** Number of hourly rows. */
  readonly rows: number;
  /** Number of columns (76 for the reference configuration). */
  readonly columns: number;
  /** `rows * columns` values, row-major. */
  readonly data: Float64Array;
}

/**
 * The last `maxRows` rows of a matrix (the reference model reads at most the last 512).
 *
 * @example Keep the last two rows
 * ```ts
 * import { lastRows } from "./matrix.ts";
 * const m = lastRows({ rows: 3, columns: 1, data: new Float64Array([1, 2, 3]) }, 2);
 * if (m.rows !== 2 || m.data[0] !== 2) throw new Error();
 * ```
 */
export function lastRows(matrix: FeatureMatrix, maxRows: number): FeatureMatrix {
  if (matrix.rows <= maxRows) return matrix;
  const start = (matrix.rows - maxRows) * matrix.columns;
  return { rows: maxRows, columns: matrix.columns, data: matrix.data.subarray(start) };
}

/** The matrix as nested arrays (for JSON output). */
export function toNestedArrays(matrix: FeatureMatrix): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < matrix.rows; r++) {
    out.push(Array.from(matrix.data.subarray(r * matrix.columns, (r + 1) * matrix.columns)));
  }
  return out;
}
