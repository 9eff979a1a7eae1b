/**
 * `flexcare features <episode.csv> --end <hours> [--normalizer ph|decomp|<file>] [--raw]`:
 * prints `{"header": [...76 names], "rows": [[...76 numbers], ...]}` on stdout.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { discretize } from "../features/discretizer.ts";
import { REFERENCE_CONFIG } from "../features/discretizer_config.ts";
import { parseEpisodeCsv } from "../features/episode.ts";
import { toNestedArrays } from "../features/matrix.ts";
import { loadNormalizer } from "../features/normalizer_file.ts";
import { standardize } from "../features/normalizer.ts";
import { UsageError } from "./usage_error.ts";

/** Options for {@linkcode featuresJson}. */
export interface FeaturesCommandOptions {
  /** Path of the episode CSV. */
  episode: string;
  /** Prediction time in hours. */
  end: number;
  /**
   * `ph`, `decomp` or a path to a normalizer JSON file.
   * @default {"ph"}
   */
  normalizer?: string;
  /**
   * Skip standardization.
   * @default {false}
   */
  raw?: boolean;
}

/** Computes the JSON document the command prints. */
export async function featuresJson(
  options: FeaturesCommandOptions,
): Promise<{ header: string[]; rows: number[][] }> {
  const text = await Deno.readTextFile(options.episode);
  const observations = parseEpisodeCsv(text, { source: options.episode });
  let matrix = discretize(observations, options.end);
  if (!options.raw) matrix = standardize(matrix, await loadNormalizer(options.normalizer ?? "ph"));
  return { header: [...REFERENCE_CONFIG.header], rows: toNestedArrays(matrix) };
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      end: { type: "string" },
      normalizer: { type: "string" },
      raw: { type: "boolean" },
    },
  });
  const episode = positionals[0];
  if (episode === undefined || positionals.length > 1) {
    throw new UsageError("expected exactly one episode CSV path");
  }
  const end = Number(values.end);
  if (values.end === undefined || values.end.trim() === "" || !Number.isFinite(end)) {
    throw new UsageError(`--end must be a number of hours, got ${JSON.stringify(values.end)}`);
  }
  const doc = await featuresJson({
    episode,
    end,
    raw: values.raw ?? false,
    ...(values.normalizer === undefined ? {} : { normalizer: values.normalizer }),
  });
  console.log(JSON.stringify(doc));
  return 0;
}
