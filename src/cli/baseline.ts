/**
 * `flexcare baseline --data DIR --out DIR [--model models/default] [--split test]
 * [--tasks ihm,dec] [--method lr|gbm] [--by COLUMN]... [--resamples N] [--seed N]`: the
 * summary-feature logistic regression, or gradient boosting with the Python build tools
 * (`../eval/baseline.ts`), trained on the dataset's train split, chosen on val, and
 * scored on `--split` with the same report as `deno task eval` (`report.md`, `report.json`,
 * reliability diagrams in `--out`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { getTask, type Split, SPLITS } from "../data/tasks.ts";
import { baselineEvalSource } from "../eval/baseline.ts";
import { reportToMarkdown } from "../eval/report.ts";
import { runEval } from "./eval.ts";
import { integerFlag } from "./flags.ts";
import { UsageError } from "./usage_error.ts";

/** The model whose inputs the baseline shares when `--model` is not given. */
export const DEFAULT_MODEL_DIR = new URL("../../models/default", import.meta.url).pathname;

/**
 * CLI entry.
 *
 * @example From the command line's arguments
 * ```ts ignore
 * import { main } from "./baseline.ts";
 * await main(["--data", "/tmp/p12ab", "--out", "/tmp/baseline"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      data: { type: "string" },
      model: { type: "string", default: DEFAULT_MODEL_DIR },
      split: { type: "string", default: "test" },
      tasks: { type: "string" },
      out: { type: "string" },
      by: { type: "string", multiple: true },
      resamples: { type: "string" },
      seed: { type: "string" },
      method: { type: "string", default: "lr" },
    },
  });
  if (positionals.length > 0) throw new UsageError("unexpected positional arguments");
  if (values.data === undefined || values.out === undefined) {
    throw new UsageError("--data DIR and --out DIR are required");
  }
  if (!(SPLITS as readonly string[]).includes(values.split)) {
    throw new UsageError(`--split must be one of ${SPLITS.join(", ")}, got ${values.split}`);
  }
  if (values.method !== "lr" && values.method !== "gbm") {
    throw new UsageError(`--method must be lr or gbm, got ${JSON.stringify(values.method)}`);
  }
  const tasks = values.tasks?.split(",").map((t) => getTask(t.trim()).code) ?? [];
  const seed = integerFlag("seed", values.seed, { min: 0 });
  const resamples = integerFlag("resamples", values.resamples, { min: 0 });
  const source = await baselineEvalSource({
    dataDir: values.data,
    modelDir: values.model,
    split: values.split as Split,
    tasks,
    method: values.method,
    ...(seed === undefined ? {} : { seed }),
    log: (line) => console.error(line),
  });
  const report = await runEval({
    source,
    out: values.out,
    by: values.by ?? [],
    ...(tasks.length === 0 ? {} : { tasks }),
    ...(resamples === undefined ? {} : { resamples }),
    ...(seed === undefined ? {} : { seed }),
  });
  console.log(reportToMarkdown(report));
  console.error(`Wrote report.md, report.json and reliability diagrams to ${values.out}`);
  return 0;
}
