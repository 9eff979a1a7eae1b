/**
 * `flexcare fit-statics --model DIR --data DIR [--tasks ihm,dec,los] [--mask 0.25] [--seed N]
 * [--dry-run]`: heads over `[s_p || unit, age, sex]` on the frozen backbone and their
 * temperatures (`../finetune/statics_heads.ts`), written into the model's `manifest.json`
 * (`statics`, and `calibration` for those tasks; the graphs are not touched, the model hash
 * changes since the heads are part of what it serves). Prints the validation and test scores of
 * the graph's head, the statics head, and the statics head with nothing known about the stay.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { getTask } from "../data/tasks.ts";
import { fitStaticsHeads, type StaticsTaskReport } from "../finetune/statics_heads.ts";
import { writeManifest } from "../model/manifest.ts";
import { integerFlag, numberFlag } from "./flags.ts";
import { UsageError } from "./usage_error.ts";

/** The Markdown table of a fit. */
export function staticsTable(reports: readonly StaticsTaskReport[]): string {
  const f = (x: number | undefined) =>
    x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(4);
  const lines = [
    "| task | metric | split | graph head | statics head | statics unknown | T | ECE before / after |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of reports) {
    for (const [split, s] of [["val", r.validation], ["test", r.test]] as const) {
      if (s === null) continue;
      const c = r.calibration[split];
      lines.push(
        `| ${r.task} | ${r.metric} | ${split} | ${f(s.graph)} | ${f(s.statics)} | ${
          f(s.unknown)
        } | ${r.temperature.toFixed(3)} | ${f(c?.eceBefore)} / ${f(c?.eceAfter)} |`,
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
 * import { main } from "./fit_statics.ts";
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
      tasks: { type: "string", default: "ihm,dec,los" },
      mask: { type: "string" },
      seed: { type: "string" },
      "dry-run": { type: "boolean", default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError("unexpected positional arguments");
  if (values.model === undefined || values.data === undefined) {
    throw new UsageError("--model DIR and --data DIR are required");
  }
  const mask = numberFlag("mask", values.mask, { min: 0, max: 1 });
  const seed = integerFlag("seed", values.seed, { min: 0 });
  const tasks = values.tasks.split(",").map((t) => getTask(t.trim()).code);
  const result = await fitStaticsHeads({
    modelDir: values.model,
    dataDir: values.data,
    tasks,
    ...(mask === undefined ? {} : { mask }),
    ...(seed === undefined ? {} : { seed }),
    log: (line) => console.error(line),
  });
  console.log(staticsTable(result.reports));
  if (values["dry-run"]) return 0;
  const path = join(values.model, "manifest.json");
  const manifest = JSON.parse(await Deno.readTextFile(path));
  manifest.statics = result.statics;
  manifest.calibration = {
    method: "temperature",
    ...(manifest.calibration ?? {}),
    tasks: { ...(manifest.calibration?.tasks ?? {}), ...result.temperatures },
  };
  await writeManifest(values.model, manifest);
  console.error(
    `Recorded statics heads for ${Object.keys(result.temperatures).join(", ")} in ${path}`,
  );
  return 0;
}
