/**
 * `flexcare calibrate --model DIR --data DIR [--fit-split val] [--score-splits test]
 * [--tasks ihm,dec] [--batch-size N] [--dry-run]`: runs the model, uncalibrated, over the fit
 * split of a dataset in the reference layout, fits one temperature per task that has data there
 * (`../eval/calibrate.ts`), scores the other splits before and after, prints a table and
 * (unless `--dry-run`) records the temperatures in the model's `manifest.json` as
 * `calibration`, which every serving path then applies. The graphs are not touched (the model
 * hash stays the same).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { getTask, type Split, SPLITS } from "../data/tasks.ts";
import { fitCalibration, type FittedTask } from "../eval/calibrate.ts";
import { modelEvalSource } from "../eval/model_source.ts";
import type { PredictionRecord } from "../eval/predictions.ts";
import type { ModelCalibration } from "../model/calibration.ts";
import { writeManifest } from "../model/manifest.ts";
import { integerFlag } from "./flags.ts";
import { UsageError } from "./usage_error.ts";

function splitFlag(name: string, value: string): Split {
  if (!(SPLITS as readonly string[]).includes(value)) {
    throw new UsageError(
      `--${name} must be among ${SPLITS.join(", ")}, got ${JSON.stringify(value)}`,
    );
  }
  return value as Split;
}

/** The Markdown table of a fit. */
export function calibrationTable(fitted: ReadonlyMap<string, FittedTask>): string {
  const f = (x: number) => Number.isFinite(x) ? x.toFixed(4) : "n/a";
  const lines = [
    "| task | T | split | samples | NLL before | NLL after | ECE before | ECE after |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const [code, t] of fitted) {
    for (const [split, s] of Object.entries(t.splits)) {
      lines.push(
        `| ${code} | ${t.temperature.toFixed(3)} | ${split} | ${s.samples} | ${f(s.nllBefore)} | ${
          f(s.nllAfter)
        } | ${f(s.eceBefore)} | ${f(s.eceAfter)} |`,
      );
    }
  }
  return lines.join("\n");
}

/**
 * CLI entry.
 *
 * @example From the command line's arguments
 * ```ts ignore
 * import { main } from "./calibrate.ts";
 * await main(["--model", "models/default", "--data", "/tmp/p12ab", "--dry-run"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      model: { type: "string" },
      data: { type: "string" },
      "fit-split": { type: "string", default: "val" },
      "score-splits": { type: "string", default: "test" },
      tasks: { type: "string" },
      "batch-size": { type: "string" },
      "dry-run": { type: "boolean", default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError("unexpected positional arguments");
  if (values.model === undefined || values.data === undefined) {
    throw new UsageError("--model DIR and --data DIR are required");
  }
  const fitSplit = splitFlag("fit-split", values["fit-split"]);
  const scoreSplits = values["score-splits"].split(",").map((s) => s.trim()).filter(Boolean)
    .map((s) => splitFlag("score-splits", s)).filter((s) => s !== fitSplit);
  const tasks = values.tasks?.split(",").map((t) => getTask(t.trim()).code) ?? [];
  const batchSize = integerFlag("batch-size", values["batch-size"], { min: 1 }) ?? 32;
  const splits: Record<string, PredictionRecord[]> = {};
  for (const split of [fitSplit, ...scoreSplits]) {
    const source = await modelEvalSource({
      modelDir: values.model,
      dataDir: values.data,
      split,
      tasks,
      batchSize,
      calibrated: false,
    });
    const records: PredictionRecord[] = [];
    for await (const r of source.records()) records.push(r);
    splits[split] = records;
    console.error(`calibrate: ${records.length} ${split} records`);
  }
  const fitted = fitCalibration(splits, fitSplit);
  console.log(calibrationTable(fitted));
  if (values["dry-run"]) return 0;
  const path = join(values.model, "manifest.json");
  const manifest = JSON.parse(await Deno.readTextFile(path));
  const calibration: ModelCalibration = {
    method: "temperature",
    fitted: {
      data: values.data,
      split: fitSplit,
      objective: "negative log-likelihood",
      at: new Date().toISOString(),
    },
    tasks: {
      ...(manifest.calibration?.tasks ?? {}),
      ...Object.fromEntries(
        [...fitted].map(([code, t]) => [code, {
          temperature: Number(t.temperature.toFixed(6)),
          splits: t.splits,
        }]),
      ),
    },
  };
  manifest.calibration = calibration;
  await writeManifest(values.model, manifest);
  console.error(`Recorded ${fitted.size} temperatures in ${path}`);
  return 0;
}
