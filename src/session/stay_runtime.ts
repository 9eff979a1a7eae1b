/**
 * The in-memory state of one resident stay and the step rule: which prediction times a new
 * event asks for.
 *
 * Step rule (times are hours since admission):
 * - Hourly steps. Observations drive the stay's clock: `lastObs` is the latest observation
 *   time. A whole hour `h >= 1` is complete once an observation later than `h` has arrived
 *   (`h < lastObs`), since until then more data at or before `h` can still belong to the
 *   prediction at `h` (its matrix reads every observation at time <= h). Every newly completed
 *   hour gets one prediction; hours at which no modality has data yet (no observation, image
 *   or note at or before `h`) are skipped and not back-filled later.
 * - An image or note at time `t` asks for a step at `max(t, 0)`; it uses the latest image and
 *   note at or before the prediction time.
 * - Late data: an observation at time `t` changes every prediction at a time `>= t`; an image
 *   or note at time `t` changes the predictions at times `>= t` for which it is the latest of
 *   its kind. Those already published are computed again and published with new sequence
 *   numbers: the latest `seq` of a (task, hours) pair is the current one.
 * - One write runs at most `maxSteps` steps (the latest prediction times), so a long gap or a
 *   very late observation cannot stall the stay; older hours keep their earlier predictions.
 *
 * @module
 */
import { StayTimeSeries } from "../features/stay_time_series.ts";
import { EPS } from "../features/observation.ts";
import type { DiscretizerConfig } from "../features/discretizer_config.ts";
import type { TowerStates } from "../model/flexcare_model.ts";
import type { EncodedNote } from "../features/notes/encoder.ts";

/** A stored image or note and its cached model input. */
export interface AttachmentEntry {
  readonly kind: "image" | "note";
  readonly hours: number;
  /** Event sequence number in the stay's log (arrival order). */
  readonly eventSeq: number;
  /** Declared media type (images). */
  readonly mediaType?: string;
  /** Note section text, kept until the note is encoded. */
  text?: string;
  /** Preprocessed image tensor or note token embeddings (kept in reference mode only). */
  input?: Float32Array | EncodedNote;
  /** Tower states (staged models). */
  states?: TowerStates;
}

/** An observation with its time already in hours. */
export interface TimedObservation {
  readonly hours: number;
  readonly channel: string;
  readonly value: string | number;
}

/** The whole hours completed by observations up to `lastObs` (0 when none). */
export function completedHours(lastObs: number): number {
  if (!Number.isFinite(lastObs)) return 0;
  return Math.max(0, Math.ceil(lastObs - EPS) - 1);
}

/**
 * The latest entry (by time, then arrival) at or before `hours`, or `undefined`.
 *
 * @example A same-time later arrival wins
 * ```ts
 * import { latestAt } from "./stay_runtime.ts";
 * const a = { kind: "image" as const, hours: 2, eventSeq: 3 };
 * const b = { kind: "image" as const, hours: 2, eventSeq: 5 };
 * if (latestAt([a, b], 2) !== b || latestAt([a, b], 1.5) !== undefined) throw new Error();
 * ```
 */
export function latestAt<T extends { hours: number; eventSeq: number }>(
  entries: readonly T[],
  hours: number,
): T | undefined {
  let best: T | undefined;
  for (const e of entries) {
    if (e.hours > hours + EPS) continue;
    if (
      best === undefined || e.hours > best.hours ||
      (e.hours === best.hours && e.eventSeq > best.eventSeq)
    ) {
      best = e;
    }
  }
  return best;
}

/** One resident stay. */
export class StayRuntime {
  readonly stayId: string;
  readonly admittedAtMs: number;
  readonly series: StayTimeSeries;
  /** Earliest and latest observation times. */
  firstObs = Number.POSITIVE_INFINITY;
  lastObs = Number.NEGATIVE_INFINITY;
  readonly images: AttachmentEntry[] = [];
  readonly notes: AttachmentEntry[] = [];
  /** Distinct published prediction times, ascending. */
  readonly published: number[] = [];

  constructor(stayId: string, admittedAtMs: number, config: DiscretizerConfig) {
    this.stayId = stayId;
    this.admittedAtMs = admittedAtMs;
    this.series = new StayTimeSeries({ config });
  }

  /** Adds validated observations (in arrival order) and returns the prediction times due. */
  addObservations(observations: readonly TimedObservation[], maxSteps: number): number[] {
    if (observations.length === 0) return [];
    const before = completedHours(this.lastObs);
    let tmin = Number.POSITIVE_INFINITY;
    for (const o of observations) {
      tmin = Math.min(tmin, o.hours);
      this.lastObs = Math.max(this.lastObs, o.hours);
      this.firstObs = Math.min(this.firstObs, o.hours);
    }
    this.series.add(observations);
    const after = completedHours(this.lastObs);
    const times = new Set<number>();
    for (let h = Math.max(before + 1, after - maxSteps + 1); h <= after; h++) {
      if (this.hasData(h)) times.add(h);
    }
    for (const p of this.published) if (p >= tmin - EPS) times.add(p);
    return limit(times, maxSteps);
  }

  /** Adds logged observations (in log order) without planning steps: a reload. */
  restoreObservations(observations: readonly TimedObservation[]): void {
    for (const o of observations) {
      this.lastObs = Math.max(this.lastObs, o.hours);
      this.firstObs = Math.min(this.firstObs, o.hours);
    }
    this.series.add(observations);
  }

  /** Adds an image or note and returns the prediction times due. */
  addAttachment(entry: AttachmentEntry, maxSteps: number): number[] {
    const list = entry.kind === "image" ? this.images : this.notes;
    list.push(entry);
    const times = new Set<number>([Math.max(entry.hours, 0)]);
    for (const p of this.published) {
      if (p >= entry.hours - EPS && latestAt(list, p) === entry) times.add(p);
    }
    return limit(times, maxSteps);
  }

  /** Whether any modality has data at or before `hours`. */
  hasData(hours: number): boolean {
    return this.firstObs <= hours + EPS || latestAt(this.images, hours) !== undefined ||
      latestAt(this.notes, hours) !== undefined;
  }

  /** Records published prediction times. */
  markPublished(times: Iterable<number>): void {
    for (const t of times) {
      const i = lowerBound(this.published, t);
      if (this.published[i] !== t) this.published.splice(i, 0, t);
    }
  }
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The latest `max` times, ascending. */
function limit(times: Set<number>, max: number): number[] {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.length > max ? sorted.slice(sorted.length - max) : sorted;
}
