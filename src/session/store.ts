/**
 * The durable event log of the stay sessions: one SQLite file (`node:sqlite`) on local disk.
 *
 * Tables: `stays` (one row per stay with counters), `events` (the append-only log: admit,
 * obs, image, note, discharge, each with its stay-local sequence number, JSON payload, image
 * bytes, client event id and idempotency key), `predictions` (every published prediction, so
 * history survives a restart) and `idempotency` (key -> stored response).
 *
 * Durability: WAL journal with `synchronous=FULL`, so every committed transaction is on disk
 * (fsync of the WAL) before `append` returns — an acknowledged write survives a killed process
 * and a power cut. (`NORMAL` would survive a killed process too, since the WAL is already in the
 * OS page cache, but could lose the last commits on power loss.) The file is opened with an
 * exclusive lock so a second server on the same folder fails at start instead of corrupting it.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import type { StayPrediction } from "./types.ts";

/** Event kinds of the log. */
export type EventKind = "admit" | "obs" | "image" | "note" | "discharge";

/** A stay's row. */
export interface StayRow {
  readonly stayId: string;
  readonly admittedAt: string;
  readonly status: "active" | "discharged";
  readonly dischargedAt: string | null;
  /** Clock time the discharge was recorded (start of the retention period). */
  readonly closedAt: string | null;
  readonly observations: number;
  readonly images: number;
  readonly notes: number;
  readonly lastEventSeq: number;
  readonly lastPredictionSeq: number;
  readonly lastPredictionHours: number | null;
  /** Prediction times waiting for the late-data recompute (ascending; empty when none). */
  readonly recompute: readonly number[];
}

/** An event to append. */
export interface NewEvent {
  readonly kind: EventKind;
  /** Hours since admission (observations, images, notes); null for admit and discharge. */
  readonly hours: number | null;
  readonly payload: unknown;
  readonly blob?: Uint8Array;
  readonly eventId?: string;
}

/** A stored event (image bytes are read separately with {@linkcode EventStore.blob}). */
export interface EventRow {
  readonly seq: number;
  readonly kind: EventKind;
  readonly hours: number | null;
  readonly payload: unknown;
  readonly eventId: string | null;
}

/** A stored idempotent response. */
export interface IdempotencyRow {
  readonly operation: string;
  readonly fingerprint: string;
  readonly response: unknown;
}

/** One atomic write: everything is committed together or not at all. */
export interface AppendBatch {
  /** Creates the stay row first (admit). */
  readonly create?: { readonly admittedAt: string };
  readonly events: readonly NewEvent[];
  readonly predictions: readonly StayPrediction[];
  /** Replaces the stay's pending recompute times (unchanged when absent). */
  readonly recompute?: readonly number[];
  /** Marks the stay discharged. */
  readonly discharge?: { readonly dischargedAt: string; readonly closedAt: string };
  readonly idempotency?: {
    readonly key: string;
    readonly operation: string;
    readonly fingerprint: string;
    /** Computed inside the transaction from the new stay row (so it can include counters). */
    readonly response: (stay: StayRow) => unknown;
  };
  /** Clock time of the write. */
  readonly now: string;
}

/** Row counts of every table (for tests and metrics). */
export interface StoreCounts {
  readonly stays: number;
  readonly events: number;
  readonly predictions: number;
  readonly idempotency: number;
}

/** Options of {@linkcode EventStore.open}. */
export interface EventStoreOptions {
  /**
   * SQLite `synchronous` setting with the WAL journal (see the module docs).
   * @default {"full"}
   */
  synchronous?: "full" | "normal";
}

const SCHEMA_VERSION = "2";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stays (
  stay_id TEXT PRIMARY KEY,
  admitted_at TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'discharged')),
  discharged_at TEXT,
  closed_at TEXT,
  observations INTEGER NOT NULL DEFAULT 0,
  images INTEGER NOT NULL DEFAULT 0,
  notes INTEGER NOT NULL DEFAULT 0,
  last_event_seq INTEGER NOT NULL DEFAULT 0,
  last_prediction_seq INTEGER NOT NULL DEFAULT 0,
  last_prediction_hours REAL,
  created_at TEXT NOT NULL,
  recompute TEXT
);
CREATE INDEX IF NOT EXISTS stays_closed ON stays (closed_at) WHERE closed_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS events (
  stay_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('admit', 'obs', 'image', 'note', 'discharge')),
  hours REAL,
  payload TEXT NOT NULL,
  blob BLOB,
  event_id TEXT,
  idempotency_key TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (stay_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events (stay_id, event_id)
  WHERE event_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS predictions (
  stay_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  task TEXT NOT NULL,
  hours REAL NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (stay_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
  stay_id TEXT NOT NULL,
  key TEXT NOT NULL,
  operation TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  response TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (stay_id, key)
) WITHOUT ROWID;
`;

type Row = Record<string, unknown>;

function stayFromRow(r: Row): StayRow {
  return {
    stayId: r.stay_id as string,
    admittedAt: r.admitted_at as string,
    status: r.status as "active" | "discharged",
    dischargedAt: (r.discharged_at as string | null) ?? null,
    closedAt: (r.closed_at as string | null) ?? null,
    observations: Number(r.observations),
    images: Number(r.images),
    notes: Number(r.notes),
    lastEventSeq: Number(r.last_event_seq),
    lastPredictionSeq: Number(r.last_prediction_seq),
    lastPredictionHours: r.last_prediction_hours === null ? null : Number(r.last_prediction_hours),
    recompute: typeof r.recompute === "string" ? JSON.parse(r.recompute) as number[] : [],
  };
}

/**
 * The SQLite event log.
 *
 * @example Append an admission and read it back
 * ```ts
 * import { EventStore } from "./store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = EventStore.open(dir);
 * const now = new Date(0).toISOString();
 * store.append("s1", {
 *   create: { admittedAt: now },
 *   events: [{ kind: "admit", hours: null, payload: { admittedAt: now } }],
 *   predictions: [],
 *   now,
 * });
 * if (store.getStay("s1")?.lastEventSeq !== 1 || store.events("s1")[0]?.kind !== "admit") {
 *   throw new Error();
 * }
 * store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class EventStore {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #stmt: Record<string, StatementSync>;
  #closed = false;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
    const prepare = (sql: string) => db.prepare(sql);
    this.#stmt = {
      getStay: prepare("SELECT * FROM stays WHERE stay_id = ?"),
      insertStay: prepare(
        "INSERT INTO stays (stay_id, admitted_at, status, created_at) VALUES (?, ?, 'active', ?)",
      ),
      updateStay: prepare(
        `UPDATE stays SET observations = observations + ?, images = images + ?,
         notes = notes + ?, last_event_seq = ?, last_prediction_seq = ?,
         last_prediction_hours = ? WHERE stay_id = ?`,
      ),
      setRecompute: prepare("UPDATE stays SET recompute = ? WHERE stay_id = ?"),
      dischargeStay: prepare(
        "UPDATE stays SET status = 'discharged', discharged_at = ?, closed_at = ? WHERE stay_id = ?",
      ),
      insertEvent: prepare(
        `INSERT INTO events (stay_id, seq, kind, hours, payload, blob, event_id, idempotency_key,
         created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      eventById: prepare(
        "SELECT kind, payload FROM events WHERE stay_id = ? AND event_id = ?",
      ),
      events: prepare(
        "SELECT seq, kind, hours, payload, event_id FROM events WHERE stay_id = ? ORDER BY seq",
      ),
      blob: prepare("SELECT blob FROM events WHERE stay_id = ? AND seq = ?"),
      insertPrediction: prepare(
        "INSERT INTO predictions (stay_id, seq, task, hours, body) VALUES (?, ?, ?, ?, ?)",
      ),
      predictions: prepare(
        "SELECT body FROM predictions WHERE stay_id = ? AND seq > ? ORDER BY seq",
      ),
      predictionTimes: prepare(
        "SELECT DISTINCT hours FROM predictions WHERE stay_id = ? ORDER BY hours",
      ),
      getIdem: prepare(
        "SELECT operation, fingerprint, response FROM idempotency WHERE stay_id = ? AND key = ?",
      ),
      insertIdem: prepare(
        `INSERT INTO idempotency (stay_id, key, operation, fingerprint, response, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      counts: prepare(
        `SELECT count(*) AS stays, coalesce(sum(status = 'active'), 0) AS active FROM stays`,
      ),
      active: prepare("SELECT stay_id FROM stays WHERE status = 'active' ORDER BY stay_id"),
      expired: prepare(
        "SELECT stay_id FROM stays WHERE closed_at IS NOT NULL AND closed_at <= ? ORDER BY stay_id",
      ),
      deleteEvents: prepare("DELETE FROM events WHERE stay_id = ?"),
      deletePredictions: prepare("DELETE FROM predictions WHERE stay_id = ?"),
      deleteIdem: prepare("DELETE FROM idempotency WHERE stay_id = ?"),
      deleteStay: prepare("DELETE FROM stays WHERE stay_id = ?"),
    };
  }

  /**
   * Opens (creating when needed) `dir/flexcare.sqlite`. Throws when another process holds
   * the folder.
   */
  static open(dir: string, options: EventStoreOptions = {}): EventStore {
    const synchronous = options.synchronous ?? "full";
    if (synchronous !== "full" && synchronous !== "normal") {
      throw new TypeError(`Invalid synchronous setting "${String(synchronous)}"`);
    }
    Deno.mkdirSync(dir, { recursive: true });
    const path = join(dir, "flexcare.sqlite");
    const db = new DatabaseSync(path);
    try {
      db.exec("PRAGMA busy_timeout = 1000");
      // Held from the first write until close: one server per data folder.
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`PRAGMA synchronous = ${synchronous.toUpperCase()}`);
      db.exec("BEGIN IMMEDIATE");
      db.exec(SCHEMA);
      const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get();
      if (version === undefined) {
        db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(
          SCHEMA_VERSION,
        );
      } else if (version.value === "1") {
        // Version 2 adds the pending late-data recompute of each stay.
        db.exec("ALTER TABLE stays ADD COLUMN recompute TEXT");
        db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(SCHEMA_VERSION);
      } else if (version.value !== SCHEMA_VERSION) {
        throw new RangeError(
          `Data folder "${dir}" has schema version ${
            String(version.value)
          }; this build reads ${SCHEMA_VERSION}`,
        );
      }
      db.exec("COMMIT");
    } catch (error) {
      try {
        db.close();
      } catch { /* already failed */ }
      const message = (error as Error).message;
      if (/locked|busy/i.test(message)) {
        throw new Error(`Data folder "${dir}" is in use by another process`, { cause: error });
      }
      throw error;
    }
    return new EventStore(path, db);
  }

  /** The stay's row, or `undefined`. */
  getStay(stayId: string): StayRow | undefined {
    const r = this.#stmt.getStay!.get(stayId) as Row | undefined;
    return r === undefined ? undefined : stayFromRow(r);
  }

  /** The stored events among `eventIds` (kind and payload), by event id. */
  storedEvents(
    stayId: string,
    eventIds: Iterable<string>,
  ): Map<string, { kind: EventKind; payload: unknown }> {
    const found = new Map<string, { kind: EventKind; payload: unknown }>();
    for (const id of eventIds) {
      const r = this.#stmt.eventById!.get(stayId, id) as Row | undefined;
      if (r !== undefined) {
        found.set(id, { kind: r.kind as EventKind, payload: JSON.parse(r.payload as string) });
      }
    }
    return found;
  }

  /** The stay's events in log order (without image bytes). */
  events(stayId: string): EventRow[] {
    return (this.#stmt.events!.all(stayId) as Row[]).map((r) => ({
      seq: Number(r.seq),
      kind: r.kind as EventKind,
      hours: r.hours === null ? null : Number(r.hours),
      payload: JSON.parse(r.payload as string),
      eventId: (r.event_id as string | null) ?? null,
    }));
  }

  /** The bytes stored with an event (images). */
  blob(stayId: string, seq: number): Uint8Array {
    const r = this.#stmt.blob!.get(stayId, seq) as Row | undefined;
    if (r === undefined || !(r.blob instanceof Uint8Array)) {
      throw new RangeError(`Stay event ${seq} has no stored bytes`);
    }
    return r.blob;
  }

  /** Stored predictions with `seq > since`, in seq order. */
  predictions(stayId: string, since = 0): StayPrediction[] {
    return (this.#stmt.predictions!.all(stayId, since) as Row[]).map((r) =>
      JSON.parse(r.body as string) as StayPrediction
    );
  }

  /** The distinct prediction times of the stay, ascending. */
  predictionTimes(stayId: string): number[] {
    return (this.#stmt.predictionTimes!.all(stayId) as Row[]).map((r) => Number(r.hours));
  }

  /** A stored idempotent response. */
  idempotency(stayId: string, key: string): IdempotencyRow | undefined {
    const r = this.#stmt.getIdem!.get(stayId, key) as Row | undefined;
    if (r === undefined) return undefined;
    return {
      operation: r.operation as string,
      fingerprint: r.fingerprint as string,
      response: JSON.parse(r.response as string),
    };
  }

  /**
   * Appends a batch in one transaction (committed, and with `synchronous=FULL` on disk, when
   * this returns). Event and prediction sequence numbers continue the stay's counters; the
   * predictions must carry theirs already (`lastPredictionSeq + 1...`). Returns the new row.
   */
  append(stayId: string, batch: AppendBatch): StayRow {
    const s = this.#stmt;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      if (batch.create !== undefined) s.insertStay!.run(stayId, batch.create.admittedAt, batch.now);
      const before = this.getStay(stayId);
      if (before === undefined) throw new RangeError(`Stay "${stayId}" does not exist`);
      let seq = before.lastEventSeq;
      const added = { obs: 0, image: 0, note: 0 };
      for (const e of batch.events) {
        seq += 1;
        s.insertEvent!.run(
          stayId,
          seq,
          e.kind,
          e.hours,
          JSON.stringify(e.payload),
          e.blob ?? null,
          e.eventId ?? null,
          batch.idempotency?.key ?? null,
          batch.now,
        );
        if (e.kind === "obs" || e.kind === "image" || e.kind === "note") added[e.kind] += 1;
      }
      let predSeq = before.lastPredictionSeq;
      let lastHours = before.lastPredictionHours;
      for (const p of batch.predictions) {
        if (p.seq !== predSeq + 1) {
          throw new RangeError(`Prediction seq ${p.seq} does not follow ${predSeq}`);
        }
        predSeq = p.seq;
        s.insertPrediction!.run(stayId, p.seq, p.task, p.hours, JSON.stringify(p));
        lastHours = lastHours === null ? p.hours : Math.max(lastHours, p.hours);
      }
      s.updateStay!.run(added.obs, added.image, added.note, seq, predSeq, lastHours, stayId);
      if (batch.recompute !== undefined) {
        const times = batch.recompute.length === 0 ? null : JSON.stringify(batch.recompute);
        s.setRecompute!.run(times, stayId);
      }
      if (batch.discharge !== undefined) {
        s.dischargeStay!.run(batch.discharge.dischargedAt, batch.discharge.closedAt, stayId);
      }
      const after = this.getStay(stayId)!;
      if (batch.idempotency !== undefined) {
        const i = batch.idempotency;
        s.insertIdem!.run(
          stayId,
          i.key,
          i.operation,
          i.fingerprint,
          JSON.stringify(i.response(after)),
          batch.now,
        );
      }
      this.#db.exec("COMMIT");
      return after;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Stores an idempotent response for a write that changed nothing (duplicates only). */
  remember(
    stayId: string,
    idem: { key: string; operation: string; fingerprint: string; response: unknown },
    now: string,
  ): void {
    this.#stmt.insertIdem!.run(
      stayId,
      idem.key,
      idem.operation,
      idem.fingerprint,
      JSON.stringify(idem.response),
      now,
    );
  }

  /** Number of stays and of active stays. */
  stayCounts(): { stays: number; active: number } {
    const r = this.#stmt.counts!.get() as Row;
    return { stays: Number(r.stays), active: Number(r.active) };
  }

  /** Ids of the active stays. */
  activeStayIds(): string[] {
    return (this.#stmt.active!.all() as Row[]).map((r) => r.stay_id as string);
  }

  /** Ids of discharged stays whose discharge was recorded at or before `before` (ISO). */
  expiredStayIds(before: string): string[] {
    return (this.#stmt.expired!.all(before) as Row[]).map((r) => r.stay_id as string);
  }

  /** Deletes every row of a stay in one transaction. */
  deleteStay(stayId: string): void {
    const s = this.#stmt;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      s.deleteEvents!.run(stayId);
      s.deletePredictions!.run(stayId);
      s.deleteIdem!.run(stayId);
      s.deleteStay!.run(stayId);
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Row counts of every table. */
  counts(): StoreCounts {
    const n = (table: string) =>
      Number((this.#db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as Row).n);
    return {
      stays: n("stays"),
      events: n("events"),
      predictions: n("predictions"),
      idempotency: n("idempotency"),
    };
  }

  /** Checkpoints the WAL into the main file and closes the database. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      this.#db.close();
    }
  }
}
