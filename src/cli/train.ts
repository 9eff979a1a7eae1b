/**
 * `flexcare train --store STORE --out DIR [--epochs N] [--tasks ihm,dec ...] [--lr X] [--seed S]
 * [--batch-size B] [--device cpu|cuda] [--threads N] [--config JSON] [--resume]
 * [--max-samples-per-task N] [--task-samples ihm=N,...] [--bucket B] [--init CKPT] [--lr-patience K]
 * [--min-lr X]`: trains the
 * FlexCare backbone (Algorithm 1) on a tensor store with the PyTorch package in
 * `models/pytorch/`, run by the system Python (`PYENV_VERSION=system python3`).
 *
 * Also the one place that knows how to start that Python: {@linkcode runTorchModule}.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { UsageError } from "./usage_error.ts";
import { integerFlag, numberFlag } from "./flags.ts";

/** Folder of the `flexcare_torch` package. */
export const TORCH_PACKAGE_DIR: string = fileURLToPath(
  new URL("../../models/pytorch", import.meta.url),
);

/** Options of {@linkcode runTorchModule}. */
export interface RunTorchOptions {
  /**
   * Python executable.
   * @default {"python3"}
   */
  python?: string;
}

/**
 * Runs `python3 -m flexcare_torch.<module> ...args` with the system interpreter (PyTorch, onnx
 * and scikit-learn come from the OS packages), the package folder on `PYTHONPATH`, and the
 * terminal's stdin/stdout/stderr. Resolves to the process exit code.
 *
 * @example Run a module's help
 * ```ts ignore
 * import { runTorchModule } from "./train.ts";
 * const code = await runTorchModule("train", ["--help"]);
 * ```
 */
export async function runTorchModule(
  module: string,
  args: string[],
  options: RunTorchOptions = {},
): Promise<number> {
  const existing = Deno.env.get("PYTHONPATH");
  const child = new Deno.Command(options.python ?? "python3", {
    args: ["-m", `flexcare_torch.${module}`, ...args],
    env: {
      PYENV_VERSION: "system",
      PYTHONPATH: existing ? `${TORCH_PACKAGE_DIR}:${existing}` : TORCH_PACKAGE_DIR,
    },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

/** Options of the train command, as parsed from the command line. */
export interface TrainCommandOptions {
  /** Tensor store directory written by `deno task tensorize`. */
  store: string;
  /** Output directory (checkpoints `best.pt`, `last.pt`, `metrics.json`). */
  out: string;
  /** Epochs in total (a resumed run stops at this epoch). */
  epochs?: number;
  /** Task codes; every task of the store when empty. */
  tasks?: string[];
  /** Adam learning rate each task starts with. */
  lr?: number;
  /** Random seed. */
  seed?: number;
  /** Mini-batch size (32 in the paper). */
  batchSize?: number;
  /** `cpu` or `cuda`. */
  device?: string;
  /** PyTorch CPU threads (0 = PyTorch's default). */
  threads?: number;
  /** JSON overrides of the model configuration (`FlexCareConfig` fields). */
  config?: string;
  /** Continue from `OUT/last.pt`. */
  resume?: boolean;
  /** Train each task on a fresh random subset of this many samples per epoch. */
  maxSamplesPerTask?: number;
  /** Per-task subset sizes overriding `maxSamplesPerTask` (task code -> samples per epoch). */
  taskSamples?: Record<string, number>;
  /** Sort runs of this many batches by time-series length (0: plain shuffle; default 8). */
  bucket?: number;
  /** Start from this checkpoint's weights and configuration. */
  init?: string;
  /**
   * Halve a task's learning rate after this many epochs in a row whose validation loss did not
   * fall (1, the default, is the reference code's rule).
   */
  lrPatience?: number;
  /** Never halve a task's learning rate below this. */
  minLr?: number;
}

/**
 * The `flexcare_torch.train` arguments for the given options.
 *
 * @example Flags translated
 * ```ts
 * import { trainPythonArgs } from "./train.ts";
 * const args = trainPythonArgs({ store: "s", out: "o", tasks: ["ihm", "dec"], epochs: 2, resume: true });
 * if (args.join(" ") !== "--store s --out o --epochs 2 --tasks ihm dec --resume") throw new Error(args.join(" "));
 * const lr = trainPythonArgs({ store: "s", out: "o", lrPatience: 2, minLr: 1.25e-4, taskSamples: { ihm: 9 } });
 * if (lr.join(" ") !== "--store s --out o --task-samples ihm=9 --lr-patience 2 --min-lr 0.000125") throw new Error(lr.join(" "));
 * ```
 */
export function trainPythonArgs(options: TrainCommandOptions): string[] {
  const args = ["--store", options.store, "--out", options.out];
  if (options.epochs !== undefined) args.push("--epochs", String(options.epochs));
  if (options.tasks !== undefined && options.tasks.length > 0) {
    args.push("--tasks", ...options.tasks);
  }
  if (options.lr !== undefined) args.push("--lr", String(options.lr));
  if (options.seed !== undefined) args.push("--seed", String(options.seed));
  if (options.batchSize !== undefined) args.push("--batch-size", String(options.batchSize));
  if (options.device !== undefined) args.push("--device", options.device);
  if (options.threads !== undefined) args.push("--threads", String(options.threads));
  if (options.config !== undefined) args.push("--config", options.config);
  if (options.resume) args.push("--resume");
  if (options.maxSamplesPerTask !== undefined) {
    args.push("--max-samples-per-task", String(options.maxSamplesPerTask));
  }
  if (options.taskSamples !== undefined && Object.keys(options.taskSamples).length > 0) {
    const entries = Object.entries(options.taskSamples).map(([task, n]) => `${task}=${n}`);
    args.push("--task-samples", entries.join(","));
  }
  if (options.bucket !== undefined) args.push("--bucket", String(options.bucket));
  if (options.init !== undefined) args.push("--init", options.init);
  if (options.lrPatience !== undefined) args.push("--lr-patience", String(options.lrPatience));
  if (options.minLr !== undefined) args.push("--min-lr", String(options.minLr));
  return args;
}

/**
 * Parses `--task-samples`: comma-separated `TASK=N` entries, N a positive integer, each task
 * once.
 *
 * @example
 * ```ts
 * import { parseTaskSamples } from "./train.ts";
 * const m = parseTaskSamples("ihm=5000, dec=4000");
 * if (m.ihm !== 5000 || m.dec !== 4000) throw new Error();
 * for (const bad of ["ihm", "ihm=0", "ihm=1,ihm=2", "ihm=2.5", ""]) {
 *   let refused = false;
 *   try {
 *     parseTaskSamples(bad);
 *   } catch {
 *     refused = true;
 *   }
 *   if (!refused) throw new Error(`accepted ${bad}`);
 * }
 * ```
 */
export function parseTaskSamples(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const match = /^([A-Za-z0-9_-]+)=(\d+)$/.exec(part);
    const n = match ? Number(match[2]) : 0;
    if (!match || n < 1) {
      throw new UsageError(
        `--task-samples expects TASK=N entries with N >= 1, got ${JSON.stringify(part)}`,
      );
    }
    if (match[1]! in out) {
      throw new UsageError(`--task-samples names ${JSON.stringify(match[1])} twice`);
    }
    out[match[1]!] = n;
  }
  if (Object.keys(out).length === 0) {
    throw new UsageError(`--task-samples expects TASK=N entries, got ${JSON.stringify(text)}`);
  }
  return out;
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      store: { type: "string" },
      out: { type: "string" },
      epochs: { type: "string" },
      tasks: { type: "string", multiple: true },
      lr: { type: "string" },
      seed: { type: "string" },
      "batch-size": { type: "string" },
      device: { type: "string" },
      threads: { type: "string" },
      config: { type: "string" },
      resume: { type: "boolean" },
      "max-samples-per-task": { type: "string" },
      bucket: { type: "string" },
      init: { type: "string" },
      "lr-patience": { type: "string" },
      "task-samples": { type: "string" },
      "min-lr": { type: "string" },
    },
  });
  // `--tasks ihm dec` leaves `dec` as a positional; accept both that and `--tasks ihm,dec`.
  const tasks = [...(values.tasks ?? []), ...(values.tasks ? positionals : [])]
    .flatMap((t) => t.split(","))
    .filter((t) => t !== "");
  if (!values.tasks && positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  if (values.store === undefined) throw new UsageError("--store is required");
  if (values.out === undefined) throw new UsageError("--out is required");
  const options: TrainCommandOptions = { store: values.store, out: values.out, tasks };
  const epochs = integerFlag("epochs", values.epochs, { min: 0 });
  const lr = numberFlag("lr", values.lr, { min: 0 });
  const seed = integerFlag("seed", values.seed, { min: 0 });
  const batchSize = integerFlag("batch-size", values["batch-size"], { min: 0 });
  const threads = integerFlag("threads", values.threads, { min: 0 });
  if (epochs !== undefined) options.epochs = epochs;
  if (lr !== undefined) options.lr = lr;
  if (seed !== undefined) options.seed = seed;
  if (batchSize !== undefined) options.batchSize = batchSize;
  if (threads !== undefined) options.threads = threads;
  if (values.device !== undefined) options.device = values.device;
  if (values.config !== undefined) options.config = values.config;
  if (values.resume) options.resume = true;
  const maxSamples = integerFlag("max-samples-per-task", values["max-samples-per-task"], {
    min: 0,
  });
  const bucket = integerFlag("bucket", values.bucket, { min: 0 });
  if (maxSamples !== undefined) options.maxSamplesPerTask = maxSamples;
  if (bucket !== undefined) options.bucket = bucket;
  if (values.init !== undefined) options.init = values.init;
  if (values["task-samples"] !== undefined) {
    options.taskSamples = parseTaskSamples(values["task-samples"]);
  }
  const lrPatience = integerFlag("lr-patience", values["lr-patience"], { min: 1 });
  const minLr = numberFlag("min-lr", values["min-lr"], { min: 0 });
  if (lrPatience !== undefined) options.lrPatience = lrPatience;
  if (minLr !== undefined) options.minLr = minLr;
  return await runTorchModule("train", trainPythonArgs(options));
}
