/**
 * Episode time-series CSV files (`Hours,<channel>...`) to observations.
 *
 * @module
 */
import { parseCsv } from "../data/csv.ts";
import { type DiscretizerConfig, REFERENCE_CONFIG } from "./discretizer_config.ts";
import { FeatureInputError } from "./errors.ts";
import { encodeObservation, type Observation } from "./observation.ts";

/** Options for {@linkcode parseEpisodeCsv}. */
export interface EpisodeCsvOptions {
  /**
   * Name used in error messages.
   * @default {"<episode>"}
   */
  source?: string;
  /**
   * Configuration the values are checked against.
   * @default {REFERENCE_CONFIG}
   */
  config?: DiscretizerConfig;
}

/**
 * Parses an episode CSV into observations in file order, one per non-empty cell, checking
 * every value. Errors name the source and line.
 *
 * @example Two observations
 * ```ts
 * import { parseEpisodeCsv } from "./episode.ts";
 * const obs = parseEpisodeCsv("Hours,Heart Rate,Glascow coma scale total\n0.5,88,15\n1.5,,\n");
 * if (obs.length !== 2 || obs[1]!.value !== "15") throw new Error();
 * ```
 */
export function parseEpisodeCsv(text: string, options: EpisodeCsvOptions = {}): Observation[] {
  const source = options.source ?? "<episode>";
  const config = options.config ?? REFERENCE_CONFIG;
  const records = parseCsv(text, { source });
  const head = records[0];
  if (head === undefined) {
    throw new SyntaxError(`${source}: empty episode file, expected a header row`);
  }
  const [first, ...channels] = head.fields;
  if (first?.trim() !== "Hours") {
    throw new SyntaxError(
      `${source}:${head.line}: first column must be "Hours", got ${JSON.stringify(first)}`,
    );
  }
  for (const channel of channels) {
    if (!config.channelIndex.has(channel)) {
      throw new SyntaxError(
        `${source}:${head.line}: unknown channel column ${JSON.stringify(channel)}`,
      );
    }
  }
  const observations: Observation[] = [];
  for (let r = 1; r < records.length; r++) {
    const { fields, line } = records[r]!;
    if (fields.length !== head.fields.length) {
      throw new SyntaxError(
        `${source}:${line}: expected ${head.fields.length} fields, found ${fields.length}`,
      );
    }
    const hoursText = fields[0]!.trim();
    const hours = hoursText === "" ? Number.NaN : Number(hoursText);
    for (let j = 1; j < fields.length; j++) {
      const value = fields[j]!;
      if (value === "") continue;
      const obs: Observation = { hours, channel: channels[j - 1]!, value };
      try {
        encodeObservation(config, obs);
      } catch (error) {
        if (!(error instanceof FeatureInputError)) throw error;
        throw new FeatureInputError(error.problem, {
          channel: error.channel,
          value: error.value,
          hour: error.hour,
          message: `${source}:${line}: ${error.message}`,
        });
      }
      observations.push(obs);
    }
  }
  return observations;
}
