/**
 * Streaming the event tables (CHARTEVENTS, LABEVENTS) into per-stay spool files: each event of
 * one of the 17 variables is assigned to a cohort stay (by stay id, else by time within the
 * stay), cleaned, and appended to the stay's buffer; buffers go to one temporary file per stay
 * whenever together they exceed the limit, so memory stays bounded whatever the table size.
 * Every event of a mapped item is counted: kept, cleaned, refused or skipped.
 *
 * @module
 */
import { REFERENCE_CONFIG } from "../../features/discretizer_config.ts";
import type { Observation } from "../../features/observation.ts";
import { cleanAndCheck } from "./clean.ts";
import type { CohortStay } from "./cohort.ts";
import type { CleaningLog } from "./episode_sink.ts";
import { parseMimicTime, scanTable } from "./mimic_tables.ts";
import { Progress } from "./progress.ts";
import type { ExtractResources } from "./resources.ts";

const HOUR_MS = 3600 * 1000;
const EPS = 1e-6;

/**
 * Per-stay event buffers backed by one spool file per stay.
 *
 * @example
 * ```ts
 * import { EventSpool } from "./event_spool.ts";
 * const dir = await Deno.makeTempDir();
 * const spool = new EventSpool(dir, { limit: 10 });
 * await spool.add("7", 2.5, "Heart Rate", 80);
 * await spool.add("7", 1, "Glascow coma scale total", "15");
 * await spool.flush();
 * const obs = await spool.read("7");
 * if (obs.length !== 2 || obs[0]!.hours !== 1 || obs[1]!.value !== 80) throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class EventSpool {
  readonly #dir: string;
  readonly #limit: number;
  readonly #buffers = new Map<string, string>();
  #buffered = 0;

  /** `limit`: characters buffered before a flush (default 32 Mi). */
  constructor(dir: string, options: { limit?: number } = {}) {
    this.#dir = dir;
    this.#limit = options.limit ?? 32 * 1024 * 1024;
  }

  /** Appends one observation of a stay; flushes when the buffers are full. */
  add(
    stayId: string,
    hours: number,
    channel: string,
    value: string | number,
  ): Promise<void> | void {
    const index = REFERENCE_CONFIG.channelIndex.get(channel);
    if (index === undefined) throw new RangeError(`Unknown channel ${JSON.stringify(channel)}`);
    const line = `${Math.round(hours * 1e6) / 1e6}\t${index}\t${value}\n`;
    this.#buffers.set(stayId, (this.#buffers.get(stayId) ?? "") + line);
    this.#buffered += line.length;
    if (this.#buffered > this.#limit) return this.flush();
  }

  /** Appends every buffer to its stay's spool file. */
  async flush(): Promise<void> {
    for (const [stayId, text] of this.#buffers) {
      await Deno.writeTextFile(`${this.#dir}/${stayId}.tsv`, text, { append: true });
    }
    this.#buffers.clear();
    this.#buffered = 0;
  }

  /** A stay's observations (after {@linkcode flush}), in time order; ties keep chart order. */
  async read(stayId: string): Promise<Observation[]> {
    let text: string;
    try {
      text = await Deno.readTextFile(`${this.#dir}/${stayId}.tsv`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    const out: Observation[] = [];
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const [h, c, v] = line.split("\t") as [string, string, string];
      const index = Number(c);
      const channel = REFERENCE_CONFIG.channels[index]!;
      out.push({
        hours: Number(h),
        channel,
        value: REFERENCE_CONFIG.categorical[index] ? v : Number(v),
      });
    }
    return out.sort((a, b) => a.hours - b.hours);
  }
}

/**
 * The stay an event row belongs to and its time in hours since that stay's ICU admission: the
 * row's own stay id when it has one, else the patient's stay whose ICU time contains `t`
 * (epoch ms). Returns why not when it belongs to none.
 */
export function placeEvent(
  candidates: readonly CohortStay[],
  stayId: string,
  t: number,
): { stay: CohortStay; hours: number } | "outside cohort ICU stays" | "outside ICU stay window" {
  let stay = stayId === "" ? undefined : candidates.find((s) => s.stayId === stayId);
  stay ??= candidates.find((s) => s.intime <= t && t <= s.outtime);
  if (stay === undefined) return "outside cohort ICU stays";
  const hours = (t - stay.intime) / HOUR_MS;
  if (!(hours > -EPS && hours < stay.losHours + EPS)) return "outside ICU stay window";
  return { stay, hours };
}

/** Options for {@linkcode spoolEvents}. */
export interface SpoolEventsOptions {
  /** Item map, ranges. */
  resources: ExtractResources;
  /** Cohort stays by subject id. */
  staysBySubject: ReadonlyMap<string, readonly CohortStay[]>;
  /** Where kept events go. */
  spool: EventSpool;
  /** Counters. */
  log: CleaningLog;
  /** Table name shown on the progress bar and in the counters. */
  label: string;
  /**
   * Progress bar on stderr.
   * @default {false}
   */
  progress?: boolean;
}

/**
 * Streams one event table into the spool.
 *
 * @example
 * ```ts ignore
 * await spoolEvents("CHARTEVENTS.csv.gz", { resources, staysBySubject, spool, log, label: "chartevents" });
 * ```
 */
export async function spoolEvents(path: string, options: SpoolEventsOptions): Promise<number> {
  const { resources, staysBySubject, spool, log, label } = options;
  const bar = new Progress(label.toUpperCase(), (await Deno.stat(path)).size, {
    enabled: options.progress ?? false,
    unit: "bytes",
  });
  let rowsRead = 0;
  let otherItems = 0;
  const rows = await scanTable(
    path,
    ["subject_id", "?icustay_id|stay_id", "itemid", "charttime", "value", "?valueuom"],
    ([subjectId, stayId, itemid, charttime, value, unit]) => {
      rowsRead++;
      const item = resources.items.get(itemid!);
      if (item === undefined) {
        otherItems++;
        return;
      }
      const channel = item.channel;
      const candidates = staysBySubject.get(subjectId!);
      if (candidates === undefined) {
        log.count(channel, "skipped: patient not in cohort");
        return;
      }
      const t = parseMimicTime(charttime!);
      if (Number.isNaN(t)) {
        log.count(channel, "rejected: bad charttime");
        return;
      }
      const placed = placeEvent(candidates, stayId!, t);
      if (typeof placed === "string") {
        log.count(channel, `skipped: ${placed}`);
        return;
      }
      const { stay, hours } = placed;
      const cleaned = cleanAndCheck(
        channel,
        { value: value!, unit: unit!, label: item.label },
        resources.ranges,
      );
      if (!cleaned.ok) {
        log.count(channel, `rejected: ${cleaned.reason}`);
        return;
      }
      log.count(channel, "kept");
      for (const action of cleaned.actions) log.count(channel, `cleaned: ${action}`);
      return spool.add(stay.stayId, hours, channel, cleaned.value);
    },
    { onBytes: (b) => bar.update(b, `${rowsRead} rows`) },
  );
  bar.finish(`${rows} rows`);
  log.count("(event rows)", `${label} rows read`, rows);
  log.count("(event rows)", `${label} rows of other items`, otherItems);
  return rows;
}
