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
 * - Late data: an observation at time `t` changes every prediction at a time `>= t`: the
 *   published ones, and the completed hours skipped earlier for lack of data that now have
 *   some. An image or note at time `t` changes the predictions at times `>= t` for which it is
 *   the latest of its kind. Those hours are not computed by the write: they are marked
 *   *pending* (the stay's `recompute` set), and the service recomputes every pending hour once,
 *   in one pass per stay, after the writes queued for the stay are stored (see `service.ts`).
 *   A burst of late observations thus costs one recompute per affected hour, not one per write.
 *   Recomputed predictions get new sequence numbers: the latest `seq` of a (task, hours) pair
 *   is the current one.
 * - The window: only the latest `maxSteps` hours up to the last completed hour are computed or
 *   recomputed, so a long gap or a very late observation cannot stall the stay; older hours
 *   keep their earlier predictions.
 *
 * @module
 */
import type { StayStatics } from "../model/statics.ts";
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

/** What a new event asks for: steps to run now, and hours to recompute later. */
export interface StepsDue {
  /** New prediction times (ascending): the write runs these. */
  readonly now: readonly number[];
  /** Hours changed by late data (ascending): added to the stay's pending recompute. */
  readonly late: readonly number[];
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
  /** Prediction times waiting for the late-data recompute. */
  readonly pending = new Set<number>();
  /** Unit, age and sex given at admission (for a model with statics heads). */
  statics: StayStatics | undefined = undefined;

  constructor(stayId: string, admittedAtMs: number, config: DiscretizerConfig) {
    this.stayId = stayId;
    this.admittedAtMs = admittedAtMs;
    this.series = new StayTimeSeries({ config });
  }

  /** Adds validated observations (in arrival order) and returns the steps due. */
  addObservations(observations: readonly TimedObservation[], maxSteps: number): StepsDue {
    if (observations.length === 0) return { now: [], late: [] };
    const before = completedHours(this.lastObs);
    let tmin = Number.POSITIVE_INFINITY;
    for (const o of observations) {
      tmin = Math.min(tmin, o.hours);
      this.lastObs = Math.max(this.lastObs, o.hours);
      this.firstObs = Math.min(this.firstObs, o.hours);
    }
    this.series.add(observations);
    const after = completedHours(this.lastObs);
    const from = after - maxSteps + 1;
    const now = new Set<number>();
    for (let h = Math.max(before + 1, from); h <= after; h++) {
      if (this.hasData(h)) now.add(h);
    }
    const late = new Set<number>();
    for (let h = Math.max(1, Math.ceil(tmin - EPS), from); h <= Math.min(before, after); h++) {
      if (this.hasData(h)) late.add(h);
    }
    for (const p of this.published) if (p >= tmin - EPS) late.add(p);
    return this.#due(now, late, maxSteps);
  }

  /** The steps due, both limited to the latest `maxSteps` times of all that are due. */
  #due(now: Set<number>, late: Set<number>, maxSteps: number): StepsDue {
    for (const t of now) late.delete(t);
    const keep = new Set(limit(new Set([...now, ...late, ...this.pending]), maxSteps));
    return {
      now: [...now].filter((t) => keep.has(t)).sort((a, b) => a - b),
      late: [...late].filter((t) => keep.has(t)).sort((a, b) => a - b),
    };
  }

  /** Marks hours for the recompute (and un-marks those just computed); returns all pending. */
  markPending(late: readonly number[], computed: readonly number[], maxSteps: number): number[] {
    for (const t of late) this.pending.add(t);
    for (const t of computed) this.pending.delete(t);
    const keep = new Set(limit(this.pending, maxSteps));
    for (const t of [...this.pending]) if (!keep.has(t)) this.pending.delete(t);
    return this.pendingTimes();
  }

  /** The pending recompute times, ascending. */
  pendingTimes(): number[] {
    return [...this.pending].sort((a, b) => a - b);
  }

  /** Takes (and clears) the pending recompute times, ascending. */
  takePending(): number[] {
    const times = this.pendingTimes();
    this.pending.clear();
    return times;
  }

  /** Adds logged observations (in log order) without planning steps: a reload. */
  restoreObservations(observations: readonly TimedObservation[]): void {
    for (const o of observations) {
      this.lastObs = Math.max(this.lastObs, o.hours);
      this.firstObs = Math.min(this.firstObs, o.hours);
    }
    this.series.add(observations);
  }

  /** Adds an image or note and returns the steps due. */
  addAttachment(entry: AttachmentEntry, maxSteps: number): StepsDue {
    const list = entry.kind === "image" ? this.images : this.notes;
    list.push(entry);
    const at = Math.max(entry.hours, 0);
    const late = new Set<number>();
    const after = completedHours(this.lastObs);
    for (let h = Math.max(1, Math.ceil(at - EPS)); h <= after; h++) {
      if (latestAt(list, h) === entry) late.add(h);
    }
    for (const p of this.published) {
      if (p >= entry.hours - EPS && latestAt(list, p) === entry) late.add(p);
    }
    return this.#due(new Set([at]), late, maxSteps);
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
