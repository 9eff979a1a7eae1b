/**
 * The summary-feature logistic regression baseline, on the same samples and the same 76-column
 * inputs as the model: for every column of the standardized hourly matrix up to the prediction
 * time, its last value, mean, minimum and maximum (mask columns: the share of hours with a
 * measurement), and the log number of hours. One linear head per task (`trainLinearHead`:
 * standardized features, Adam, L2, early stopping on the validation split), its weight decay
 * chosen from a small grid by the validation score, then scored on the evaluated split through
 * the same report as the model (`deno task baseline`, `deno task eval --baseline`).
 *
 * Time series only: notes and images are left out, so on data with other modalities this is the
 * baseline of the time-series input alone.
 *
 * @module
 */
import { metadataGroups, readStayMetadata } from "../data/stay_metadata.ts";
import { readSamples, type Sample } from "../data/dataset.ts";
import { getTask, listfilePath, type Split, type TaskInfo } from "../data/tasks.ts";
import type { FeatureMatrix } from "../features/matrix.ts";
import { NORMALIZER_PH, normalizerFromJson } from "../features/normalizer.ts";
import { createNoteEncoder } from "../features/notes/create_encoder.ts";
import { applyLinearHead } from "../finetune/linear_head.ts";
import { sampleInputs } from "../finetune/sample_inputs.ts";
import { METRICS_BY_KIND, taskMetrics } from "../finetune/task_metrics.ts";
import { type LabelledRows, trainLinearHead } from "../finetune/train_head.ts";
import { readManifest } from "../model/manifest.ts";
import type { EvalSource } from "./eval_source.ts";
import type { EvalReport } from "./evaluate.ts";
import { modalityPattern } from "./model_source.ts";
import type { PredictionRecord } from "./predictions.ts";

/** Columns of the reference matrix. */
const COLUMNS = 76;

/** Width of {@linkcode baselineFeatures}. */
export const BASELINE_WIDTH = COLUMNS * 4 + 1;

/**
 * Summary features of a standardized matrix: last, mean, min, max per column, then
 * log(1 + rows). No time series gives zeros.
 *
 * @example Two rows
 * ```ts
 * import { baselineFeatures } from "./baseline.ts";
 * const data = new Float64Array(152);
 * data[0] = 1; data[76] = 3;
 * const f = baselineFeatures({ rows: 2, columns: 76, data });
 * if (f[0] !== 3 || f[76] !== 2 || f[152] !== 1 || f[228] !== 3) throw new Error();
 * ```
 */
export function baselineFeatures(matrix: FeatureMatrix | null): Float32Array {
  const out = new Float32Array(BASELINE_WIDTH);
  if (matrix === null || matrix.rows === 0) return out;
  const { rows, columns, data } = matrix;
  for (let c = 0; c < COLUMNS; c++) {
    let sum = 0, min = Infinity, max = -Infinity;
    for (let r = 0; r < rows; r++) {
      const v = data[r * columns + c]!;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    out[c] = data[(rows - 1) * columns + c]!;
    out[COLUMNS + c] = sum / rows;
    out[2 * COLUMNS + c] = min;
    out[3 * COLUMNS + c] = max;
  }
  out[4 * COLUMNS] = Math.log1p(rows);
  return out;
}

/** What {@linkcode baselineEvalSource} runs. */
export interface BaselineOptions {
  /** Dataset folder in the reference layout (train, val and the evaluated split). */
  readonly dataDir: string;
  /** The model whose normalizer and note settings define the inputs (`models/default`). */
  readonly modelDir: string;
  /** Split to score. */
  readonly split: Split;
  /** Task codes; empty for every task with listfiles. */
  readonly tasks: readonly string[];
  /**
   * Seed of the heads' initialization and batch order.
   * @default {0}
   */
  readonly seed?: number;
  /** Progress lines (stderr). */
  readonly log?: (line: string) => void;
}

/** Weight decays tried; the validation score picks one. */
export const WEIGHT_DECAYS: readonly number[] = [1e-4, 1e-3, 1e-2, 1e-1];

/** What was chosen per task (for the report). */
export interface BaselineChoice {
  readonly task: string;
  readonly weightDecay: number;
  readonly validationScore: number;
  readonly trainSamples: number;
}

/**
 * The baseline as an evaluation source: trains one head per task on the train split (chosen on
 * val) when its records are first read, then yields the evaluated split's records with the same
 * subgroup columns as the model's source. `choices` is filled as tasks are trained.
 */
export async function baselineEvalSource(
  options: BaselineOptions,
): Promise<EvalSource & { choices: BaselineChoice[] }> {
  const manifest = await readManifest(options.modelDir);
  const normalizer = manifest.normalizer ? normalizerFromJson(manifest.normalizer) : NORMALIZER_PH;
  const codes = options.tasks.length > 0 ? options.tasks : manifest.tasks.map((t) => t.code);
  const tasks: TaskInfo[] = [];
  for (const code of codes) {
    const task = getTask(code);
    const has = async (split: Split) =>
      await Deno.stat(listfilePath(options.dataDir, task, split)).then(() => true, () => false);
    if (await has("train") && await has("val") && await has(options.split)) tasks.push(task);
  }
  if (tasks.length === 0) {
    throw new Error(
      `No task of ${
        codes.join(", ")
      } has train, val and ${options.split} listfiles in "${options.dataDir}"`,
    );
  }
  const log = options.log ?? (() => {});
  const choices: BaselineChoice[] = [];
  return {
    description:
      `summary-feature logistic regression on ${options.dataDir}, ${options.split} split`,
    choices,
    async *records(): AsyncGenerator<PredictionRecord> {
      const metadata = await readStayMetadata(options.dataDir);
      const noteEncoder = await createNoteEncoder(manifest.note_encoder, {
        baseDir: options.modelDir,
      });
      const featurizer = {
        dataDir: options.dataDir,
        normalizer,
        maxRows: manifest.timeseries.max_rows,
        noteEncoder,
        noteMaxTokens: manifest.note_max_tokens ?? 512,
      };
      const rows = async (split: Split, task: TaskInfo) => {
        const samples: Sample[] = [];
        for await (const s of readSamples(options.dataDir, task, split)) samples.push(s);
        const x = new Float32Array(samples.length * BASELINE_WIDTH);
        for (let i = 0; i < samples.length; i++) {
          const inputs = await sampleInputs(samples[i]!, featurizer);
          x.set(baselineFeatures(inputs.matrix), i * BASELINE_WIDTH);
        }
        const labelled: LabelledRows = {
          x,
          width: BASELINE_WIDTH,
          labels: samples.map((s) => [...s.labels]),
        };
        return { samples, labelled };
      };
      try {
        for (const task of tasks) {
          const train = await rows("train", task);
          const val = await rows("val", task);
          const outputs = manifest.tasks.find((t) => t.code === task.code)?.outputs ?? 1;
          const lead = METRICS_BY_KIND[task.kind][0];
          const score = (probs: Float32Array[], labels: readonly (readonly number[])[]) => {
            const v = taskMetrics(task.kind, labels, probs)[lead]!;
            return Number.isFinite(v) ? v : -Infinity;
          };
          let best:
            | { head: ReturnType<typeof trainLinearHead>["head"]; score: number; wd: number }
            | null = null;
          for (const weightDecay of WEIGHT_DECAYS) {
            const trained = trainLinearHead(train.labelled, {
              kind: task.kind,
              outputs,
              validation: val.labelled,
              score,
              weightDecay,
              seed: options.seed ?? 0,
            });
            const probs = val.samples.map((_, i) =>
              applyLinearHead(
                trained.head,
                val.labelled.x.subarray(i * BASELINE_WIDTH, (i + 1) * BASELINE_WIDTH),
              ).probs
            );
            const s = score(probs, val.labelled.labels);
            if (best === null || s > best.score) {
              best = { head: trained.head, score: s, wd: weightDecay };
            }
          }
          choices.push({
            task: task.code,
            weightDecay: best!.wd,
            validationScore: best!.score,
            trainSamples: train.samples.length,
          });
          log(
            `baseline: ${task.code} weight decay ${best!.wd} (validation ${lead} ${
              best!.score.toFixed(4)
            }, ${train.samples.length} training samples)`,
          );
          const scored = options.split === "val" ? val : await rows(options.split, task);
          for (let i = 0; i < scored.samples.length; i++) {
            const sample = scored.samples[i]!;
            const probs = Array.from(
              applyLinearHead(
                best!.head,
                scored.labelled.x.subarray(i * BASELINE_WIDTH, (i + 1) * BASELINE_WIDTH),
              ).probs,
            );
            yield {
              task: task.code,
              labels: task.kind === "multilabel" ? [...sample.labels] : sample.labels[0]!,
              probs: task.kind === "binary" ? probs[0]! : probs,
              groups: {
                modality: modalityPattern(sample),
                ...metadataGroups(metadata.get(sample.stayId)),
              },
            };
          }
        }
      } finally {
        await noteEncoder.close();
      }
    },
  };
}

/**
 * The model's and the baseline's headline metrics side by side, per task, with their
 * bootstrap intervals (Markdown).
 */
export function comparisonTable(model: EvalReport, baseline: EvalReport): string {
  const cell = (m: EvalReport["tasks"][number]["metrics"][number] | undefined) =>
    m === undefined || m.value === null
      ? "n/a"
      : `${m.value.toFixed(3)}${
        m.lower === null || m.upper === null ? "" : ` (${m.lower.toFixed(3)}-${m.upper.toFixed(3)})`
      }`;
  const lines = [
    "| task | metric | n | model | summary-feature LR |",
    "|---|---|---|---|---|",
  ];
  for (const t of model.tasks) {
    const b = baseline.tasks.find((x) => x.task === t.task);
    for (const m of t.metrics) {
      lines.push(
        `| ${t.task} | ${m.name} | ${t.n} | ${cell(m)} | ${
          cell(b?.metrics.find((x) => x.key === m.key))
        } |`,
      );
    }
  }
  for (const table of model.subgroups) {
    const other = baseline.subgroups.find((x) => x.column === table.column);
    lines.push(
      "",
      `| task | ${table.column} | n | positives | model | summary-feature LR | model ECE | LR ECE |`,
      "|---|---|---|---|---|---|---|---|",
    );
    for (const r of table.summary) {
      const o = other?.summary.find((x) => x.task === r.task && x.value === r.value);
      const lead = (x: typeof r | undefined) =>
        x === undefined ? "n/a" : x.undefinedBecause ?? cell(x.metric ?? undefined);
      const ece = (x: typeof r | undefined) =>
        x === undefined || x.ece === null ? "" : x.ece.toFixed(3);
      lines.push(
        `| ${r.task} | ${r.value} | ${r.n} | ${r.positives ?? ""} | ${lead(r)}${
          r.belowOverall ? " (below overall)" : ""
        } | ${lead(o)} | ${ece(r)} | ${ece(o)} |`,
      );
    }
  }
  return lines.join("\n");
}
