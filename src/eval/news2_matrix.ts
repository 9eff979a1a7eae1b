/**
 * NEWS2 from a row of the raw (not standardized) 76-column feature matrix of
 * `../features/discretizer.ts`. Columns are found by name in the configuration's header; the
 * discretizer has already carried each channel's last value forward (or imputed its normal
 * value), so every vital is known in every row.
 *
 * Glasgow coma scale: the total is read from its one-hot columns; each component's category
 * text is scored by its leading number ("4 Confused" -> 4, "1.0 ET/Trach" -> 1) or, for text
 * without a number, by name (eye: spontaneously 4, to speech 3, to pain 2, none/no response 1;
 * motor: obeys commands 6, localizes pain 5, flex-withdraws 4, abnormal flexion 3, abnormal
 * extension 2, no response 1; verbal: oriented 5, confused 4, inappropriate words 3,
 * incomprehensible sounds 2, no response and no response-ETT 1). `news2` then uses the lower of
 * total and component sum.
 *
 * @module
 */
import { type DiscretizerConfig, REFERENCE_CONFIG } from "../features/discretizer_config.ts";
import type { FeatureMatrix } from "../features/matrix.ts";
import { news2, type News2Result, type Vitals } from "./news2.ts";

/** Options for {@linkcode vitalsFromMatrix} and {@linkcode news2FromMatrix}. */
export interface MatrixRowOptions {
  /**
   * The row (hour bin) to read; negative values count from the end.
   * @default {-1} (the last row, the prediction time)
   */
  row?: number;
  /**
   * The discretizer configuration that produced the matrix.
   * @default {REFERENCE_CONFIG}
   */
  config?: DiscretizerConfig;
}

const CHANNELS = {
  respiratoryRate: "Respiratory rate",
  spo2: "Oxygen saturation",
  fio2: "Fraction inspired oxygen",
  systolicBp: "Systolic blood pressure",
  heartRate: "Heart Rate",
  temperature: "Temperature",
} as const;

const GCS_CHANNELS = {
  gcsTotal: "Glascow coma scale total",
  gcsEye: "Glascow coma scale eye opening",
  gcsMotor: "Glascow coma scale motor response",
  gcsVerbal: "Glascow coma scale verbal response",
} as const;

const GCS_TEXT: Record<string, number> = {
  "spontaneously": 4,
  "to speech": 3,
  "to pain": 2,
  "none": 1,
  "obeys commands": 6,
  "localizes pain": 5,
  "flex-withdraws": 4,
  "abnormal flexion": 3,
  "abnormal extension": 2,
  "oriented": 5,
  "confused": 4,
  "inappropriate words": 3,
  "incomprehensible sounds": 2,
  "no response": 1,
  "no response-ett": 1,
};

/**
 * The score of a Glasgow coma scale category text; `undefined` when not recognized.
 *
 * @example Numbered and plain category texts
 * ```ts
 * import { gcsCategoryScore } from "./news2_matrix.ts";
 * if (gcsCategoryScore("4 Confused") !== 4 || gcsCategoryScore("Localizes Pain") !== 5) {
 *   throw new Error();
 * }
 * ```
 */
export function gcsCategoryScore(text: string): number | undefined {
  const leading = /^\s*(\d+(?:\.\d+)?)/.exec(text);
  if (leading) return Number(leading[1]);
  return GCS_TEXT[text.trim().toLowerCase()];
}

function rowIndex(matrix: FeatureMatrix, row: number): number {
  const r = row < 0 ? matrix.rows + row : row;
  if (!Number.isInteger(r) || r < 0 || r >= matrix.rows) {
    throw new RangeError(`Row ${row} is outside the ${matrix.rows} rows of the feature matrix`);
  }
  return r;
}

function columnOf(header: readonly string[], name: string): number {
  const c = header.indexOf(name);
  if (c === -1) throw new TypeError(`Feature header has no column ${JSON.stringify(name)}`);
  return c;
}

/** The category whose one-hot column is set in the row; `undefined` when none is. */
function hotCategory(
  header: readonly string[],
  data: Float64Array,
  offset: number,
  channel: string,
): string | undefined {
  const prefix = `${channel}->`;
  let found = false;
  for (let c = 0; c < header.length; c++) {
    const name = header[c]!;
    if (!name.startsWith(prefix)) continue;
    found = true;
    if (data[offset + c]! >= 0.5) return name.slice(prefix.length);
  }
  if (!found) throw new TypeError(`Feature header has no columns of ${JSON.stringify(channel)}`);
  return undefined;
}

/**
 * Reads the NEWS2 vitals from one row of a raw feature matrix.
 *
 * @example The normal values imputed before any measurement
 * ```ts
 * import { discretize } from "../features/discretizer.ts";
 * import { vitalsFromMatrix } from "./news2_matrix.ts";
 * const v = vitalsFromMatrix(discretize([{ hours: 1, channel: "Heart Rate", value: 120 }], 2));
 * if (v.heartRate !== 120 || v.respiratoryRate !== 19 || v.gcsTotal !== 15 || v.fio2 !== 0.21) {
 *   throw new Error(JSON.stringify(v));
 * }
 * ```
 */
export function vitalsFromMatrix(matrix: FeatureMatrix, options: MatrixRowOptions = {}): Vitals {
  const config = options.config ?? REFERENCE_CONFIG;
  const header = config.header;
  if (matrix.columns !== header.length) {
    throw new TypeError(
      `Feature matrix has ${matrix.columns} columns but the configuration has ${header.length}`,
    );
  }
  const offset = rowIndex(matrix, options.row ?? -1) * matrix.columns;
  const vitals: Vitals = {};
  for (const [key, channel] of Object.entries(CHANNELS) as [keyof typeof CHANNELS, string][]) {
    vitals[key] = matrix.data[offset + columnOf(header, channel)]!;
  }
  for (
    const [key, channel] of Object.entries(GCS_CHANNELS) as [keyof typeof GCS_CHANNELS, string][]
  ) {
    const category = hotCategory(header, matrix.data, offset, channel);
    const score = category === undefined ? undefined : gcsCategoryScore(category);
    if (score !== undefined) vitals[key] = score;
  }
  return vitals;
}

/**
 * NEWS2 of one row of a raw (not standardized) feature matrix.
 *
 * @example Tachycardia 120 (2) and supplemental oxygen (2)
 * ```ts
 * import { discretize } from "../features/discretizer.ts";
 * import { news2FromMatrix } from "./news2_matrix.ts";
 * const m = discretize([
 *   { hours: 1, channel: "Heart Rate", value: 120 },
 *   { hours: 1, channel: "Fraction inspired oxygen", value: 0.4 },
 * ], 2);
 * if (news2FromMatrix(m).total !== 4) throw new Error();
 * ```
 */
export function news2FromMatrix(
  matrix: FeatureMatrix,
  options: MatrixRowOptions = {},
): News2Result {
  return news2(vitalsFromMatrix(matrix, options));
}
