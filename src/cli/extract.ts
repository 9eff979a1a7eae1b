/**
 * `flexcare extract mimic --in DIR --out DATA [--cxr DIR] [--notes DIR] [--resources DIR]
 * [--seed N] [--buffer-mb N] [--quiet]`: raw MIMIC-III / MIMIC-IV tables to the reference
 * dataset layout (see `src/data/extract/mimic.ts`). `--buffer-mb` bounds the events held in
 * memory before they are flushed to per-stay temporary files (default 32). Prints a summary and
 * the elapsed time.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { extractMimic, type MimicExtractOptions } from "../data/extract/mimic.ts";
import { UsageError } from "./usage_error.ts";
import { integerFlag, numberFlag } from "./flags.ts";

const USAGE =
  "usage: flexcare extract mimic --in DIR --out DATA [--cxr DIR] [--notes DIR] [--resources DIR] [--seed N] [--buffer-mb N] [--quiet]";

/**
 * Parses the command's flags into extraction options.
 *
 * @example
 * ```ts
 * import { parseExtractArgs } from "./extract.ts";
 * const o = parseExtractArgs(["mimic", "--in", "raw", "--out", "data", "--seed", "7", "--buffer-mb", "1"]);
 * if (o.inDir !== "raw" || o.seed !== 7 || o.progress !== true || o.bufferBytes !== 1048576) throw new Error();
 * ```
 */
export function parseExtractArgs(args: string[]): MimicExtractOptions {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      in: { type: "string" },
      out: { type: "string" },
      cxr: { type: "string" },
      notes: { type: "string" },
      resources: { type: "string" },
      seed: { type: "string" },
      "buffer-mb": { type: "string" },
      quiet: { type: "boolean" },
    },
  });
  if (positionals.length !== 1 || positionals[0] !== "mimic") {
    throw new UsageError(`expected the source "mimic"\n${USAGE}`);
  }
  if (values.in === undefined || values.out === undefined) {
    throw new UsageError(`--in and --out are required\n${USAGE}`);
  }
  const seed = integerFlag("seed", values.seed);
  const bufferMb = numberFlag("buffer-mb", values["buffer-mb"], { above: 0 });
  return {
    inDir: values.in,
    outDir: values.out,
    progress: !(values.quiet ?? false),
    ...(values.cxr === undefined ? {} : { cxrDir: values.cxr }),
    ...(values.notes === undefined ? {} : { notesDir: values.notes }),
    ...(values.resources === undefined ? {} : { resourcesDir: values.resources }),
    ...(seed === undefined ? {} : { seed }),
    ...(bufferMb === undefined ? {} : { bufferBytes: Math.round(bufferMb * 1024 * 1024) }),
  };
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const options = parseExtractArgs(args);
  const result = await extractMimic(options);
  const samples = Object.entries(result.samples).map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(
    `${result.flavor}: ${result.stays} ICU stays, ${result.episodes} episodes; samples: ${samples}`,
  );
  console.log(`dataset card: ${options.outDir}/dataset_card.md`);
  console.log(`elapsed: ${result.elapsedSeconds.toFixed(1)} s`);
  return 0;
}
