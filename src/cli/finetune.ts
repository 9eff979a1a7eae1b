/**
 * `flexcare finetune --task NAME --data DIR [--model DIR] [--kind binary|multilabel|multiclass]
 * [--listfile-dir FOLDER]
 * [--label-fraction F] [--epochs N] [--seed S] [--init-token TASK|mean] [--out DIR]
 * [--class-weights] [--repeats N] [--cache DIR] [--heads DIR] [--random-model DIR] [--no-baselines]
 * [--backend wasm|native|auto] [--quiet]`: trains a new task head on the frozen backbone with
 * baselines, and writes `heads/<NAME>/head.json`, `report.md`, `report.json` and
 * `learning_curve.svg` under `--out` (see `src/finetune/finetune.ts`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BACKEND_NAMES, type BackendName } from "../model/backend.ts";
import { finetune, type FinetuneOptions } from "../finetune/finetune.ts";
import type { TaskKind } from "../data/tasks.ts";
import { UsageError } from "./usage_error.ts";
import { integerFlag, numberFlag } from "./flags.ts";

/**
 * Parses the command line into options.
 *
 * @example Flags
 * ```ts
 * import { finetuneOptions } from "./finetune.ts";
 * const o = finetuneOptions(["--task", "drg", "--data", "d", "--label-fraction", "0.01"]);
 * if (o.labelFraction !== 0.01 || o.model !== "models/default" || o.out !== "finetune-drg") throw new Error();
 * ```
 */
export function finetuneOptions(args: string[]): FinetuneOptions {
  const { values } = parseArgs({
    args,
    options: {
      task: { type: "string" },
      data: { type: "string" },
      model: { type: "string" },
      kind: { type: "string" },
      "listfile-dir": { type: "string" },
      "label-fraction": { type: "string" },
      epochs: { type: "string" },
      seed: { type: "string" },
      "init-token": { type: "string" },
      out: { type: "string" },
      "class-weights": { type: "boolean" },
      repeats: { type: "string" },
      cache: { type: "string" },
      heads: { type: "string" },
      "random-model": { type: "string" },
      "no-baselines": { type: "boolean" },
      backend: { type: "string" },
      quiet: { type: "boolean" },
    },
    strict: true,
  });
  if (!values.task || !values.data) throw new UsageError("--task NAME and --data DIR are required");
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(values.task)) {
    throw new UsageError(`--task ${JSON.stringify(values.task)} must be a plain name`);
  }
  const options: FinetuneOptions = {
    task: values.task,
    data: values.data,
    model: values.model ?? "models/default",
    out: values.out ?? `finetune-${values.task}`,
  };
  if (values.kind !== undefined) {
    if (!["binary", "multilabel", "multiclass"].includes(values.kind)) {
      throw new UsageError(`--kind must be binary, multilabel or multiclass, got ${values.kind}`);
    }
    options.kind = values.kind as TaskKind;
  }
  if (values["listfile-dir"] !== undefined) options.listfileDir = values["listfile-dir"];
  const fraction = numberFlag("label-fraction", values["label-fraction"], { above: 0, max: 1 });
  if (fraction !== undefined) options.labelFraction = fraction;
  const epochs = integerFlag("epochs", values.epochs, { min: 1 });
  if (epochs !== undefined) options.epochs = epochs;
  const seed = integerFlag("seed", values.seed, { min: 0 });
  if (seed !== undefined) options.seed = seed;
  if (values["init-token"] !== undefined) options.initToken = values["init-token"];
  if (values["class-weights"]) options.classWeights = true;
  const repeats = integerFlag("repeats", values.repeats, { min: 1 });
  if (repeats !== undefined) options.repeats = repeats;
  if (values.cache !== undefined) options.cacheDir = values.cache;
  if (values.heads !== undefined) options.headsDir = values.heads;
  if (values["random-model"] !== undefined) options.randomModel = values["random-model"];
  if (values["no-baselines"]) options.baselines = false;
  if (values.backend !== undefined) {
    if (!BACKEND_NAMES.includes(values.backend as BackendName)) {
      throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(", ")}`);
    }
    options.backend = values.backend as BackendName;
  }
  if (values.quiet) options.progress = false;
  return options;
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const options = finetuneOptions(args);
  const report = await finetune(options);
  console.log(JSON.stringify({
    head: report.headPath,
    report: `${options.out}/report.md`,
    seconds: Math.round(report.seconds["total"]! * 10) / 10,
    runs: report.runs.map((r) => ({
      features: r.features,
      fraction: r.fraction,
      labelled: r.labelled,
      test: r.test,
    })),
  }));
  return 0;
}
