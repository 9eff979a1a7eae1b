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
import { readStayMetadata } from "../data/stay_metadata.ts";
import { readSamples, type Sample } from "../data/dataset.ts";
import { getTask, listfilePath, type Split, type TaskInfo } from "../data/tasks.ts";
import type { FeatureMatrix } from "../features/matrix.ts";
import { NORMALIZER_PH, normalizerFromJson } from "../features/normalizer.ts";
import { createNoteEncoder } from "../features/notes/create_encoder.ts";
import { runTorchModule } from "../cli/train.ts";
import { modelFeaturizer, sampleInputs } from "../finetune/sample_inputs.ts";
import { METRICS_BY_KIND } from "../finetune/task_metrics.ts";
import {
  applyRows,
  type LabelledRows,
  trainLinearHeadByValidation,
} from "../finetune/train_head.ts";
import { readManifest } from "../model/manifest.ts";
import type { EvalSource } from "./eval_source.ts";
import type { EvalReport } from "./evaluate.ts";
import { sampleRecord } from "./model_source.ts";
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
  /**
   * Logistic regression, or gradient boosting through the Python build tools.
   * @default {"lr"}
   */
  readonly method?: BaselineMethod;
}

/** Weight decays tried; the validation score picks one. */
export const WEIGHT_DECAYS: readonly number[] = [1e-4, 1e-3, 1e-2, 1e-1];

/** The baselines: logistic regression (TypeScript) or gradient boosting (the Python build tools). */
export type BaselineMethod = "lr" | "gbm";

/** Human names of the baselines (report columns). */
export const BASELINE_NAMES: Readonly<Record<BaselineMethod, string>> = Object.freeze({
  lr: "summary-feature LR",
  gbm: "summary-feature GBM",
});

/** What was chosen per task (for the report). */
export interface BaselineChoice {
  readonly task: string;
  /** The setting the validation score picked (LR: `weightDecay`; GBM: the tree settings). */
  readonly setting: Readonly<Record<string, unknown>>;
  readonly validationScore: number;
  readonly trainSamples: number;
}

interface Rows {
  readonly samples: readonly Sample[];
  readonly labelled: LabelledRows;
}

type Fitted = { probs: Float32Array[]; choice: BaselineChoice };

/** Logistic regression: one head per weight decay, the best on validation scores `score`. */
function fitLr(
  task: TaskInfo,
  outputs: number,
  train: Rows,
  val: Rows,
  scored: Rows,
  seed: number,
): Fitted {
  const best = trainLinearHeadByValidation(train.labelled, val.labelled, {
    kind: task.kind,
    outputs,
    weightDecays: WEIGHT_DECAYS,
    seed,
  });
  return {
    probs: applyRows(best.head, scored.labelled).map((o) => o.probs),
    choice: {
      task: task.code,
      setting: { weightDecay: best.weightDecay },
      validationScore: best.score,
      trainSamples: train.samples.length,
    },
  };
}

/** Gradient boosting by scikit-learn (`flexcare_torch.gbm_baseline`) on the same features. */
async function fitGbm(
  task: TaskInfo,
  outputs: number,
  train: Rows,
  val: Rows,
  scored: Rows,
): Promise<Fitted> {
  if (task.kind === "multilabel") {
    throw new RangeError(`The GBM baseline takes binary and multi-class tasks, not ${task.code}`);
  }
  const dir = await Deno.makeTempDir({ prefix: "flexcare-gbm-" });
  try {
    const write = async (name: string, r: Rows) => {
      await Deno.writeFile(`${dir}/X_${name}.f32`, new Uint8Array(r.labelled.x.buffer));
      await Deno.writeTextFile(
        `${dir}/y_${name}.json`,
        JSON.stringify(r.samples.map((s) => s.labels[0]!)),
      );
    };
    await write("train", train);
    await write("val", val);
    await write("score", scored);
    await Deno.writeTextFile(
      `${dir}/meta.json`,
      JSON.stringify({
        kind: task.kind,
        width: BASELINE_WIDTH,
        outputs,
        splits: {
          train: train.samples.length,
          val: val.samples.length,
          score: scored.samples.length,
        },
      }),
    );
    const code = await runTorchModule("gbm_baseline", [dir]);
    if (code !== 0) {
      throw new Error(
        `The GBM baseline failed (exit ${code}): it needs the Python build tools with scikit-learn (PYENV_VERSION=system python3)`,
      );
    }
    const bytes = await Deno.readFile(`${dir}/p_score.f32`);
    const flat = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const choice = JSON.parse(await Deno.readTextFile(`${dir}/choice.json`));
    return {
      probs: scored.samples.map((_, i) => flat.slice(i * outputs, (i + 1) * outputs)),
      choice: {
        task: task.code,
        setting: choice.setting,
        validationScore: choice.validation,
        trainSamples: train.samples.length,
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The baseline as an evaluation source: fits one model per task on the train split (chosen on
 * val) when its records are first read, then yields the evaluated split's records with the same
 * subgroup columns as the model's source. `choices` is filled as tasks are fitted.
 */
export async function baselineEvalSource(
  options: BaselineOptions,
): Promise<EvalSource & { choices: BaselineChoice[] }> {
  const method = options.method ?? "lr";
  const manifest = await readManifest(options.modelDir);
  const normalizer = manifest.normalizer ? normalizerFromJson(manifest.normalizer) : NORMALIZER_PH;
  const codes = options.tasks.length > 0 ? options.tasks : manifest.tasks.map((t) => t.code);
  const tasks: TaskInfo[] = [];
  for (const code of codes) {
    const task = getTask(code);
    if (method === "gbm" && task.kind === "multilabel") continue;
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
    description: `${BASELINE_NAMES[method]} on ${options.dataDir}, ${options.split} split`,
    choices,
    async *records(): AsyncGenerator<PredictionRecord> {
      const metadata = await readStayMetadata(options.dataDir);
      const noteEncoder = await createNoteEncoder(manifest.note_encoder, {
        baseDir: options.modelDir,
      });
      const featurizer = modelFeaturizer({ normalizer, manifest }, options.dataDir, noteEncoder);
      const rows = async (split: Split, task: TaskInfo): Promise<Rows> => {
        const samples: Sample[] = [];
        for await (const s of readSamples(options.dataDir, task, split)) samples.push(s);
        const x = new Float32Array(samples.length * BASELINE_WIDTH);
        for (let i = 0; i < samples.length; i++) {
          const inputs = await sampleInputs(samples[i]!, featurizer);
          x.set(baselineFeatures(inputs.matrix), i * BASELINE_WIDTH);
        }
        return {
          samples,
          labelled: { x, width: BASELINE_WIDTH, labels: samples.map((s) => [...s.labels]) },
        };
      };
      try {
        for (const task of tasks) {
          const train = await rows("train", task);
          const val = await rows("val", task);
          const scored = options.split === "val" ? val : await rows(options.split, task);
          const outputs = manifest.tasks.find((t) => t.code === task.code)?.outputs ?? 1;
          const fitted = method === "gbm"
            ? await fitGbm(task, outputs, train, val, scored)
            : fitLr(task, outputs, train, val, scored, options.seed ?? 0);
          choices.push(fitted.choice);
          log(
            `baseline ${method}: ${task.code} ${
              JSON.stringify(fitted.choice.setting)
            } (validation ${METRICS_BY_KIND[task.kind][0]} ${
              fitted.choice.validationScore.toFixed(4)
            }, ${train.samples.length} training samples)`,
          );
          for (let i = 0; i < scored.samples.length; i++) {
            const sample = scored.samples[i]!;
            const probs = Array.from(fitted.probs[i]!);
            yield sampleRecord(task, sample, probs, metadata);
          }
        }
      } finally {
        await noteEncoder.close();
      }
    },
  };
}

/**
 * The model's and the baselines' metrics side by side, per task, with their bootstrap
 * intervals, then per subgroup column the first metric and ECE of each group (Markdown).
 */
export function comparisonTable(
  model: EvalReport,
  baselines: readonly { readonly name: string; readonly report: EvalReport }[],
): string {
  type Metric = EvalReport["tasks"][number]["metrics"][number];
  type Row = EvalReport["subgroups"][number]["summary"][number];
  const cell = (m: Metric | null | undefined) =>
    m === undefined || m === null || m.value === null
      ? "n/a"
      : `${m.value.toFixed(3)}${
        m.lower === null || m.upper === null ? "" : ` (${m.lower.toFixed(3)}-${m.upper.toFixed(3)})`
      }`;
  const names = baselines.map((b) => b.name);
  const lines = [
    `| task | metric | n | model | ${names.join(" | ")} |`,
    `|---|---|---|---|${names.map(() => "---|").join("")}`,
  ];
  for (const t of model.tasks) {
    for (const m of t.metrics) {
      const others = baselines.map((b) =>
        cell(b.report.tasks.find((x) => x.task === t.task)?.metrics.find((x) => x.key === m.key))
      );
      lines.push(`| ${t.task} | ${m.name} | ${t.n} | ${cell(m)} | ${others.join(" | ")} |`);
    }
  }
  const lead = (x: Row | undefined) =>
    x === undefined ? "n/a" : x.undefinedBecause ?? cell(x.metric);
  const ece = (x: Row | undefined) => x === undefined || x.ece === null ? "" : x.ece.toFixed(3);
  for (const table of model.subgroups) {
    lines.push(
      "",
      `| task | ${table.column} | n | positives | model | ${names.join(" | ")} | model ECE | ${
        names.map((n) => `${n} ECE`).join(" | ")
      } |`,
      `|---|---|---|---|---|${names.map(() => "---|---|").join("")}---|`,
    );
    for (const r of table.summary) {
      const others = baselines.map((b) =>
        b.report.subgroups.find((x) => x.column === table.column)?.summary.find((x) =>
          x.task === r.task && x.value === r.value
        )
      );
      lines.push(
        `| ${r.task} | ${r.value} | ${r.n} | ${r.positives ?? ""} | ${lead(r)}${
          r.belowOverall ? " (below overall)" : ""
        } | ${others.map(lead).join(" | ")} | ${ece(r)} | ${others.map(ece).join(" | ")} |`,
      );
    }
  }
  return lines.join("\n");
}
