/**
 * Writing episodes and counting: the episode writer formats, re-reads (with the same parser
 * the service uses) and writes each episode, and keeps per-channel coverage; the cleaning log
 * counts every value kept, converted or refused, per variable.
 *
 * @module
 */
import { formatEpisodeCsv } from "../layout_writer.ts";
import { parseEpisodeCsv } from "../../features/episode.ts";
import type { Observation } from "../../features/observation.ts";
import { REFERENCE_CONFIG } from "../../features/discretizer_config.ts";
import type { CountTable } from "../dataset_card.ts";

/**
 * Counters per variable.
 *
 * @example
 * ```ts
 * import { CleaningLog } from "./episode_sink.ts";
 * const log = new CleaningLog();
 * log.count("Heart Rate", "kept");
 * log.count("Heart Rate", "kept", 2);
 * if (log.toJSON()["Heart Rate"]!.kept !== 3) throw new Error();
 * ```
 */
export class CleaningLog {
  readonly #tables = new Map<string, CountTable>();

  /** Adds `n` to a counter. */
  count(variable: string, key: string, n = 1): void {
    let t = this.#tables.get(variable);
    if (t === undefined) {
      t = {};
      this.#tables.set(variable, t);
    }
    t[key] = (t[key] ?? 0) + n;
  }

  /** Reads one counter. */
  get(variable: string, key: string): number {
    return this.#tables.get(variable)?.[key] ?? 0;
  }

  /** All counters, variables sorted by name. */
  toJSON(): Record<string, CountTable> {
    const out: Record<string, CountTable> = {};
    for (const k of [...this.#tables.keys()].sort()) out[k] = { ...this.#tables.get(k)! };
    return out;
  }
}

/** What was written for one episode. */
export interface WrittenEpisode {
  /** File name inside `ehr/`. */
  name: string;
  /** Number of time rows. */
  rows: number;
  /** Hours of the first row (NaN when empty). */
  firstHours: number;
  /** Per channel, values dropped because a later value had the same time (the last one is kept). */
  duplicates: Map<string, number>;
}

/**
 * Writes episode CSVs into `dataDir/ehr`, checking each with `parseEpisodeCsv`.
 *
 * @example
 * ```ts
 * import { EpisodeWriter } from "./episode_sink.ts";
 * const dir = await Deno.makeTempDir();
 * const w = new EpisodeWriter(dir);
 * const e = await w.write("1_episode1_timeseries.csv", [{ hours: 0.5, channel: "Heart Rate", value: 80 }]);
 * if (e.rows !== 1 || w.coverage().perChannel["Heart Rate"]!.episodes !== 1) throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class EpisodeWriter {
  readonly #dir: string;
  #made = false;
  #episodes = 0;
  readonly #perChannel: Record<string, { episodes: number; values: number }> = {};

  constructor(dataDir: string) {
    this.#dir = `${dataDir}/ehr`;
    for (const c of REFERENCE_CONFIG.channels) this.#perChannel[c] = { episodes: 0, values: 0 };
  }

  /**
   * Formats, validates and writes one episode. Observations at the same time and channel keep
   * the last one; the others are reported in `duplicates`.
   */
  async write(name: string, observations: readonly Observation[]): Promise<WrittenEpisode> {
    if (!this.#made) {
      await Deno.mkdir(this.#dir, { recursive: true });
      this.#made = true;
    }
    const text = formatEpisodeCsv(observations);
    const path = `${this.#dir}/${name}`;
    const parsed = parseEpisodeCsv(text, { source: path });
    await Deno.writeTextFile(path, text);
    this.#episodes++;
    const seen = new Set<string>();
    let first = Number.NaN;
    const times = new Set<number>();
    for (const o of parsed) {
      this.#perChannel[o.channel]!.values++;
      seen.add(o.channel);
      times.add(o.hours);
      if (!(o.hours >= first)) first = o.hours;
    }
    for (const c of seen) this.#perChannel[c]!.episodes++;
    const duplicates = new Map<string, number>();
    if (parsed.length !== observations.length) {
      for (const o of observations) duplicates.set(o.channel, (duplicates.get(o.channel) ?? 0) + 1);
      for (const o of parsed) duplicates.set(o.channel, duplicates.get(o.channel)! - 1);
      for (const [c, n] of duplicates) if (n === 0) duplicates.delete(c);
    }
    return { name, rows: times.size, firstHours: first, duplicates };
  }

  /** Coverage of everything written so far (the dataset card's input). */
  coverage(): {
    episodes: number;
    perChannel: Record<string, { episodes: number; values: number }>;
  } {
    return { episodes: this.#episodes, perChannel: structuredClone(this.#perChannel) };
  }
}
