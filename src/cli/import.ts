/**
 * `flexcare import physionet2012 --in DIR --out DATA [--sets a,b] [--resources DIR] [--seed N]
 * [--quiet]`: PhysioNet/CinC Challenge 2012 records to the reference dataset layout (see
 * `src/data/import/physionet2012.ts`). Prints a summary and the elapsed time.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { importPhysionet2012, type Physionet2012Options } from "../data/import/physionet2012.ts";
import { UsageError } from "./usage_error.ts";
import { integerFlag } from "./flags.ts";

const USAGE =
  "usage: flexcare import physionet2012 --in DIR --out DATA [--sets a,b] [--resources DIR] [--seed N] [--quiet]";

/**
 * Parses the command's flags into import options.
 *
 * @example
 * ```ts
 * import { parseImportArgs } from "./import.ts";
 * const o = parseImportArgs(["physionet2012", "--in", "p12", "--out", "data", "--sets", "a,b"]);
 * if (o.sets?.join() !== "a,b" || o.outDir !== "data") throw new Error();
 * ```
 */
export function parseImportArgs(args: string[]): Physionet2012Options {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      in: { type: "string" },
      out: { type: "string" },
      sets: { type: "string" },
      resources: { type: "string" },
      seed: { type: "string" },
      quiet: { type: "boolean" },
    },
  });
  if (positionals.length !== 1 || positionals[0] !== "physionet2012") {
    throw new UsageError(`expected the source "physionet2012"\n${USAGE}`);
  }
  if (values.in === undefined || values.out === undefined) {
    throw new UsageError(`--in and --out are required\n${USAGE}`);
  }
  const seed = integerFlag("seed", values.seed);
  const sets = values.sets?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (sets !== undefined && (sets.length === 0 || sets.some((s) => !/^[a-z]$/i.test(s)))) {
    throw new UsageError(
      `--sets must list set letters like "a,b", got ${JSON.stringify(values.sets)}`,
    );
  }
  return {
    inDir: values.in,
    outDir: values.out,
    progress: !(values.quiet ?? false),
    ...(sets === undefined ? {} : { sets }),
    ...(values.resources === undefined ? {} : { resourcesDir: values.resources }),
    ...(seed === undefined ? {} : { seed }),
  };
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const options = parseImportArgs(args);
  const result = await importPhysionet2012(options);
  const samples = Object.entries(result.samples).map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(
    `physionet2012: ${result.records} records, in-hospital mortality ${
      (100 * result.mortality).toFixed(2)
    }%; samples: ${samples}`,
  );
  console.log(`dataset card: ${options.outDir}/dataset_card.md`);
  console.log(`elapsed: ${result.elapsedSeconds.toFixed(1)} s`);
  return 0;
}
