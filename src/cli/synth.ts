/**
 * `flexcare synth --out <dir> --stays <n> [--seed <s>] [--image-size <px>] [--force]`: writes
 * a synthetic cohort in the reference dataset layout for all seven tasks (same bytes for the
 * same seed) and prints a one-line JSON summary.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type SyntheticDatasetSummary,
  writeSyntheticDataset,
} from "../data/synth/write_dataset.ts";
import { UsageError } from "./usage_error.ts";
import { integerFlag } from "./flags.ts";

/**
 * CLI entry: parses the flags, writes the dataset and prints its summary. Defaults: 1000
 * stays, seed 0, 256-pixel images; a non-empty `--out` needs `--force`.
 *
 * @example Missing --out is a usage error
 * ```ts
 * import { main } from "./synth.ts";
 * import { UsageError } from "./usage_error.ts";
 * const failed = await main(["--stays", "5"]).catch((e) => e instanceof UsageError);
 * if (failed !== true) throw new Error();
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      stays: { type: "string" },
      seed: { type: "string" },
      "image-size": { type: "string" },
      force: { type: "boolean" },
    },
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  if (values.out === undefined || values.out.trim() === "") {
    throw new UsageError("--out <dir> is required");
  }
  let summary: SyntheticDatasetSummary;
  try {
    summary = await writeSyntheticDataset({
      outDir: values.out,
      stays: integerFlag("stays", values.stays, { min: 1 }) ?? 1000,
      seed: integerFlag("seed", values.seed, { min: 0 }) ?? 0,
      imageSize: integerFlag("image-size", values["image-size"], { min: 256 }) ?? 256,
      overwrite: values.force ?? false,
    });
  } catch (error) {
    // A non-empty output folder is the caller's choice to make: say which flag decides it.
    if (error instanceof Deno.errors.AlreadyExists) throw new UsageError(error.message);
    throw error;
  }
  console.log(JSON.stringify({ out: values.out, ...summary }));
  return 0;
}
