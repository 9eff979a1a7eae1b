/**
 * The stay service: durable per-stay sessions over the SQLite event log, with the incremental
 * step engine behind them.
 *
 * A write (admit, observations, image, note, discharge) runs under the stay's lock: it checks
 * the `Idempotency-Key` and client event ids, validates the whole input (nothing is stored when
 * any part is refused), applies it to the resident stay, runs the steps it asks for, and then
 * commits events, predictions and the idempotent response in ONE transaction before returning;
 * only then are the predictions published to subscribers. A failure after the stay's memory
 * changed drops the stay from memory, so the next access rebuilds it from the log.
 *
 * Late data (see the step rule in `stay_runtime.ts`) does not recompute on the write path. The
 * write stores its events, runs only the steps of newly completed hours, records the hours its
 * late data changed as the stay's pending recompute (in the same transaction, so a restart
 * keeps them), answers with `recomputing: [hours]`, and schedules ONE recompute for the stay:
 * it is queued on the stay's lock once no late write came for `recomputeDelayMs`, and at the
 * latest `recomputeWaitMs` after the stay's first pending hour; when its turn comes and more
 * writes for the stay are waiting, it lets them go first (within the same `recomputeWaitMs`).
 * So a burst of late observations recomputes each affected hour once. Recomputes run one at a
 * time across stays, in the order they were queued, so background work never puts more than
 * one recompute ahead of a new write's steps; a recomputed prediction is published about
 * `recomputeWaitMs` after its data, plus the recomputes of other stays queued before it. The
 * recompute runs every pending hour of the stay in one pass, commits the predictions and
 * publishes them like any others. A pending hour that leaves the window (the latest `maxSteps`
 * hours, see `stay_runtime.ts`) before its recompute runs keeps its earlier prediction. A pending recompute
 * found after a restart runs before the stay's next write (or at `recover()`), so the order of
 * prediction sequence numbers does not depend on where a crash fell.
 *
 * Work is bounded: writes that run steps (observations, images, notes) count as queued steps
 * from arrival until done, and so do the hours of the recompute that is running; past `maxQueuedSteps`, a new
 * such write is refused at once with 503 `overloaded` and a `Retry-After`, and nothing is
 * stored. A write whose client went away (its `signal` aborted) before its first step ran is
 * dropped unstored (`client_gone`); one already started completes and stands.
 *
 * Resident stays are kept in LRU order (at most `maxResidentStays`; `sweep()` also drops those
 * idle for `idleMinutes`). A stay not in memory is rebuilt by replaying its events — features,
 * images and notes (their towers run lazily when a step needs them) — and its published
 * prediction times are read back, so a reload or a restart never re-publishes anything.
 *
 * @module
 */
import { type DiscretizerConfig, REFERENCE_CONFIG } from "../features/discretizer_config.ts";
import { encodeObservation, EPS, MAX_HOURS } from "../features/observation.ts";
import { ImageInputError } from "../features/image/errors.ts";
import { preprocessImage } from "../features/image/preprocess.ts";
import { createNoteEncoder } from "../features/notes/create_encoder.ts";
import type { NoteEncoder } from "../features/notes/encoder.ts";
import { clientGone, type SessionModel, StepEngine } from "./engine.ts";
import { ServiceError } from "./errors.ts";
import { KeyedMutex } from "./mutex.ts";
import { type AppendBatch, EventStore, type StayRow, type StoreCounts } from "./store.ts";
import {
  type AttachmentEntry,
  completedHours,
  type StayRuntime,
  type TimedObservation,
} from "./stay_runtime.ts";
import { replayStay } from "./replay.ts";
import { hoursSinceAdmission } from "./time.ts";
import { type Idempotency, idempotency } from "./idempotency.ts";
import {
  checkEventId,
  checkStatics,
  checkStayId,
  featureError,
  isoOption,
  noteSection,
} from "./input.ts";
import type { StayStatics } from "../model/statics.ts";
import type {
  ObservationInput,
  ServiceStats,
  StayPrediction,
  StayService,
  StayState,
  WriteOptions,
  WriteResult,
} from "./types.ts";

/** Where the sessions log; note text, values and identifiers only ever go to `debug`. */
export interface SessionLogger {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** Options of {@linkcode createStayService}. */
export interface StayServiceOptions {
  /** Folder of the event log (`flexcare.sqlite`), created when missing. */
  dataDir: string;
  /** The loaded model. */
  model: SessionModel;
  /**
   * The clock (admission and discharge defaults, `createdAt`, retention, idle eviction).
   * @default {() => new Date()}
   */
  clock?: () => Date;
  /**
   * Stays kept in memory; the least recently used one leaves first.
   * @default {256}
   */
  maxResidentStays?: number;
  /**
   * `sweep()` drops stays idle this long from memory (not from the log).
   * @default {30}
   */
  idleMinutes?: number;
  /**
   * A discharged stay's data is deleted this many hours after the discharge was recorded.
   * @default {720} (30 days)
   */
  retentionHours?: number;
  /**
   * How often `sweep()` runs by itself; 0 turns the timer off (call `sweep()` yourself).
   * @default {600000} (10 minutes)
   */
  sweepIntervalMs?: number;
  /**
   * The note encoder.
   * @default {createNoteEncoder(model.manifest.note_encoder)}
   */
  noteEncoder?: NoteEncoder;
  /**
   * Where to log.
   * @default {warnings and errors to the console, nothing else}
   */
  logger?: SessionLogger;
  /**
   * Tasks predicted at every step (one model pass for all).
   * @default {["dec", "los"]}
   */
  tasks?: readonly string[];
  /**
   * Most steps one write runs (the latest prediction times win).
   * @default {48}
   */
  maxStepsPerWrite?: number;
  /**
   * Steps that may wait or run at once (writes that run steps, and the hours of the running
   * late-data recompute); a write beyond is refused with 503 and `Retry-After`.
   * @default {64}
   */
  maxQueuedSteps?: number;
  /**
   * Longest a queued late-data recompute lets newer writes of its stay go first.
   * @default {2000}
   */
  recomputeWaitMs?: number;
  /**
   * A late-data recompute waits this long after the stay's last late write for more of the
   * burst (never past `recomputeWaitMs` after its first pending hour). 0 queues it right after
   * the write: the order of recomputes then depends only on the order of writes (a replay
   * stores the same predictions every time); `flexcare serve` uses 1000 ms (and a
   * `recomputeWaitMs` of 5000).
   * @default {0}
   */
  recomputeDelayMs?: number;
  /**
   * SQLite `synchronous` with the WAL journal: `full` survives power loss, `normal` a killed
   * process only.
   * @default {"full"}
   */
  synchronous?: "full" | "normal";
  /**
   * The discretizer configuration.
   * @default {REFERENCE_CONFIG}
   */
  config?: DiscretizerConfig;
  /** Online fine-tuning: gets every committed prediction's s_p; its promoted heads publish. */
  online?: OnlineTap;
}

/** What the stay service needs of the online learner (`src/online/learner.ts`). */
export interface OnlineTap {
  /** The probabilities to publish for a task (null: the model's own). */
  override(task: string, representation: Float32Array): Float32Array | null;
  /** Committed predictions' representations. */
  record(
    stayId: string,
    admittedAt: string,
    firstObs: number,
    samples: readonly { task: string; hours: number; representation: Float32Array }[],
  ): void;
}

/** What {@linkcode ManagedStayService.sweep} did. */
export interface SweepResult {
  /** Discharged stays deleted after their retention. */
  readonly deleted: number;
  /** Idle stays dropped from memory. */
  readonly evicted: number;
}

/** The stay service with the operations a server (not the HTTP layer) needs. */
export interface ManagedStayService extends StayService {
  /** Deletes expired discharged stays and drops idle stays from memory. */
  sweep(): Promise<SweepResult>;
  /** Loads active stays into memory (at most `maxResidentStays`); returns how many. */
  recover(): Promise<number>;
  /** Row counts of the event log's tables. */
  counts(): StoreCounts;
  /** Ids of the stays in memory, least recently used first. */
  residentStayIds(): string[];
  /** Resolves once every write and recompute queued so far has finished. */
  idle(): Promise<void>;
}

export { STAY_ID_PATTERN } from "./input.ts";

const CONSOLE_LOGGER: SessionLogger = {
  debug() {},
  info() {},
  warn: (message) => console.warn(`[session] ${message}`),
  error: (message) => console.error(`[session] ${message}`),
};

function positive(value: number | undefined, fallback: number, name: string, min = 1): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
    throw new RangeError(`Invalid stay service option ${name} ${String(v)}: expected >= ${min}`);
  }
  return v;
}

/**
 * Opens the event log in `dataDir` and returns the stay service.
 *
 * @example Admit, observe, predict
 * ```ts ignore
 * import { FlexCareModel } from "../model/flexcare_model.ts";
 * import { createStayService } from "./service.ts";
 * const model = await FlexCareModel.load("models/default", { backend: "wasm" });
 * const service = await createStayService({ dataDir: "data/sessions", model });
 * await service.admit("s1", { admittedAt: "2024-01-01T00:00:00Z" });
 * const r = await service.addObservations("s1", [
 *   { time: 0.5, channel: "Heart Rate", value: 88 },
 *   { time: 1.5, channel: "Heart Rate", value: 92 }, // completes hour 1
 * ]);
 * console.log(r.predictions.map((p) => [p.task, p.hours, p.probability ?? p.expectedRemainingDays]));
 * await service.close();
 * ```
 */
export async function createStayService(options: StayServiceOptions): Promise<ManagedStayService> {
  if (typeof options.dataDir !== "string" || options.dataDir === "") {
    throw new TypeError("The stay service needs a dataDir");
  }
  const noteEncoder = options.noteEncoder ??
    await createNoteEncoder(options.model.manifest.note_encoder, {
      baseDir: options.model.dir,
      runtime: options.model.runtime,
    });
  try {
    return new Service(options, noteEncoder, options.noteEncoder === undefined);
  } catch (error) {
    if (options.noteEncoder === undefined) await noteEncoder.close();
    throw error;
  }
}

interface Resident {
  readonly stay: StayRuntime;
  lastUsed: number;
}

class Service implements ManagedStayService {
  readonly #store: EventStore;
  readonly #engine: StepEngine;
  readonly #encoder: NoteEncoder;
  readonly #ownsEncoder: boolean;
  readonly #config: DiscretizerConfig;
  readonly #clock: () => Date;
  readonly #log: SessionLogger;
  readonly #maxResident: number;
  readonly #idleMs: number;
  readonly #retentionMs: number;
  readonly #maxSteps: number;
  readonly #maxQueued: number;
  readonly #recomputeWaitMs: number;
  readonly #recomputeDelayMs: number;
  /** Stays whose recompute waits for the end of a burst: since when, and the timer. */
  readonly #recomputeTimers = new Map<
    string,
    { first: number; timer: ReturnType<typeof setTimeout> }
  >();
  readonly #mutex = new KeyedMutex();
  /** Queued steps: step-running writes in flight and the hours of the running recompute. */
  #queued = 0;
  /** Late-data recomputes run one at a time, across stays, in the order they were queued. */
  #recomputeChain: Promise<void> = Promise.resolve();
  #refused = 0;
  #abandoned = 0;
  #recomputes = 0;
  /** Mean duration of a step-running write (ms), for `Retry-After`. */
  #meanWorkMs = 50;
  /** Stays with a recompute queued on their lock, and since when it waits. */
  readonly #recomputeQueued = new Map<string, number>();
  /** Resident stays in LRU order (oldest first). */
  readonly #resident = new Map<string, Resident>();
  readonly #listeners = new Map<string, Set<(p: StayPrediction) => void>>();
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #online: OnlineTap | undefined;

  constructor(options: StayServiceOptions, encoder: NoteEncoder, ownsEncoder: boolean) {
    this.#config = options.config ?? REFERENCE_CONFIG;
    this.#clock = options.clock ?? (() => new Date());
    this.#log = options.logger ?? CONSOLE_LOGGER;
    this.#maxResident = positive(options.maxResidentStays, 256, "maxResidentStays");
    this.#idleMs = positive(options.idleMinutes, 30, "idleMinutes", 0) * 60_000;
    this.#retentionMs = positive(options.retentionHours, 720, "retentionHours", 0) * 3_600_000;
    this.#maxSteps = positive(options.maxStepsPerWrite, 48, "maxStepsPerWrite");
    this.#maxQueued = positive(options.maxQueuedSteps, 64, "maxQueuedSteps");
    this.#recomputeWaitMs = positive(options.recomputeWaitMs, 2000, "recomputeWaitMs", 0);
    this.#recomputeDelayMs = positive(options.recomputeDelayMs, 0, "recomputeDelayMs", 0);
    const sweepMs = positive(options.sweepIntervalMs, 600_000, "sweepIntervalMs", 0);
    this.#encoder = encoder;
    this.#ownsEncoder = ownsEncoder;
    this.#online = options.online;
    this.#store = EventStore.open(
      options.dataDir,
      options.synchronous === undefined ? {} : { synchronous: options.synchronous },
    );
    try {
      this.#engine = new StepEngine({
        model: options.model,
        noteEncoder: encoder,
        tasks: options.tasks ?? ["dec", "los"],
        loadImage: (stayId, seq) => this.#store.blob(stayId, seq),
        ...(options.online === undefined ? {} : {
          override: (task, rep) => options.online!.override(task, rep),
          keepRepresentations: true,
        }),
      });
    } catch (error) {
      this.#store.close();
      throw error;
    }
    if (sweepMs > 0) {
      const timer = setInterval(() => {
        this.sweep().catch((e) => this.#log.error(`Sweep failed: ${(e as Error).message}`));
      }, sweepMs);
      Deno.unrefTimer(timer as unknown as number);
      this.#timer = timer;
    } else {
      this.#timer = undefined;
    }
    const { stays, active } = this.#store.stayCounts();
    this.#log.info("Stay sessions opened", { stays, active });
  }

  // ---- reads ----

  get(stayId: string): Promise<StayState> {
    this.#open();
    checkStayId(stayId);
    return Promise.resolve(stateOf(this.#row(stayId)));
  }

  predictions(stayId: string, options: { since?: number } = {}): Promise<StayPrediction[]> {
    this.#open();
    checkStayId(stayId);
    this.#row(stayId);
    const since = options.since ?? 0;
    if (!Number.isInteger(since) || since < 0) {
      throw new ServiceError(400, "invalid_since", `"since" must be a whole number >= 0`, {
        field: "since",
      });
    }
    return Promise.resolve(this.#store.predictions(stayId, since));
  }

  subscribe(stayId: string, listener: (p: StayPrediction) => void): () => void {
    let set = this.#listeners.get(stayId);
    if (set === undefined) this.#listeners.set(stayId, set = new Set());
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(stayId) === set) this.#listeners.delete(stayId);
    };
  }

  stats(): ServiceStats {
    const { stays, active } = this.#closed ? { stays: 0, active: 0 } : this.#store.stayCounts();
    return {
      activeStays: active,
      stays,
      residentStays: this.#resident.size,
      stepRuns: this.#engine.stepRuns,
      recomputes: this.#recomputes,
      queuedSteps: this.#queued,
      refusedWrites: this.#refused,
      abandonedWrites: this.#abandoned,
    };
  }

  async idle(): Promise<void> {
    // Scheduled recomputes are queued at once, then everything queued is waited for.
    while (true) {
      for (const stayId of [...this.#recomputeTimers.keys()]) this.#startRecompute(stayId);
      const chain = this.#recomputeChain;
      await chain;
      await this.#mutex.drain();
      if (this.#recomputeTimers.size === 0 && chain === this.#recomputeChain) return;
    }
  }

  counts(): StoreCounts {
    this.#open();
    return this.#store.counts();
  }

  residentStayIds(): string[] {
    return [...this.#resident.keys()];
  }

  // ---- writes ----

  admit(
    stayId: string,
    options: WriteOptions & { admittedAt?: string; statics?: StayStatics } = {},
  ): Promise<StayState> {
    return this.#serial(stayId, async () => {
      const statics = options.statics === undefined ? undefined : checkStatics(options.statics);
      const idem = await idempotency(this.#store, this.#clock, stayId, "admit", options, {
        admittedAt: options.admittedAt ?? null,
        ...(statics === undefined ? {} : { statics }),
      });
      if (idem.stored !== undefined) return idem.stored as StayState;
      if (this.#store.getStay(stayId) !== undefined) {
        throw new ServiceError(409, "stay_exists", `Stay "${stayId}" already exists`, {
          field: "stayId",
        });
      }
      const admittedAt = options.admittedAt === undefined
        ? this.#now()
        : isoOption(options.admittedAt, "admittedAt", "Admission time");
      const row = this.#store.append(stayId, {
        create: { admittedAt },
        events: [{
          kind: "admit",
          hours: null,
          payload: { admittedAt, ...(statics === undefined ? {} : { statics }) },
        }],
        predictions: [],
        now: this.#now(),
        ...idem.record((r) => stateOf(r)),
      });
      this.#log.debug("Stay admitted", { stayId });
      return stateOf(row);
    });
  }

  discharge(stayId: string, options: WriteOptions & { at?: string } = {}): Promise<StayState> {
    return this.#serial(stayId, async () => {
      const row = this.#row(stayId);
      const idem = await idempotency(this.#store, this.#clock, stayId, "discharge", options, {
        at: options.at ?? null,
      });
      if (idem.stored !== undefined) return idem.stored as StayState;
      this.#active(row);
      let current = row;
      if (row.recompute.length > 0) {
        // The final predictions include every late hour: a scheduled recompute runs now.
        this.#cancelRecompute(stayId);
        current = await this.#recomputeNow(stayId, this.#load(stayId, row), row);
      }
      const now = this.#now();
      const at = options.at === undefined ? now : isoOption(options.at, "at", "Discharge time");
      const hours = (Date.parse(at) - Date.parse(row.admittedAt)) / 3_600_000;
      if (hours < 0) {
        throw new ServiceError(
          422,
          "time_out_of_range",
          `Cannot discharge stay "${stayId}" at ${at}: it is before admission`,
          { field: "at" },
        );
      }
      // No more data will come: every whole hour up to the discharge is complete (a stay
      // whose record ends at 48:00 gets its hour-48 prediction; the dataset builders label
      // every hour to the end of the stay), the latest maxStepsPerWrite of them.
      const stay = this.#load(stayId, current);
      const due: number[] = [];
      if (Number.isFinite(stay.lastObs)) {
        const end = Math.floor(hours + EPS);
        const from = Math.max(completedHours(stay.lastObs) + 1, end - this.#maxSteps + 1, 1);
        for (let h = from; h <= end; h++) {
          if (stay.hasData(h) && !stay.published.includes(h)) due.push(h);
        }
      }
      let predictions: StayPrediction[] = [];
      if (due.length > 0) {
        try {
          predictions = await this.#engine.run(stay, due, this.#stepOptions(current));
        } catch (error) {
          this.#resident.delete(stayId);
          throw error;
        }
      }
      const after = this.#store.append(stayId, {
        events: [{ kind: "discharge", hours, payload: { at } }],
        predictions,
        discharge: { dischargedAt: at, closedAt: now },
        now,
        ...idem.record((r) => stateOf(r)),
      });
      this.#publish(stayId, predictions, stay);
      this.#resident.delete(stayId);
      this.#log.debug("Stay discharged", { stayId });
      return stateOf(after);
    });
  }

  addObservations(
    stayId: string,
    observations: readonly ObservationInput[],
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    return this.#work(stayId, options, async () => {
      const row = this.#row(stayId);
      const idem = await idempotency(
        this.#store,
        this.#clock,
        stayId,
        "observations",
        options,
        observations,
      );
      if (idem.stored !== undefined) return idem.stored as WriteResult;
      this.#active(row);
      if (!Array.isArray(observations) || observations.length === 0) {
        throw new ServiceError(400, "empty_batch", "Send at least one observation", {
          field: "observations",
        });
      }
      const admittedMs = Date.parse(row.admittedAt);
      const ids: string[] = [];
      observations.forEach((o, i) => {
        if (typeof o !== "object" || o === null) {
          throw new ServiceError(400, "invalid_observation", `Observation ${i} is not an object`, {
            field: `observations[${i}]`,
          });
        }
        if (o.eventId !== undefined) {
          ids.push(checkEventId(o.eventId, `observations[${i}].eventId`));
        }
      });
      const stored = this.#store.storedEvents(stayId, ids);
      const seen = new Map<string, { hours: number; channel: string; value: unknown }>();
      const accepted: (TimedObservation & { eventId?: string })[] = [];
      let duplicates = 0;
      observations.forEach((o, i) => {
        const hours = hoursSinceAdmission(o.time, admittedMs, `observations[${i}].time`);
        const obs = { hours, channel: o.channel, value: o.value };
        if (o.eventId !== undefined) {
          const before = stored.get(o.eventId);
          const earlier = before === undefined
            ? seen.get(o.eventId)
            : before.kind === "obs"
            ? before.payload as { hours: number; channel: string; value: unknown }
            : null;
          if (before !== undefined || earlier !== undefined) {
            if (earlier === null || earlier === undefined || !sameObservation(earlier, obs)) {
              throw conflictingEvent(o.eventId, `observations[${i}]`, before?.kind ?? "obs");
            }
            duplicates += 1;
            return;
          }
          seen.set(o.eventId, obs);
        }
        try {
          encodeObservation(this.#config, obs);
        } catch (error) {
          throw featureError(stayId, error, `observations[${i}]`);
        }
        accepted.push(o.eventId === undefined ? obs : { ...obs, eventId: o.eventId });
      });
      if (accepted.length === 0) {
        const result: WriteResult = { accepted: 0, duplicates, predictions: [] };
        idem.remember(result);
        return result;
      }
      return await this.#mutate(stayId, row, async (stay, current) => {
        const due = stay.addObservations(accepted, this.#maxSteps);
        const predictions = await this.#engine.run(
          stay,
          due.now,
          this.#stepOptions(current, options.signal),
        );
        const recomputing = stay.markPending(due.late, due.now, this.#maxSteps);
        const result: WriteResult = {
          accepted: accepted.length,
          duplicates,
          predictions,
          ...(recomputing.length === 0 ? {} : { recomputing }),
        };
        const batch: AppendBatch = {
          events: accepted.map((o) => ({
            kind: "obs",
            hours: o.hours,
            payload: { hours: o.hours, channel: o.channel, value: o.value },
            ...(o.eventId === undefined ? {} : { eventId: o.eventId }),
          })),
          predictions,
          recompute: recomputing,
          now: this.#now(),
          ...idem.record(() => result),
        };
        return { batch, result };
      });
    });
  }

  addImage(
    stayId: string,
    bytes: Uint8Array,
    options: WriteOptions & { mediaType?: string; time?: number | string; eventId?: string } = {},
  ): Promise<WriteResult> {
    return this.#work(stayId, options, async () => {
      const row = this.#row(stayId);
      if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
        throw new ServiceError(400, "invalid_image", "The image body is empty", {
          field: "image",
        });
      }
      const idem = await idempotency(this.#store, this.#clock, stayId, "image", options, {
        mediaType: options.mediaType ?? null,
        time: options.time ?? null,
        eventId: options.eventId ?? null,
      }, bytes);
      if (idem.stored !== undefined) return idem.stored as WriteResult;
      this.#active(row);
      // An image's bytes are not compared (the log keeps them, not a digest): same kind counts.
      const duplicate = this.#duplicate(stayId, options.eventId, idem, (kind) => kind === "image");
      if (duplicate !== undefined) return duplicate;
      const stay = this.#load(stayId, row);
      const hours = this.#attachmentTime(stay, options.time);
      let tensor: Float32Array;
      try {
        tensor = preprocessImage(
          bytes,
          options.mediaType === undefined ? {} : { mediaType: options.mediaType },
        );
      } catch (error) {
        if (!(error instanceof ImageInputError)) throw error;
        const status = error.reason === "media_type" ? 415 : 422;
        throw new ServiceError(status, `image_${error.reason}`, error.message, {
          field: "image",
          cause: error,
        });
      }
      const entry: AttachmentEntry = {
        kind: "image",
        hours,
        eventSeq: row.lastEventSeq + 1,
        ...(options.mediaType === undefined ? {} : { mediaType: options.mediaType }),
      };
      await this.#engine.prepare(entry, tensor);
      return await this.#attach(
        stayId,
        row,
        entry,
        {
          kind: "image",
          hours,
          payload: { hours, mediaType: options.mediaType ?? null, bytes: bytes.length },
          blob: bytes,
          ...(options.eventId === undefined ? {} : { eventId: options.eventId }),
        },
        idem,
        options.signal,
      );
    });
  }

  addNote(
    stayId: string,
    text: string,
    options: WriteOptions & { time?: number | string; eventId?: string } = {},
  ): Promise<WriteResult> {
    return this.#work(stayId, options, async () => {
      const row = this.#row(stayId);
      if (typeof text !== "string" || text.trim() === "") {
        throw new ServiceError(400, "invalid_note", "The note text is empty", { field: "text" });
      }
      const idem = await idempotency(this.#store, this.#clock, stayId, "note", options, {
        text,
        time: options.time ?? null,
        eventId: options.eventId ?? null,
      });
      if (idem.stored !== undefined) return idem.stored as WriteResult;
      this.#active(row);
      const duplicate = this.#duplicate(
        stayId,
        options.eventId,
        idem,
        (kind, payload) => kind === "note" && payload.text === text,
      );
      if (duplicate !== undefined) return duplicate;
      const stay = this.#load(stayId, row);
      const hours = this.#attachmentTime(stay, options.time);
      const section = noteSection(text);
      const encoded = await this.#engine.encodeNoteText(section);
      if (encoded.tokens === 0) {
        throw new ServiceError(422, "note_empty", "The note has no words the model can read", {
          field: "text",
        });
      }
      const entry: AttachmentEntry = {
        kind: "note",
        hours,
        eventSeq: row.lastEventSeq + 1,
        text: section,
      };
      await this.#engine.prepare(entry, encoded);
      return await this.#attach(
        stayId,
        row,
        entry,
        {
          kind: "note",
          hours,
          payload: { hours, text },
          ...(options.eventId === undefined ? {} : { eventId: options.eventId }),
        },
        idem,
        options.signal,
      );
    });
  }

  // ---- lifecycle ----

  async sweep(): Promise<SweepResult> {
    this.#open();
    const now = this.#clock().getTime();
    const expired = this.#store.expiredStayIds(new Date(now - this.#retentionMs).toISOString());
    let deleted = 0;
    for (const stayId of expired) {
      await this.#mutex.run(stayId, () => {
        const row = this.#store.getStay(stayId);
        if (row?.closedAt === null || row === undefined) return Promise.resolve();
        this.#store.deleteStay(stayId);
        this.#resident.delete(stayId);
        deleted += 1;
        return Promise.resolve();
      });
    }
    let evicted = 0;
    for (const [stayId, r] of [...this.#resident]) {
      if (
        now - r.lastUsed >= this.#idleMs && !this.#mutex.locked(stayId) && r.stay.pending.size === 0
      ) {
        this.#resident.delete(stayId);
        evicted += 1;
      }
    }
    if (deleted > 0 || evicted > 0) {
      this.#log.info("Sessions swept", { deleted, evicted });
    }
    return { deleted, evicted };
  }

  async recover(): Promise<number> {
    this.#open();
    const ids = this.#store.activeStayIds().slice(0, this.#maxResident);
    let loaded = 0;
    for (const stayId of ids) {
      await this.#mutex.run(stayId, () => {
        const row = this.#store.getStay(stayId);
        if (row?.status === "active") {
          const stay = this.#load(stayId, row);
          if (stay.pending.size > 0) this.#queueRecompute(stayId);
          loaded += 1;
        }
        return Promise.resolve();
      });
    }
    this.#log.info("Active stays recovered", { loaded });
    return loaded;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    // Scheduled recomputes stay pending in the log: they run after the next start.
    for (const stayId of [...this.#recomputeTimers.keys()]) this.#cancelRecompute(stayId);
    // Recomputes already queued finish first (as writes already taken do).
    for (let c = this.#recomputeChain;; c = this.#recomputeChain) {
      await c;
      if (c === this.#recomputeChain) break;
    }
    await this.#mutex.drain();
    this.#resident.clear();
    this.#listeners.clear();
    this.#store.close();
    if (this.#ownsEncoder) await this.#encoder.close();
  }

  // ---- internals ----

  #open(): void {
    if (this.#closed) {
      throw new ServiceError(503, "service_closed", "The stay service is closed");
    }
  }

  #now(): string {
    return this.#clock().toISOString();
  }

  #serial<T>(stayId: string, task: () => Promise<T>): Promise<T> {
    try {
      this.#open();
      checkStayId(stayId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#mutex.run(stayId, task);
  }

  /**
   * A write that runs steps: refused at once when the queue is full, dropped when its client
   * went away before its turn, otherwise run under the stay's lock.
   */
  #work<T>(stayId: string, options: WriteOptions, task: () => Promise<T>): Promise<T> {
    if (!this.#closed && this.#queued >= this.#maxQueued) {
      this.#refused += 1;
      const seconds = Math.ceil((this.#queued * this.#meanWorkMs) / 1000);
      return Promise.reject(
        new ServiceError(
          503,
          "overloaded",
          `The service has ${this.#queued} steps queued (limit ${this.#maxQueued}); nothing was stored, retry later`,
          { retryAfter: Math.min(60, Math.max(1, seconds)) },
        ),
      );
    }
    this.#queued += 1;
    const started = performance.now();
    return this.#serial(stayId, () => {
      if (options.signal?.aborted) throw clientGone();
      return task();
    }).then((result) => {
      this.#meanWorkMs = 0.9 * this.#meanWorkMs + 0.1 * (performance.now() - started);
      return result;
    }).catch((error) => {
      if (error instanceof ServiceError && error.code === "client_gone") {
        this.#abandoned += 1;
        this.#log.debug("Write dropped: its client went away", { stayId });
      }
      throw error;
    }).finally(() => {
      this.#queued -= 1;
      // Stays loaded while others were locked may have overflowed the resident limit.
      this.#evictOverflow();
    });
  }

  #row(stayId: string): StayRow {
    const row = this.#store.getStay(stayId);
    if (row === undefined) {
      throw new ServiceError(404, "stay_not_found", `Stay "${stayId}" does not exist`, {
        field: "stayId",
      });
    }
    return row;
  }

  #active(row: StayRow): void {
    if (row.status !== "active") {
      throw new ServiceError(
        409,
        "stay_discharged",
        `Stay "${row.stayId}" was discharged at ${row.dischargedAt}; it takes no more data`,
        { field: "stayId" },
      );
    }
  }

  #stepOptions(
    row: StayRow,
    signal?: AbortSignal,
  ): { nextSeq: number; createdAt: string; signal?: AbortSignal } {
    return {
      nextSeq: row.lastPredictionSeq + 1,
      createdAt: this.#now(),
      ...(signal === undefined ? {} : { signal }),
    };
  }

  /** Time of an image or note: given, or the stay's latest observation time (0 when none). */
  #attachmentTime(stay: StayRuntime, time: number | string | undefined): number {
    if (time === undefined) return Math.max(0, Number.isFinite(stay.lastObs) ? stay.lastObs : 0);
    const hours = hoursSinceAdmission(time, stay.admittedAtMs, "time");
    if (hours - EPS <= -1 || hours > MAX_HOURS) {
      throw new ServiceError(
        422,
        "time_out_of_range",
        `Cannot attach to stay "${stay.stayId}": hour ${hours} is outside the allowed range (-1, ${MAX_HOURS}]`,
        { field: "time" },
      );
    }
    return hours;
  }

  /** The duplicate result when `eventId` is already in the log. */
  /**
   * The duplicate result when `eventId` is already in the log as the same event (`same` checks
   * the stored kind and payload); a 409 when it stands for another event.
   */
  #duplicate(
    stayId: string,
    eventId: string | undefined,
    idem: Idempotency,
    same: (kind: string, payload: Record<string, unknown>) => boolean,
  ): WriteResult | undefined {
    if (eventId === undefined) return undefined;
    checkEventId(eventId, "eventId");
    const stored = this.#store.storedEvents(stayId, [eventId]).get(eventId);
    if (stored === undefined) return undefined;
    if (!same(stored.kind, stored.payload as Record<string, unknown>)) {
      throw conflictingEvent(eventId, "query", stored.kind);
    }
    const result: WriteResult = { accepted: 0, duplicates: 1, predictions: [] };
    idem.remember(result);
    return result;
  }

  #attach(
    stayId: string,
    row: StayRow,
    entry: AttachmentEntry,
    event: AppendBatch["events"][number],
    idem: Idempotency,
    signal: AbortSignal | undefined,
  ): Promise<WriteResult> {
    return this.#mutate(stayId, row, async (stay, current) => {
      const due = stay.addAttachment(entry, this.#maxSteps);
      const predictions = await this.#engine.run(
        stay,
        due.now,
        this.#stepOptions(current, signal),
      );
      const recomputing = stay.markPending(due.late, due.now, this.#maxSteps);
      const result: WriteResult = {
        accepted: 1,
        duplicates: 0,
        predictions,
        ...(recomputing.length === 0 ? {} : { recomputing }),
      };
      return {
        batch: {
          events: [event],
          predictions,
          recompute: recomputing,
          now: this.#now(),
          ...idem.record(() => result),
        },
        result,
      };
    });
  }

  /**
   * Applies a validated write to the resident stay, commits its batch, then publishes. Any
   * failure drops the stay from memory (the log is the truth; the next access replays it).
   */
  async #mutate(
    stayId: string,
    row: StayRow,
    apply: (
      stay: StayRuntime,
      row: StayRow,
    ) => Promise<{ batch: AppendBatch; result: WriteResult }>,
  ): Promise<WriteResult> {
    let stay = this.#load(stayId, row);
    let current = row;
    if (stay.pending.size > 0 && !this.#recomputeScheduled(stayId)) {
      // Left pending by a restart or a failed pass: it runs first, as it would have in time.
      current = await this.#recomputeNow(stayId, stay, row);
      stay = this.#load(stayId, current);
    }
    let result: WriteResult;
    try {
      const applied = await apply(stay, current);
      this.#store.append(stayId, applied.batch);
      result = applied.result;
    } catch (error) {
      this.#resident.delete(stayId);
      throw error;
    }
    stay.markPublished(result.predictions.map((p) => p.hours));
    this.#publish(stayId, result.predictions, stay);
    if (stay.pending.size > 0) this.#queueRecompute(stayId);
    this.#log.debug("Stay write committed", {
      stayId,
      accepted: result.accepted,
      predictions: result.predictions.length,
    });
    return result;
  }

  #recomputeScheduled(stayId: string): boolean {
    return this.#recomputeQueued.has(stayId) || this.#recomputeTimers.has(stayId);
  }

  /**
   * Schedules the stay's late-data recompute after a late write: (re)starts its burst timer,
   * unless it is queued on the lock already (it then takes the new hours too).
   */
  #queueRecompute(stayId: string): void {
    if (this.#closed || this.#recomputeQueued.has(stayId)) return;
    const now = performance.now();
    const scheduled = this.#recomputeTimers.get(stayId);
    if (scheduled !== undefined) clearTimeout(scheduled.timer);
    const first = scheduled?.first ?? now;
    const delay = Math.min(this.#recomputeDelayMs, first + this.#recomputeWaitMs - now);
    if (delay <= 0) {
      this.#recomputeTimers.delete(stayId);
      this.#recomputeQueued.set(stayId, first);
      this.#requeueRecompute(stayId);
      return;
    }
    const timer = setTimeout(() => this.#startRecompute(stayId), delay);
    this.#recomputeTimers.set(stayId, { first, timer });
  }

  /** Moves a scheduled recompute onto the stay's lock now. */
  #startRecompute(stayId: string): void {
    const scheduled = this.#recomputeTimers.get(stayId);
    if (scheduled === undefined) return;
    clearTimeout(scheduled.timer);
    this.#recomputeTimers.delete(stayId);
    if (this.#closed) return;
    this.#recomputeQueued.set(stayId, scheduled.first);
    this.#requeueRecompute(stayId);
  }

  /** Forgets a scheduled or queued recompute (its hours stay pending in the stay's row). */
  #cancelRecompute(stayId: string): void {
    const scheduled = this.#recomputeTimers.get(stayId);
    if (scheduled !== undefined) clearTimeout(scheduled.timer);
    this.#recomputeTimers.delete(stayId);
    this.#recomputeQueued.delete(stayId);
  }

  /**
   * Queues the stay's recompute behind those of other stays (with a burst delay, as `serve`
   * runs): one runs at a time, so background work adds at most one recompute (`maxSteps`
   * hours) ahead of a new write's steps and to the queued steps a write is refused beyond.
   */
  #requeueRecompute(stayId: string): void {
    // Without a burst delay (the library default) the recompute takes the stay's lock right
    // after the write that made it, so the order of steps depends only on the order of writes.
    const run = () => this.#mutex.run(stayId, () => this.#recomputeTurn(stayId));
    const turn = this.#recomputeDelayMs === 0
      ? Promise.all([run(), this.#recomputeChain]).then(() => {})
      : this.#recomputeChain.then(run);
    this.#recomputeChain = turn.catch((error) => {
      this.#log.warn(`A late-data recompute failed: ${(error as Error).name}`);
    }).finally(() => this.#evictOverflow());
  }

  /** A queued recompute's turn: let waiting writes of the stay go first, then run it. */
  async #recomputeTurn(stayId: string): Promise<void> {
    const since = this.#recomputeQueued.get(stayId);
    if (since === undefined) return;
    if (
      this.#mutex.waiting(stayId) > 0 && performance.now() - since < this.#recomputeWaitMs
    ) {
      this.#requeueRecompute(stayId);
      return;
    }
    this.#recomputeQueued.delete(stayId);
    const row = this.#store.getStay(stayId);
    if (row === undefined) return;
    await this.#recomputeNow(stayId, this.#load(stayId, row), row);
  }

  /**
   * Recomputes every pending hour of a stay in one pass (under its lock), commits and publishes
   * the predictions; returns the new row.
   */
  async #recomputeNow(stayId: string, stay: StayRuntime, row: StayRow): Promise<StayRow> {
    const times = stay.takePending();
    if (times.length === 0) return row;
    this.#queued += times.length;
    let predictions: StayPrediction[];
    let after: StayRow;
    try {
      predictions = await this.#engine.run(stay, times, this.#stepOptions(row));
      after = this.#store.append(stayId, {
        events: [],
        predictions,
        recompute: stay.pendingTimes(),
        now: this.#now(),
      });
    } catch (error) {
      // The pending hours are still in the log: a reload finds them.
      this.#resident.delete(stayId);
      throw error;
    } finally {
      this.#queued -= times.length;
    }
    this.#recomputes += 1;
    stay.markPublished(predictions.map((p) => p.hours));
    this.#publish(stayId, predictions, stay);
    this.#log.debug("Late-data recompute committed", { stayId, hours: times });
    return after;
  }

  #publish(stayId: string, predictions: readonly StayPrediction[], stay: StayRuntime): void {
    if (this.#online !== undefined && predictions.length > 0) {
      const samples = [];
      for (const p of predictions) {
        const representation = this.#engine.representation(p);
        if (representation !== undefined) {
          samples.push({ task: p.task, hours: p.hours, representation });
        }
      }
      try {
        this.#online.record(
          stayId,
          new Date(stay.admittedAtMs).toISOString(),
          stay.firstObs,
          samples,
        );
      } catch (error) {
        // Learning data only: the committed predictions stand.
        this.#log.warn(
          `The online learner could not keep representations: ${(error as Error).message}`,
        );
      }
    }
    const listeners = this.#listeners.get(stayId);
    if (listeners === undefined) return;
    for (const p of predictions) {
      for (const listener of [...listeners]) {
        try {
          listener(p);
        } catch (error) {
          this.#log.warn(`A prediction listener failed: ${(error as Error).name}`);
        }
      }
    }
  }

  /** The resident stay, rebuilt from the log when it is not in memory. */
  #load(stayId: string, row: StayRow): StayRuntime {
    const now = this.#clock().getTime();
    const hit = this.#resident.get(stayId);
    if (hit !== undefined) {
      this.#resident.delete(stayId);
      hit.lastUsed = now;
      this.#resident.set(stayId, hit);
      return hit.stay;
    }
    const stay = replayStay(this.#store, row, this.#config);
    for (const t of row.recompute) stay.pending.add(t);
    this.#resident.set(stayId, { stay, lastUsed: now });
    this.#evictOverflow();
    this.#log.debug("Stay loaded from the log", { stayId, events: row.lastEventSeq });
    return stay;
  }

  #evictOverflow(): void {
    if (this.#resident.size <= this.#maxResident) return;
    for (const stayId of [...this.#resident.keys()]) {
      if (this.#resident.size <= this.#maxResident) break;
      if (!this.#mutex.locked(stayId)) this.#resident.delete(stayId);
    }
  }
}

/** Whether two observations are the same event (time within 1e-9 h, channel, value). */
function sameObservation(
  a: { hours: number; channel: string; value: unknown },
  b: { hours: number; channel: string; value: unknown },
): boolean {
  return Math.abs(a.hours - b.hours) <= 1e-9 && a.channel === b.channel &&
    String(a.value) === String(b.value);
}

/** A 409: an event id already stands for another event (nothing of the request is stored). */
function conflictingEvent(eventId: string, field: string, kind: string): ServiceError {
  return new ServiceError(
    409,
    "event_conflict",
    `Event "${eventId}" was already stored with a different ${
      kind === "obs" ? "time, channel or value" : `content (a ${kind} event)`
    }; nothing of this request was stored. Send a correction under a new event id`,
    { field: field === "query" ? "eventId" : `${field}.eventId` },
  );
}

function stateOf(row: StayRow): StayState {
  return {
    stayId: row.stayId,
    admittedAt: row.admittedAt,
    status: row.status,
    dischargedAt: row.dischargedAt,
    observations: row.observations,
    images: row.images,
    notes: row.notes,
    lastPredictionHours: row.lastPredictionHours,
  };
}
