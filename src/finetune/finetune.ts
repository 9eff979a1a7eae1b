/**
 * `finetune`: a new task head on the frozen FlexCare backbone, with honest baselines on the
 * same splits (paper Section 5.5, Table 5).
 *
 * 1. Reads the task's samples ({@linkcode loadTaskData}).
 * 2. One pass over the samples ({@linkcode extractVectors}, cached and resumable): s_p of the
 *    base model with the new task's token, s_p of a randomly initialized backbone of the same
 *    configuration with its own token made the same way, and summary features of the raw inputs.
 * 3. The labelled subset of the training split at `labelFraction` ({@linkcode labelFraction}).
 * 4. A linear head on each representation, at that fraction and at 100%
 *    ({@linkcode trainLinearHead}; early stopping on the whole validation split).
 * 5. The base model's head at the chosen fraction is the artifact (`heads/<task>/head.json`);
 *    a report (Markdown + JSON) and a learning-curve SVG compare everything on the test split.
 *
 * @module
 */
import type { Sample } from "../data/dataset.ts";
import type { Split, TaskKind } from "../data/tasks.ts";
import { bootstrapCi, type ConfidenceInterval } from "../eval/bootstrap.ts";
import { scoreCalibration } from "../eval/calibrate.ts";
import { type CalibrationSplitReport, fitTemperature } from "../model/calibration.ts";
import { createNoteEncoder } from "../features/notes/create_encoder.ts";
import type { BackendName } from "../model/backend.ts";
import { FlexCareModel } from "../model/flexcare_model.ts";
import { backboneEncoder, extractVectors, type SampleEncoder } from "./extract.ts";
import { type FineTunedHead, writeHead } from "./head_artifact.ts";
import { labelFraction } from "./label_fraction.ts";
import { learningCurveSvg } from "./learning_curve_svg.ts";
import { applyLinearHead, type LinearHead } from "./linear_head.ts";
import { ensureRandomBackbone } from "./random_backbone.ts";
import { finetuneMarkdown } from "./report.ts";
import { summaryFeatures, summaryWidth } from "./summary_features.ts";
import { loadTaskData } from "./task_data.ts";
import { modelFeaturizer } from "./sample_inputs.ts";
import { metadataGroups, readStayMetadata, type StayMetadata } from "../data/stay_metadata.ts";
import { METRICS_BY_KIND, taskMetrics } from "./task_metrics.ts";
import { initialTaskToken } from "./task_token.ts";
import { type EpochRecord, type LabelledRows, trainLinearHead } from "./train_head.ts";

/** Options for {@linkcode finetune}. */
export interface FinetuneOptions {
  /** Task name: a built-in task or a new task's folder name. */
  task: string;
  /** Dataset folder in the reference layout. */
  data: string;
  /** Base model directory. */
  model: string;
  /** Output folder: `heads/<task>/head.json`, `report.md`, `report.json`, `learning_curve.svg`. */
  out: string;
  /** Label kind; from the labels when absent. */
  kind?: TaskKind;
  /** Folder of the task's listfiles inside `data`. @default {the built-in folder, else `task`} */
  listfileDir?: string;
  /**
   * Fraction of the training labels used (the paper's low-label setting is 0.01).
   * @default {1}
   */
  labelFraction?: number;
  /**
   * Maximum epochs of head training.
   * @default {200}
   */
  epochs?: number;
  /**
   * Seed of the label draw, head initialization and batch order.
   * @default {0}
   */
  seed?: number;
  /**
   * The new task's token: `mean` of the model's task tokens, or a task code to copy.
   * @default {"mean"}
   */
  initToken?: string;
  /**
   * Label draws at a fraction below 1 (each with its own seed: `seed`, `seed + 1`, ...); the
   * report gives their mean and deviation, the artifact is the FlexCare head of the draw with
   * the best validation score.
   * @default {5 below 100%, else 1}
   */
  repeats?: number;
  /**
   * Weigh classes inversely to their training frequency.
   * @default {false}
   */
  classWeights?: boolean;
  /** Cache folder of representations and the random backbone. @default {`${out}/cache`} */
  cacheDir?: string;
  /** Folder the head is written to. @default {`${out}/heads`} */
  headsDir?: string;
  /** A random backbone to use instead of exporting one. */
  randomModel?: string;
  /**
   * Compute the baselines (random backbone, summary-feature regression).
   * @default {true}
   */
  baselines?: boolean;
  /**
   * ONNX backend.
   * @default {"wasm"}
   */
  backend?: BackendName;
  /**
   * Progress bars and log lines on stderr.
   * @default {true}
   */
  progress?: boolean;
}

/** One head trained on one label draw. */
export interface RepeatResult {
  /** Seed of the label draw and of the head. */
  readonly seed: number;
  readonly labelled: number;
  readonly bestEpoch: number;
  readonly epochsRun: number;
  readonly validation: Record<string, number>;
  readonly test: Record<string, number>;
}

/** The heads of one representation at one label fraction. */
export interface RunResult {
  /** `flexcare`, `random-backbone` or `summary`. */
  readonly features: string;
  readonly fraction: number;
  /** Labelled samples (of the first draw; every draw has the same count). */
  readonly labelled: number;
  /** Best epoch and epochs run of the first draw. */
  readonly bestEpoch: number;
  readonly epochsRun: number;
  /** Means over the label draws. */
  readonly validation: Record<string, number>;
  readonly test: Record<string, number>;
  /** Standard deviations over the label draws (0 for one draw). */
  readonly testSd: Record<string, number>;
  /** 95% bootstrap interval over test samples of the leading metric, first draw. */
  readonly testCi: ConfidenceInterval;
  readonly repeats: readonly RepeatResult[];
}

/** Everything {@linkcode finetune} measured (the JSON report). */
export interface FinetuneReport {
  readonly task: string;
  readonly kind: TaskKind;
  readonly labels: readonly string[];
  readonly data: string;
  readonly model: { dir: string; hash: string; training: unknown };
  readonly randomModel: { dir: string; hash: string } | null;
  readonly token: { init: string };
  readonly labelFraction: number;
  readonly seed: number;
  readonly counts: Record<string, number>;
  /** Label counts per class / label (training split, labelled subset, test). */
  readonly classCounts: Record<string, number[]>;
  readonly runs: readonly RunResult[];
  readonly headPath: string;
  /**
   * The kept head's first metric on the test split per subgroup (`unit`, `age_band`, `sex`,
   * `admission_type` from the dataset's `stays.csv`; empty without it).
   */
  readonly subgroups: readonly FinetuneSubgroup[];
  /** The head's temperature (folded into its weights) and ECE/log-loss before and after. */
  readonly calibration: {
    readonly temperature: number;
    readonly validation: CalibrationSplitReport;
    readonly test?: CalibrationSplitReport;
  } | null;
  readonly seconds: Record<string, number>;
  readonly notes: readonly string[];
}

/** One subgroup of the fine-tune report. */
export interface FinetuneSubgroup {
  readonly column: string;
  readonly value: string;
  readonly n: number;
  /** Positive test samples (binary tasks; `null` otherwise). */
  readonly positives: number | null;
  /** The first metric, `null` when undefined (`undefinedBecause` says why for binary tasks). */
  readonly metric: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
  readonly undefinedBecause: "no positives" | "no negatives" | null;
  /** Below the lower end of the overall test interval. */
  readonly belowOverall: boolean;
}

/**
 * The kept head's first metric per subgroup of the test split, with bootstrap intervals; a
 * group with one class says so instead of a number; `overallLower` flags groups below it.
 */
export function testSubgroups(
  kind: TaskKind,
  samples: readonly Sample[],
  labels: readonly (readonly number[])[],
  probs: readonly Float32Array[],
  metadata: ReadonlyMap<string, StayMetadata>,
  overallLower: number | null,
  seed: number,
): FinetuneSubgroup[] {
  const lead = METRICS_BY_KIND[kind][0];
  const byColumn = new Map<string, Map<string, number[]>>();
  samples.forEach((s, i) => {
    for (const [column, value] of Object.entries(metadataGroups(metadata.get(s.stayId)))) {
      let groups = byColumn.get(column);
      if (groups === undefined) byColumn.set(column, groups = new Map());
      groups.set(value, [...(groups.get(value) ?? []), i]);
    }
  });
  const out: FinetuneSubgroup[] = [];
  for (const [column, groups] of [...byColumn].sort()) {
    for (const [value, idx] of [...groups].sort()) {
      const y = idx.map((i) => labels[i]!);
      const p = idx.map((i) => probs[i]!);
      const positives = kind === "binary" ? y.filter((l) => l[0] === 1).length : null;
      const undefinedBecause = positives === 0
        ? "no positives"
        : positives === idx.length
        ? "no negatives"
        : null;
      const ci = undefinedBecause === null
        ? bootstrapCi(idx.length, (w) => taskMetrics(kind, y, p, w)[lead]!, {
          resamples: 300,
          seed,
        })
        : null;
      const v = ci === null || !Number.isFinite(ci.value) ? null : ci.value;
      out.push({
        column,
        value,
        n: idx.length,
        positives,
        metric: v,
        lower: ci?.lower ?? null,
        upper: ci?.upper ?? null,
        undefinedBecause,
        belowOverall: v !== null && overallLower !== null && v < overallLower,
      });
    }
  }
  return out;
}

function meanOf(rows: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(rows[0] ?? {})) {
    out[k] = rows.reduce((a, r) => a + r[k]!, 0) / rows.length;
  }
  return out;
}

function sdOf(rows: readonly Record<string, number>[]): Record<string, number> {
  const mean = meanOf(rows);
  const out: Record<string, number> = {};
  for (const k of Object.keys(mean)) {
    out[k] = rows.length < 2
      ? 0
      : Math.sqrt(rows.reduce((a, r) => a + (r[k]! - mean[k]!) ** 2, 0) / (rows.length - 1));
  }
  return out;
}

function log(enabled: boolean, message: string): void {
  if (enabled) console.error(message);
}

function rowsOf(v: { data: Float32Array; width: number }, idx: readonly number[]): Float32Array {
  const out = new Float32Array(idx.length * v.width);
  idx.forEach((r, i) => out.set(v.data.subarray(r * v.width, (r + 1) * v.width), i * v.width));
  return out;
}

function predictAll(head: LinearHead, v: { data: Float32Array; width: number }, n: number) {
  return Array.from(
    { length: n },
    (_, i) => applyLinearHead(head, v.data.subarray(i * v.width, (i + 1) * v.width)).probs,
  );
}

/**
 * Fits a temperature to a head's validation logits (`../model/calibration.ts`) and returns the
 * head with it folded in, and what it did on validation (and test, when given).
 */
function calibrateHead(
  head: LinearHead,
  val: { data: Float32Array; width: number },
  valLabels: readonly (readonly number[])[],
  other: {
    test: {
      vectors: { data: Float32Array; width: number };
      labels: readonly (readonly number[])[];
    };
  },
): { head: LinearHead; report: NonNullable<FinetuneReport["calibration"]> } {
  const data = (
    v: { data: Float32Array; width: number },
    labels: readonly (readonly number[])[],
  ) => ({
    kind: head.kind,
    logits: labels.map((_, i) =>
      applyLinearHead(head, v.data.subarray(i * v.width, (i + 1) * v.width)).logits
    ),
    labels: labels.map((l) => head.kind === "multilabel" ? l : l[0]!),
  });
  const fit = data(val, valLabels);
  const temperature = fitTemperature(fit);
  const report = {
    temperature,
    validation: scoreCalibration(fit, temperature),
    ...(other.test.labels.length === 0
      ? {}
      : { test: scoreCalibration(data(other.test.vectors, other.test.labels), temperature) }),
  };
  return {
    head: {
      ...head,
      weights: head.weights.map((w) => w / temperature),
      bias: head.bias.map((b) => b / temperature),
    },
    report,
  };
}

function classCounts(kind: TaskKind, outputs: number, samples: readonly Sample[]): number[] {
  const counts = new Array(outputs).fill(0);
  for (const s of samples) {
    if (kind === "multiclass") counts[s.labels[0]!]++;
    else s.labels.forEach((v, j) => v === 1 && counts[j]++);
  }
  return counts;
}

/**
 * Fine-tunes a head and writes the artifact, the report and the learning curve.
 *
 * @example DRG at 1% of the labels
 * ```ts ignore
 * import { finetune } from "./finetune.ts";
 * const report = await finetune({
 *   task: "drg", data: "/tmp/s2000", model: "models/default", out: "/tmp/ft-drg", labelFraction: 0.01,
 * });
 * console.log(report.runs.map((r) => [r.features, r.fraction, r.test]));
 * ```
 */
export async function finetune(options: FinetuneOptions): Promise<FinetuneReport> {
  const started = performance.now();
  const verbose = options.progress ?? true;
  const fraction = options.labelFraction ?? 1;
  const seed = options.seed ?? 0;
  const cacheDir = options.cacheDir ?? `${options.out}/cache`;
  const backend = options.backend ?? "wasm";
  const notes: string[] = [];

  const data = await loadTaskData(options.data, options.task, {
    ...(options.kind ? { kind: options.kind } : {}),
    ...(options.listfileDir ? { folder: options.listfileDir } : {}),
  });
  const kind = data.kind;
  const outputs = data.labelNames.length;
  if (kind === "multiclass" && outputs < 2) {
    throw new RangeError(`Task ${JSON.stringify(options.task)} has fewer than 2 classes`);
  }
  const model = await FlexCareModel.load(options.model, { backend });
  const encoders: SampleEncoder[] = [];
  const noteEncoder = await createNoteEncoder(model.manifest.note_encoder, { baseDir: model.dir });
  let random: FlexCareModel | null = null;
  try {
    // What the inputs depend on besides the samples: part of every cache key.
    const features = `features:${
      JSON.stringify([
        model.manifest.normalizer,
        model.manifest.note_encoder,
        model.manifest.timeseries.max_rows,
        model.manifest.note_max_tokens ?? 512,
      ])
    }`;
    const token = initialTaskToken(model, options.initToken ?? "mean");
    encoders.push(
      backboneEncoder(
        "flexcare",
        model,
        { code: data.name, vector: token.vector },
        `token:${token.init}|${features}`,
      ),
    );
    if (options.baselines ?? true) {
      try {
        const dir = options.randomModel ??
          await ensureRandomBackbone(model, { cacheDir: `${cacheDir}/models`, seed });
        random = await FlexCareModel.load(dir, { runtime: model.runtime });
        const rtoken = initialTaskToken(random, options.initToken ?? "mean");
        encoders.push(
          backboneEncoder(
            "random-backbone",
            random,
            { code: data.name, vector: rtoken.vector },
            `token:${rtoken.init}|${features}`,
          ),
        );
      } catch (error) {
        notes.push(`Random-backbone baseline skipped: ${(error as Error).message}`);
        log(verbose, `finetune: ${notes.at(-1)}`);
      }
      const noteDim = model.manifest.note_encoder.dim;
      encoders.push({
        name: "summary",
        key: `summary-v1|${features}|width:${summaryWidth(noteDim)}`,
        encode: (inputs) => Promise.resolve(summaryFeatures(inputs, noteDim)),
      });
    }
    const featurizer = modelFeaturizer(model, options.data, noteEncoder);
    const extractStarted = performance.now();
    const vectors = {} as Record<Split, Record<string, { data: Float32Array; width: number }>>;
    for (const split of ["train", "val", "test"] as const) {
      vectors[split] = await extractVectors(data.splits[split], {
        featurizer,
        encoders,
        cacheDir,
        label: `${data.name}/${split}`,
        progress: verbose,
      });
    }
    const extractSeconds = (performance.now() - extractStarted) / 1000;

    const trainLabels = data.splits.train.map((s) => s.labels);
    const all = trainLabels.map((_, i) => i);
    const valLabels = data.splits.val.map((s) => s.labels);
    const testLabels = data.splits.test.map((s) => s.labels);
    const [lead] = METRICS_BY_KIND[kind];
    const runs: RunResult[] = [];
    const histories = new Map<string, { history: readonly EpochRecord[]; best: number }>();
    let mainHead: LinearHead | null = null;
    let mainRun: RepeatResult | null = null;
    const trainStarted = performance.now();
    const fractions = fraction < 1 ? [fraction, 1] : [1];
    const repeats = options.repeats ?? (fraction < 1 ? 5 : 1);
    if (!Number.isInteger(repeats) || repeats < 1) {
      throw new RangeError(`Repeats must be a positive integer, got ${repeats}`);
    }
    let mainScore = -Infinity;
    for (const e of encoders) {
      for (const f of fractions) {
        const draws: RepeatResult[] = [];
        let first: { probs: Float32Array[] } | null = null;
        for (let r = 0; r < (f < 1 ? repeats : 1); r++) {
          const idx = f < 1
            ? labelFraction(trainLabels, { kind, fraction: f, seed: seed + r })
            : all;
          const v = vectors.train[e.name]!;
          const rows: LabelledRows = {
            x: rowsOf(v, idx),
            width: v.width,
            labels: idx.map((i) => trainLabels[i]!),
          };
          const val = vectors.val[e.name]!;
          const trained = trainLinearHead(rows, {
            kind,
            outputs,
            epochs: options.epochs ?? 200,
            seed: seed + r,
            classWeights: options.classWeights ?? false,
            ...(valLabels.length > 0
              ? { validation: { x: val.data, width: val.width, labels: valLabels } }
              : {}),
            score: (probs, labels) => taskMetrics(kind, labels, probs)[lead]!,
          });
          const valProbs = predictAll(trained.head, val, valLabels.length);
          const testProbs = predictAll(trained.head, vectors.test[e.name]!, testLabels.length);
          first ??= { probs: testProbs };
          const draw: RepeatResult = {
            seed: seed + r,
            labelled: idx.length,
            bestEpoch: trained.bestEpoch,
            epochsRun: trained.history.length,
            validation: taskMetrics(kind, valLabels, valProbs),
            test: taskMetrics(kind, testLabels, testProbs),
          };
          draws.push(draw);
          if (r === 0) {
            histories.set(`${e.name}@${f}`, { history: trained.history, best: trained.bestEpoch });
          }
          // The artifact: the FlexCare head at the chosen fraction with the best validation score.
          const score = draw.validation[lead] ?? NaN;
          if (
            e.name === "flexcare" && f === fraction &&
            (mainHead === null || (Number.isFinite(score) && score > mainScore))
          ) {
            mainHead = trained.head;
            mainRun = draw;
            mainScore = Number.isFinite(score) ? score : -Infinity;
          }
        }
        const testCi = bootstrapCi(
          testLabels.length,
          (w) => taskMetrics(kind, testLabels, first!.probs, w)[lead]!,
          { resamples: 300, seed },
        );
        const run: RunResult = {
          features: e.name,
          fraction: f,
          labelled: draws[0]!.labelled,
          bestEpoch: draws[0]!.bestEpoch,
          epochsRun: draws[0]!.epochsRun,
          validation: meanOf(draws.map((d) => d.validation)),
          test: meanOf(draws.map((d) => d.test)),
          testSd: sdOf(draws.map((d) => d.test)),
          testCi,
          repeats: draws,
        };
        runs.push(run);
        log(
          verbose,
          `finetune: ${e.name} at ${(f * 100).toFixed(f < 0.1 ? 1 : 0)}% (${run.labelled} labelled${
            draws.length > 1 ? `, mean of ${draws.length} draws` : ""
          }): test ${Object.entries(run.test).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(", ")}`,
        );
      }
    }
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    const firstDraw = labelFraction(trainLabels, { kind, fraction, seed });

    // Temperature scaling of the kept head on the validation split, folded into its weights
    // (rankings and the arg max do not change, so the metrics above stand).
    const calibration = valLabels.length === 0
      ? null
      : calibrateHead(mainHead!, vectors.val["flexcare"]!, valLabels, {
        test: { vectors: vectors.test["flexcare"]!, labels: testLabels },
      });
    if (calibration !== null) mainHead = calibration.head;
    const mainRunResult = runs.find((r) => r.features === "flexcare" && r.fraction === fraction);
    const subgroups = testSubgroups(
      kind,
      data.splits.test,
      testLabels,
      predictAll(mainHead!, vectors.test["flexcare"]!, testLabels.length),
      await readStayMetadata(options.data),
      mainRunResult?.testCi.lower ?? null,
      seed,
    );

    await Deno.mkdir(options.out, { recursive: true });
    const headsDir = options.headsDir ?? `${options.out}/heads`;
    const artifact: FineTunedHead = {
      task: data.name,
      kind,
      labels: data.labelNames,
      head: mainHead!,
      token: { init: token.init, vector: token.vector },
      baseModel: {
        hash: model.hash,
        name: model.name,
        ...(model.manifest.created_at ? { createdAt: model.manifest.created_at } : {}),
      },
      metrics: {
        validation: mainRun!.validation,
        test: mainRun!.test,
        ...(calibration === null ? {} : { calibration: calibration.report }),
      },
      training: {
        data: options.data,
        label_fraction: fraction,
        labelled: mainRun!.labelled,
        train: trainLabels.length,
        seed: mainRun!.seed,
        best_epoch: mainRun!.bestEpoch,
        class_weights: options.classWeights ?? false,
      },
      createdAt: new Date().toISOString(),
    };
    const headPath = await writeHead(`${headsDir}/${data.name}`, artifact);

    const colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
    const main = histories.get(`flexcare@${fraction}`)!;
    const curves = [...histories].filter(([k]) => k.endsWith(`@${fraction}`));
    const svg = learningCurveSvg([
      {
        title: `loss, FlexCare head at ${fraction * 100}% labels`,
        marker: main.best,
        series: [
          {
            name: "train",
            color: colors[0]!,
            points: main.history.map((h) => [h.epoch, h.trainLoss]),
          },
          {
            name: "validation",
            color: colors[1]!,
            points: main.history.map((h) => [h.epoch, h.valLoss ?? NaN]),
          },
        ],
      },
      {
        title: `validation ${lead}, ${fraction * 100}% labels`,
        series: curves.map(([k, h], i) => ({
          name: k.split("@")[0]!,
          color: colors[i % colors.length]!,
          points: h.history.map((r) => [r.epoch, r.valScore ?? NaN] as const),
        })),
      },
    ], `${data.name}: learning curves`);
    await Deno.writeTextFile(`${options.out}/learning_curve.svg`, svg);

    const report: FinetuneReport = {
      task: data.name,
      kind,
      labels: data.labelNames,
      data: options.data,
      model: { dir: model.dir, hash: model.hash, training: model.manifest.training ?? null },
      randomModel: random === null ? null : { dir: random.dir, hash: random.hash },
      token: { init: token.init },
      labelFraction: fraction,
      seed,
      counts: {
        train: data.splits.train.length,
        labelled: firstDraw.length,
        val: data.splits.val.length,
        test: data.splits.test.length,
      },
      classCounts: {
        train: classCounts(kind, outputs, data.splits.train),
        labelled: classCounts(kind, outputs, firstDraw.map((i) => data.splits.train[i]!)),
        test: classCounts(kind, outputs, data.splits.test),
      },
      runs,
      headPath,
      subgroups,
      calibration: calibration === null ? null : calibration.report,
      seconds: {
        extract: extractSeconds,
        train: trainSeconds,
        total: (performance.now() - started) / 1000,
      },
      notes,
    };
    await Deno.writeTextFile(`${options.out}/report.json`, JSON.stringify(report, null, 1) + "\n");
    await Deno.writeTextFile(`${options.out}/report.md`, finetuneMarkdown(report));
    return report;
  } finally {
    await noteEncoder.close();
    await random?.close();
    await model.close();
  }
}
