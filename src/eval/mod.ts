/**
 * Evaluation: the paper's metrics (checked against scikit-learn), bootstrap intervals,
 * calibration, the NEWS2 early-warning baseline, and Table-3-style reports.
 *
 * @example Evaluate predictions in memory and render the report
 * ```ts
 * import { checkRecord, evaluateRecords, reportToMarkdown } from "./mod.ts";
 * const records = [[1, 0.9], [0, 0.2], [1, 0.6], [0, 0.7]].map(([y, p], i) =>
 *   checkRecord({ task: "ihm", labels: y, probs: p }, `#${i}`)
 * );
 * const report = { source: "example", ...evaluateRecords(records, { bootstrap: { resamples: 50 } }) };
 * if (!reportToMarkdown(report).includes("| AUROC | 0.7500 |")) throw new Error();
 * ```
 *
 * @module
 */
export { accuracy, type AccuracyOptions } from "./accuracy.ts";
export { type AlertStats, alertStats, thresholdAtSensitivity } from "./alert_burden.ts";
export { auroc } from "./auroc.ts";
export {
  type BinaryCurve,
  binaryCurve,
  type BinaryMetricOptions,
  descendingOrder,
} from "./binary_curve.ts";
export {
  bootstrapCi,
  type BootstrapOptions,
  type ConfidenceInterval,
  quantileSorted,
} from "./bootstrap.ts";
export { type BrierOptions, brierScore } from "./brier.ts";
export {
  type CalibrationOptions,
  expectedCalibrationError,
  type ReliabilityBin,
  reliabilityBins,
} from "./calibration.ts";
export { cohenKappa, type CohenKappaOptions } from "./cohen_kappa.ts";
export {
  type EvalSource,
  jsonlEvalSource,
  memoryEvalSource,
  type ModelEvalOptions,
  type ModelEvalSourceFactory,
} from "./eval_source.ts";
export {
  type EvalReport,
  type EvaluateOptions,
  evaluateRecords,
  evaluateSource,
  type MetricResult,
  MISSING_GROUP,
  type SubgroupReport,
  type SubgroupTable,
  type TaskReport,
} from "./evaluate.ts";
export { type F1Options, f1Score } from "./f1.ts";
export {
  multilabelAuroc,
  type MultilabelAurocOptions,
  perLabelAuroc,
  type PreparedMultilabelAuroc,
  prepareMultilabelAuroc,
} from "./multilabel_auroc.ts";
export {
  effectiveGcs,
  news2,
  type News2Parameter,
  type News2Result,
  onOxygen,
  type Vitals,
} from "./news2.ts";
export {
  type News2Comparison,
  news2Comparison,
  type News2ComparisonOptions,
  type News2ThresholdRow,
} from "./news2_comparison.ts";
export { news2ForSample } from "./news2_dataset.ts";
export {
  gcsCategoryScore,
  type MatrixRowOptions,
  news2FromMatrix,
  vitalsFromMatrix,
} from "./news2_matrix.ts";
export {
  auprc,
  averagePrecision,
  type PrecisionRecallCurve,
  precisionRecallCurve,
} from "./precision_recall.ts";
export {
  type CheckedRecord,
  checkRecord,
  parsePredictionsJsonl,
  type PredictionRecord,
} from "./predictions.ts";
export { seededRandom } from "../data/random.ts";
export { escapeXml, reliabilitySvg, type ReliabilitySvgOptions } from "./reliability_svg.ts";
export { reliabilityFileName, reportToJson, reportToMarkdown, writeReport } from "./report.ts";
