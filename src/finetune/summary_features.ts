/**
 * Simple summary features of a sample's raw inputs for the regression baseline: the last and
 * the mean of every standardized time-series column (76 + 76), the presence flags of the three
 * modalities, and the mean of the note's token embeddings (E values; a bag of words with the
 * hashed encoder). Absent modalities give zeros.
 *
 * @module
 */
import type { FeaturizedSample } from "./sample_inputs.ts";

/** Width of the summary features for note embeddings of width `noteDim`. */
export function summaryWidth(noteDim: number): number {
  return 76 * 2 + 3 + noteDim;
}

/**
 * The summary features of one sample.
 *
 * @example A time-series-only sample
 * ```ts
 * import { summaryFeatures } from "./summary_features.ts";
 * const data = new Float64Array(152).fill(1).fill(3, 76);
 * const m = { rows: 2, columns: 76, data };
 * const f = summaryFeatures({ timeseries: m, matrix: m, image: null, note: null }, 4);
 * if (f.length !== 159 || f[0] !== 3 || f[76] !== 2 || f[152] !== 1 || f[153] !== 0) throw new Error();
 * ```
 */
export function summaryFeatures(sample: FeaturizedSample, noteDim: number): Float32Array {
  const out = new Float32Array(summaryWidth(noteDim));
  const m = sample.matrix;
  if (m !== null && m.rows > 0) {
    const c = m.columns;
    for (let j = 0; j < 76; j++) {
      out[j] = m.data[(m.rows - 1) * c + j]!;
      let sum = 0;
      for (let r = 0; r < m.rows; r++) sum += m.data[r * c + j]!;
      out[76 + j] = sum / m.rows;
    }
  }
  out[152] = m !== null ? 1 : 0;
  out[153] = sample.image !== null ? 1 : 0;
  out[154] = sample.note !== null ? 1 : 0;
  const note = sample.note;
  if (note !== null && note.dim === noteDim) {
    for (let t = 0; t < note.tokens; t++) {
      for (let i = 0; i < noteDim; i++) out[155 + i] = out[155 + i]! + note.data[t * noteDim + i]!;
    }
    for (let i = 0; i < noteDim; i++) out[155 + i] = out[155 + i]! / note.tokens;
  }
  return out;
}
