/**
 * flexcare: the FlexCare multimodal multitask ICU model (KDD 2024) in clinical service.
 *
 * This barrel is the public library API; everything else is internal.
 *
 * @example Discretize an episode
 * ```ts
 * import { discretize, NORMALIZER_PH, standardize } from "./mod.ts";
 * const raw = discretize([{ hours: 0.5, channel: "Heart Rate", value: 92 }], 3);
 * const x = standardize(raw, NORMALIZER_PH);
 * if (x.rows !== 3 || x.columns !== 76) throw new Error();
 * ```
 *
 * @module
 */
export { discretize, type DiscretizeOptions } from "./src/features/discretizer.ts";
export {
  type DiscretizerConfig,
  discretizerConfigFromJson,
  type DiscretizerJson,
  REFERENCE_CONFIG,
} from "./src/features/discretizer_config.ts";
export { type EpisodeCsvOptions, parseEpisodeCsv } from "./src/features/episode.ts";
export { FeatureInputError, type FeatureInputProblem } from "./src/features/errors.ts";
export { type FeatureMatrix, lastRows } from "./src/features/matrix.ts";
export {
  type Normalizer,
  NORMALIZER_DECOMP,
  NORMALIZER_PH,
  NormalizerFitter,
  normalizerFromJson,
  type NormalizerJson,
  normalizerToJson,
  standardize,
} from "./src/features/normalizer.ts";
export { loadNormalizer } from "./src/features/normalizer_file.ts";
export { binOf, type Observation, rowCount } from "./src/features/observation.ts";
export { StayTimeSeries, type StayTimeSeriesOptions } from "./src/features/stay_time_series.ts";
export {
  AUGMENT,
  IMAGE_SIZE,
  IMAGENET_MEAN,
  IMAGENET_STD,
  MAX_IMAGE_PIXELS,
  MIN_IMAGE_SIDE,
  RESIZE,
} from "./src/features/image/constants.ts";
export { type AugmentOptions, type AugmentParams } from "./src/features/image/augment.ts";
export { decodeImage, type DecodeOptions } from "./src/features/image/decode.ts";
export { ImageInputError, type ImageInputReason } from "./src/features/image/errors.ts";
export { preprocessImage, type PreprocessOptions } from "./src/features/image/preprocess.ts";
export {
  type ImageFormat,
  type ImageProbe,
  probeImage,
  type ProbeOptions,
} from "./src/features/image/probe.ts";
export { type DecodedImage } from "./src/features/image/raster.ts";
export {
  type CsvRecord,
  CsvSyntaxError,
  parseCsv,
  readCsvFile,
  readCsvRecords,
} from "./src/data/csv.ts";
export {
  DIAGNOSIS_LABELS,
  getTask,
  LOS_CLASSES,
  losClass,
  PHENOTYPE_LABELS,
  type Split,
  SPLITS,
  type TaskCode,
  type TaskInfo,
  type TaskKind,
  TASKS,
} from "./src/data/tasks.ts";
export { type AppOptions, createApp } from "./routes/app.ts";
export {
  FhirInputError,
  type FhirMapping,
  type FhirObservation,
  fhirToObservations,
} from "./src/features/fhir.ts";
export {
  type SyntheticDatasetOptions,
  type SyntheticDatasetSummary,
  writeSyntheticDataset,
} from "./src/data/synth/write_dataset.ts";
export {
  auprc,
  auroc,
  averagePrecision,
  bootstrapCi,
  brierScore,
  cohenKappa,
  type EvalReport,
  type EvalSource,
  evaluateRecords,
  evaluateSource,
  expectedCalibrationError,
  f1Score,
  type ModelEvalSourceFactory,
  multilabelAuroc,
  news2,
  news2Comparison,
  news2FromMatrix,
  type PredictionRecord,
  reliabilityBins,
  reportToJson,
  reportToMarkdown,
  writeReport,
} from "./src/eval/mod.ts";
export {
  buildDatasetCard,
  type DatasetCard,
  type DatasetCardOptions,
  renderDatasetCard,
  writeDatasetCard,
} from "./src/data/dataset_card.ts";
export { assignSplits, type SplitOptions } from "./src/data/splits.ts";
export {
  extractMimic,
  type MimicExtractOptions,
  type MimicExtractResult,
} from "./src/data/extract/mimic.ts";
export {
  importPhysionet2012,
  type Physionet2012Options,
  type Physionet2012Result,
} from "./src/data/import/physionet2012.ts";
export { normalizeNoteText } from "./src/features/notes/normalize.ts";
export {
  extractSection,
  type ExtractSectionOptions,
  NOTE_SECTIONS,
  type NoteSection,
  sectionForTask,
} from "./src/features/notes/section.ts";
export {
  type BiobertOnnxNoteEncoderSpec,
  DEFAULT_NOTE_ENCODER,
  type EncodedNote,
  type HashedNoteEncoderSpec,
  MAX_NOTE_TOKENS,
  NOTE_ENCODER_KINDS,
  type NoteEncoder,
  type NoteEncoderKind,
  type NoteEncoderSpec,
  parseNoteEncoderSpec,
  type UseLiteNoteEncoderSpec,
} from "./src/features/notes/encoder.ts";
export {
  createNoteEncoder,
  type CreateNoteEncoderOptions,
} from "./src/features/notes/create_encoder.ts";
export {
  basicTokenize,
  parseVocab,
  type WordPieceOptions,
  type WordPieceToken,
  WordPieceTokenizer,
} from "./src/features/notes/wordpiece.ts";
export {
  createStayService,
  type ManagedStayService,
  type SessionLogger,
  STAY_ID_PATTERN,
  type StayServiceOptions,
  type SweepResult,
} from "./src/session/service.ts";
export { ServiceError, type ServiceStatus } from "./src/session/errors.ts";
export type {
  ModalitiesUsed,
  ObservationInput,
  StayPrediction,
  StayService,
  StayState,
  WriteOptions,
  WriteResult,
} from "./src/session/types.ts";
export { expectedRemainingDays, LOS_CLASS_MIDPOINT_DAYS } from "./src/session/prediction.ts";
