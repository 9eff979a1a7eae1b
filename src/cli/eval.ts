/**
 * `flexcare eval --predictions FILE.jsonl --out DIR [--by COLUMN]... [--tasks ihm,dec]
 * [--resamples N] [--seed N]`: evaluates stored predictions (one JSON object per line, see
 * `../eval/predictions.ts`) and writes `report.md`, `report.json` and reliability diagrams into
 * `DIR`, printing the Markdown report.
 *
 * `--model DIR --data DIR [--split test] [--batch-size N]` runs a model directory over a dataset
 * split instead (`../eval/model_source.ts`), batched, with a progress bar; decompensation
 * records carry NEWS2 and every record its modality pattern (`--by modality`). With
 * `--baseline`, the summary-feature logistic regression (`../eval/baseline.ts`) is trained on
 * the same dataset's train split and scored on the same samples; its report goes to
 * `DIR/baseline/` and the side-by-side table to `DIR/comparison.md` and stdout; `--gbm` adds
 * scikit-learn's gradient boosting on the same features (the Python build tools), in
 * `DIR/baseline-gbm/`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  BASELINE_NAMES,
  baselineEvalSource,
  type BaselineMethod,
  type BaselineOptions,
  comparisonTable,
} from "../eval/baseline.ts";
import { modelEvalSource } from "../eval/model_source.ts";
import { getTask, type Split, SPLITS } from "../data/tasks.ts";
import {
  type EvalSource,
  jsonlEvalSource,
  type ModelEvalSourceFactory,
} from "../eval/eval_source.ts";
import { type EvalReport, evaluateSource } from "../eval/evaluate.ts";
import { reportToMarkdown, writeReport } from "../eval/report.ts";
import { UsageError } from "./usage_error.ts";
import { integerFlag } from "./flags.ts";

/** Options for {@linkcode runEval}. */
export interface EvalCommandOptions {
  /** Where the predictions come from. */
  source: EvalSource;
  /** Output folder for `report.md`, `report.json` and the diagrams. */
  out: string;
  /**
   * Group columns for subgroup tables.
   * @default {[]}
   */
  by?: readonly string[];
  /**
   * Task codes to evaluate.
   * @default {undefined} (every task present)
   */
  tasks?: readonly string[];
  /**
   * Bootstrap resamples per interval.
   * @default {1000}
   */
  resamples?: number;
  /**
   * Bootstrap seed.
   * @default {0}
   */
  seed?: number;
}

/** What the command needs from outside (tests inject their own). */
export interface EvalDependencies {
  /** Builds the `--model` source. */
  readonly modelSource: ModelEvalSourceFactory;
  /** Builds the `--baseline` source. */
  readonly baselineSource: (options: BaselineOptions) => Promise<EvalSource>;
}

/**
 * The dependencies `main` uses: the model runtime's evaluation source.
 *
 * @example The real model source
 * ```ts
 * import { DEFAULT_DEPENDENCIES } from "./eval.ts";
 * if (typeof DEFAULT_DEPENDENCIES.modelSource !== "function") throw new Error();
 * ```
 */
export const DEFAULT_DEPENDENCIES: EvalDependencies = Object.freeze({
  modelSource: modelEvalSource,
  baselineSource: baselineEvalSource,
});

/**
 * Evaluates a source and writes the report files.
 *
 * @example Evaluate a JSON-lines file
 * ```ts ignore
 * import { runEval } from "./eval.ts";
 * import { jsonlEvalSource } from "../eval/eval_source.ts";
 * const report = await runEval({ source: jsonlEvalSource("preds.jsonl"), out: "out/eval" });
 * ```
 */
export async function runEval(options: EvalCommandOptions): Promise<EvalReport> {
  const report = await evaluateSource(options.source, {
    by: options.by ?? [],
    bootstrap: { resamples: options.resamples ?? 1000, seed: options.seed ?? 0 },
    ...(options.tasks === undefined ? {} : { tasks: options.tasks }),
  });
  await writeReport(report, options.out);
  return report;
}

/** Prints a one-line progress bar on stderr. */
function progressBar(done: number, total: number): void {
  const width = 30;
  const filled = total > 0 ? Math.round(done / total * width) : width;
  const bar = "#".repeat(filled) + "-".repeat(width - filled);
  const text = `\reval [${bar}] ${done}/${total}${done >= total ? "\n" : ""}`;
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

/**
 * CLI entry: parses flags, builds the source, evaluates, writes and prints the report.
 *
 * @example From the command line's arguments
 * ```ts ignore
 * import { main } from "./eval.ts";
 * const code = await main(["--predictions", "preds.jsonl", "--out", "out/eval", "--by", "modality"]);
 * ```
 */
export async function main(
  args: string[],
  deps: EvalDependencies = DEFAULT_DEPENDENCIES,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      predictions: { type: "string" },
      model: { type: "string" },
      data: { type: "string" },
      split: { type: "string" },
      "batch-size": { type: "string" },
      out: { type: "string" },
      by: { type: "string", multiple: true },
      tasks: { type: "string" },
      resamples: { type: "string" },
      seed: { type: "string" },
      baseline: { type: "boolean", default: false },
      gbm: { type: "boolean", default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError("unexpected positional arguments");
  if (values.out === undefined) throw new UsageError("--out DIR is required");
  const tasks = values.tasks?.split(",").map((t) => getTask(t.trim()).code);
  let source: EvalSource;
  if ((values.baseline || values.gbm) && values.model === undefined) {
    throw new UsageError("--baseline and --gbm need --model DIR with --data DIR");
  }
  if (values.predictions !== undefined) {
    if (values.model !== undefined || values.data !== undefined) {
      throw new UsageError("give either --predictions or --model with --data, not both");
    }
    source = jsonlEvalSource(values.predictions);
  } else if (values.model !== undefined) {
    if (values.data === undefined) throw new UsageError("--model needs --data DIR");
    const split = values.split ?? "test";
    if (!(SPLITS as readonly string[]).includes(split)) {
      throw new UsageError(
        `--split must be one of ${SPLITS.join(", ")}, got ${JSON.stringify(split)}`,
      );
    }
    source = await deps.modelSource({
      modelDir: values.model,
      dataDir: values.data,
      split: split as Split,
      tasks: tasks ?? [],
      batchSize: integerFlag("batch-size", values["batch-size"], { min: 1 }) ?? 32,
      onProgress: progressBar,
    });
  } else {
    throw new UsageError("expected --predictions FILE.jsonl, or --model DIR with --data DIR");
  }
  const resamples = integerFlag("resamples", values.resamples, { min: 0 });
  const seed = integerFlag("seed", values.seed, { min: 0 });
  const report = await runEval({
    source,
    out: values.out,
    by: values.by ?? [],
    ...(tasks === undefined ? {} : { tasks }),
    ...(resamples === undefined ? {} : { resamples }),
    ...(seed === undefined ? {} : { seed }),
  });
  console.log(reportToMarkdown(report));
  console.error(`Wrote report.md, report.json and reliability diagrams to ${values.out}`);
  const methods: BaselineMethod[] = [
    ...(values.baseline ? ["lr" as const] : []),
    ...(values.gbm ? ["gbm" as const] : []),
  ];
  const baselines: { name: string; report: EvalReport }[] = [];
  for (const method of methods) {
    const out = join(values.out, method === "lr" ? "baseline" : `baseline-${method}`);
    const report = await runEval({
      source: await deps.baselineSource({
        dataDir: values.data!,
        modelDir: values.model!,
        split: (values.split ?? "test") as Split,
        tasks: tasks ?? [],
        method,
        ...(seed === undefined ? {} : { seed }),
        log: (line) => console.error(line),
      }),
      out,
      by: values.by ?? [],
      ...(tasks === undefined ? {} : { tasks }),
      ...(resamples === undefined ? {} : { resamples }),
      ...(seed === undefined ? {} : { seed }),
    });
    baselines.push({ name: BASELINE_NAMES[method], report });
    console.error(`Wrote the ${BASELINE_NAMES[method]} report to ${out}`);
  }
  if (baselines.length > 0) {
    const table = comparisonTable(report, baselines);
    await Deno.writeTextFile(join(values.out, "comparison.md"), table + "\n");
    console.log(`\n## Model and baselines on the same samples\n\n${table}`);
    console.error(`Wrote comparison.md to ${values.out}`);
  }
  return 0;
}
