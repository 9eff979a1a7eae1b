/**
 * The online learner's durable state: one SQLite file (`online.sqlite`) beside the stay log,
 * WAL with `synchronous=FULL` like it. Tables:
 *
 * - `outcomes`: per stay, its admission, the merged outcome and the first observation time;
 *   `outcome_events` the outcome events by client event id (idempotency);
 * - `samples`: the patient representation s_p (float16) of every served prediction per task
 *   and hour (the latest wins), its label once known and the order labels arrived in;
 * - `heads`: every head version with its weights and lineage; `learner` the incumbent and the
 *   candidate per task;
 * - `evaluations`: the prequential log (each labelled sample scored by the frozen base head,
 *   the incumbent and the candidate before anything trained on it);
 * - `changelog`: every candidate, promotion, refusal and rollback with its evidence.
 *
 * Cost: a sample is 2 bytes per s_p value (256 bytes at the default model's 2d = 128) plus
 * about 80 bytes of row and index, per task per predicted hour.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import type { LinearHead } from "../finetune/linear_head.ts";
import { type Outcome, outcomeFromJson, outcomeToJson } from "./outcome.ts";

/** A stored representation with its label. */
export interface SampleRow {
  readonly id: number;
  readonly stayId: string;
  readonly task: string;
  readonly hours: number;
  readonly representation: Float32Array;
  readonly label: readonly number[] | null;
  /** Order the label arrived in (per store), null when unlabelled. */
  readonly labelSeq: number | null;
  /** In the locked reference set (never trained on). */
  readonly reference: boolean;
}

/** A head version. */
export interface HeadVersion {
  readonly task: string;
  readonly version: number;
  readonly head: LinearHead;
  /** Where it came from: base model hash, label window, metrics, parent version. */
  readonly lineage: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

/** The learner's state of a task. */
export interface TaskState {
  readonly task: string;
  readonly incumbent: number;
  readonly candidate: number | null;
  /** Label seq up to which the latest candidate was trained. */
  readonly trainedThrough: number;
  /** Candidate waiting for a person's approval (it passed the plan's rules). */
  readonly awaitingApproval: boolean;
}

/** One prequential evaluation. */
export interface EvaluationRow {
  readonly seq: number;
  readonly task: string;
  readonly stayId: string;
  readonly hours: number;
  readonly label: readonly number[];
  readonly base: readonly number[];
  readonly incumbent: readonly number[];
  readonly incumbentVersion: number;
  readonly candidate: readonly number[] | null;
  readonly candidateVersion: number | null;
}

/** One change log entry. */
export interface ChangeRow {
  readonly seq: number;
  readonly at: string;
  readonly task: string;
  readonly action: string;
  readonly version: number | null;
  readonly actor: string;
  readonly evidence: Readonly<Record<string, unknown>>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outcomes (
  stay_id TEXT PRIMARY KEY, admitted_at TEXT NOT NULL, outcome TEXT, first_obs REAL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outcome_events (
  stay_id TEXT NOT NULL, event_id TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (stay_id, event_id)
);
CREATE TABLE IF NOT EXISTS samples (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stay_id TEXT NOT NULL, task TEXT NOT NULL, hours REAL NOT NULL, rep BLOB NOT NULL,
  label TEXT, label_seq INTEGER, reference INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
  UNIQUE (stay_id, task, hours)
);
CREATE INDEX IF NOT EXISTS samples_labelled ON samples (task, label_seq) WHERE label_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS samples_reference ON samples (task) WHERE reference = 1;
CREATE INDEX IF NOT EXISTS samples_created ON samples (created_at) WHERE label_seq IS NULL;
CREATE TABLE IF NOT EXISTS heads (
  task TEXT NOT NULL, version INTEGER NOT NULL, head TEXT NOT NULL, lineage TEXT NOT NULL,
  created_at TEXT NOT NULL, PRIMARY KEY (task, version)
);
CREATE TABLE IF NOT EXISTS learner (
  task TEXT PRIMARY KEY, incumbent INTEGER NOT NULL, candidate INTEGER,
  trained_through INTEGER NOT NULL DEFAULT 0, awaiting_approval INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS evaluations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT NOT NULL, stay_id TEXT NOT NULL,
  hours REAL NOT NULL, label TEXT NOT NULL, base TEXT NOT NULL, incumbent TEXT NOT NULL,
  incumbent_version INTEGER NOT NULL, candidate TEXT, candidate_version INTEGER
);
CREATE INDEX IF NOT EXISTS evaluations_candidate ON evaluations (task, candidate_version);
CREATE TABLE IF NOT EXISTS changelog (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, task TEXT NOT NULL,
  action TEXT NOT NULL, version INTEGER, actor TEXT NOT NULL, evidence TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
INSERT OR IGNORE INTO meta (key, value) VALUES ('label_seq', '0');
`;

/** Float32 to IEEE half precision (round to nearest even), little-endian bytes. */
export function toFloat16(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    let h: number;
    if (exp === 0xff) h = sign | 0x7c00 | (mant ? 0x200 : 0);
    else {
      const e = exp - 127 + 15;
      if (e >= 0x1f) h = sign | 0x7c00;
      else if (e <= 0) {
        if (e < -10) h = sign;
        else {
          mant |= 0x800000;
          const shift = 14 - e;
          let v = mant >>> shift;
          const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
          if (rem > half || (rem === half && (v & 1))) v++;
          h = sign | v;
        }
      } else {
        let v = (e << 10) | (mant >>> 13);
        const rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem === 0x1000 && (v & 1))) v++;
        h = sign | v;
      }
    }
    view.setUint16(i * 2, h, true);
  }
  return out;
}

/** IEEE half precision little-endian bytes to float32. */
export function fromFloat16(bytes: Uint8Array): Float32Array {
  const n = bytes.length >>> 1;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const h = view.getUint16(i * 2, true);
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
    out[i] = e === 0
      ? sign * m * 2 ** -24
      : e === 0x1f
      ? (m ? NaN : sign * Infinity)
      : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

function headToText(h: LinearHead): string {
  return JSON.stringify({
    kind: h.kind,
    inputs: h.inputs,
    outputs: h.outputs,
    weights: Array.from(h.weights),
    bias: Array.from(h.bias),
  });
}

function headFromText(text: string): LinearHead {
  const j = JSON.parse(text);
  return {
    kind: j.kind,
    inputs: j.inputs,
    outputs: j.outputs,
    weights: Float32Array.from(j.weights),
    bias: Float32Array.from(j.bias),
  };
}

type Row = Record<string, unknown>;

/** The online learner's SQLite file. */
export class OnlineStore {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      outcome: p("SELECT * FROM outcomes WHERE stay_id = ?"),
      upsertStay: p(
        `INSERT INTO outcomes (stay_id, admitted_at, first_obs, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (stay_id) DO UPDATE SET first_obs = min(coalesce(first_obs, excluded.first_obs), excluded.first_obs)`,
      ),
      setOutcome: p(
        `INSERT INTO outcomes (stay_id, admitted_at, outcome, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (stay_id) DO UPDATE SET outcome = excluded.outcome, updated_at = excluded.updated_at`,
      ),
      outcomeEvent: p("SELECT payload FROM outcome_events WHERE stay_id = ? AND event_id = ?"),
      insertOutcomeEvent: p(
        "INSERT INTO outcome_events (stay_id, event_id, payload, created_at) VALUES (?, ?, ?, ?)",
      ),
      upsertSample: p(
        `INSERT INTO samples (stay_id, task, hours, rep, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (stay_id, task, hours) DO UPDATE SET rep = excluded.rep
         RETURNING id, label, label_seq`,
      ),
      staySamples: p(
        "SELECT * FROM samples WHERE stay_id = ? AND label_seq IS NULL ORDER BY task, hours",
      ),
      allStaySamples: p(
        "SELECT task, hours, label, label_seq, reference FROM samples WHERE stay_id = ? ORDER BY task, hours",
      ),
      setLabel: p("UPDATE samples SET label = ?, label_seq = ?, reference = ? WHERE id = ?"),
      labelSeq: p("SELECT value FROM meta WHERE key = 'label_seq'"),
      setLabelSeq: p("UPDATE meta SET value = ? WHERE key = 'label_seq'"),
      referenceCount: p("SELECT count(*) AS n FROM samples WHERE task = ? AND reference = 1"),
      window: p(
        `SELECT * FROM samples WHERE task = ? AND label_seq IS NOT NULL AND reference = 0
         AND label_seq <= ? ORDER BY label_seq DESC LIMIT ?`,
      ),
      reference: p("SELECT * FROM samples WHERE task = ? AND reference = 1 ORDER BY label_seq"),
      labelledCount: p(
        "SELECT count(*) AS n FROM samples WHERE task = ? AND label_seq > ? AND reference = 0",
      ),
      insertHead: p(
        "INSERT INTO heads (task, version, head, lineage, created_at) VALUES (?, ?, ?, ?, ?)",
      ),
      head: p("SELECT * FROM heads WHERE task = ? AND version = ?"),
      heads: p(
        "SELECT task, version, lineage, created_at FROM heads WHERE task = ? ORDER BY version",
      ),
      maxVersion: p("SELECT coalesce(max(version), 0) AS v FROM heads WHERE task = ?"),
      state: p("SELECT * FROM learner WHERE task = ?"),
      putState: p(
        `INSERT INTO learner (task, incumbent, candidate, trained_through, awaiting_approval)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (task) DO UPDATE SET incumbent = excluded.incumbent,
         candidate = excluded.candidate, trained_through = excluded.trained_through,
         awaiting_approval = excluded.awaiting_approval`,
      ),
      insertEval: p(
        `INSERT INTO evaluations (task, stay_id, hours, label, base, incumbent, incumbent_version,
         candidate, candidate_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      evals: p("SELECT * FROM evaluations WHERE task = ? AND seq > ? ORDER BY seq LIMIT ?"),
      candidateEvals: p(
        "SELECT * FROM evaluations WHERE task = ? AND candidate_version = ? ORDER BY seq",
      ),
      candidateCounts: p(
        `SELECT count(*) AS n, count(DISTINCT stay_id) AS stays,
         count(DISTINCT CASE WHEN label = '[1]' THEN stay_id END) AS positives FROM evaluations
         WHERE task = ? AND candidate_version = ?`,
      ),
      lastEvals: p("SELECT * FROM evaluations WHERE task = ? ORDER BY seq DESC LIMIT ?"),
      evalCount: p("SELECT count(*) AS n FROM evaluations WHERE task = ?"),
      insertChange: p(
        "INSERT INTO changelog (at, task, action, version, actor, evidence) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      changes: p("SELECT * FROM changelog WHERE seq > ? ORDER BY seq"),
      pruneLabelled: p(
        `DELETE FROM samples WHERE task = ? AND reference = 0 AND label_seq IS NOT NULL
         AND label_seq < (SELECT coalesce(min(label_seq), 0) FROM (SELECT label_seq FROM samples
         WHERE task = ? AND reference = 0 AND label_seq IS NOT NULL ORDER BY label_seq DESC LIMIT ?))`,
      ),
      pruneUnlabelled: p("DELETE FROM samples WHERE label_seq IS NULL AND created_at < ?"),
      counts: p(
        `SELECT (SELECT count(*) FROM samples) AS samples,
         (SELECT count(*) FROM samples WHERE label_seq IS NOT NULL) AS labelled,
         (SELECT count(*) FROM outcomes WHERE outcome IS NOT NULL) AS outcomes,
         (SELECT count(*) FROM evaluations) AS evaluations,
         (SELECT count(*) FROM changelog) AS changes`,
      ),
    };
  }

  /** Opens (creating) `dir/online.sqlite`. */
  static open(dir: string): OnlineStore {
    Deno.mkdirSync(dir, { recursive: true });
    const path = join(dir, "online.sqlite");
    const db = new DatabaseSync(path);
    try {
      db.exec("PRAGMA busy_timeout = 1000");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = FULL");
      db.exec(SCHEMA);
    } catch (error) {
      db.close();
      throw error;
    }
    return new OnlineStore(path, db);
  }

  /**
   * A read-only connection to `dir/online.sqlite` (the learner's Worker reads its training
   * window and shadow rows through one, off the thread that answers requests).
   */
  static openReader(dir: string): OnlineStore {
    const path = join(dir, "online.sqlite");
    const db = new DatabaseSync(path, { readOnly: true });
    db.exec("PRAGMA busy_timeout = 5000");
    return new OnlineStore(path, db);
  }

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.#db.exec("COMMIT");
      return out;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** The stay's outcome row. */
  stay(stayId: string): { admittedAt: string; outcome: Outcome | null; firstObs: number } | null {
    const r = this.#s.outcome!.get(stayId) as Row | undefined;
    if (r === undefined) return null;
    return {
      admittedAt: String(r["admitted_at"]),
      outcome: r["outcome"] == null ? null : outcomeFromJson(JSON.parse(String(r["outcome"]))),
      firstObs: r["first_obs"] == null ? Infinity : Number(r["first_obs"]),
    };
  }

  /** Records a stay's admission and (earliest) first observation time. */
  noteStay(stayId: string, admittedAt: string, firstObs: number, now: string): void {
    this.#s.upsertStay!.run(stayId, admittedAt, Number.isFinite(firstObs) ? firstObs : null, now);
  }

  setOutcome(stayId: string, admittedAt: string, outcome: Outcome, now: string): void {
    this.#s.setOutcome!.run(stayId, admittedAt, JSON.stringify(outcomeToJson(outcome)), now);
  }

  outcomeEvent(stayId: string, eventId: string): unknown | undefined {
    const r = this.#s.outcomeEvent!.get(stayId, eventId) as Row | undefined;
    return r === undefined ? undefined : JSON.parse(String(r["payload"]));
  }

  addOutcomeEvent(stayId: string, eventId: string, payload: unknown, now: string): void {
    this.#s.insertOutcomeEvent!.run(stayId, eventId, JSON.stringify(payload), now);
  }

  /** Stores (or replaces) a sample's representation; returns its id and label state. */
  putSample(
    stayId: string,
    task: string,
    hours: number,
    rep: ArrayLike<number>,
    now: string,
  ): { id: number; labelled: boolean } {
    const r = this.#s.upsertSample!.get(stayId, task, hours, toFloat16(rep), now) as Row;
    return { id: Number(r["id"]), labelled: r["label_seq"] != null };
  }

  /** The stay's unlabelled samples. */
  unlabelled(stayId: string): SampleRow[] {
    return (this.#s.staySamples!.all(stayId) as Row[]).map(sampleOf);
  }

  /** The stay's kept samples (no representations): task, hours, label (null: none yet). */
  staySamples(
    stayId: string,
  ): { task: string; hours: number; label: number[] | null; reference: boolean }[] {
    return (this.#s.allStaySamples!.all(stayId) as Row[]).map((r) => ({
      task: String(r["task"]),
      hours: Number(r["hours"]),
      label: r["label"] == null ? null : JSON.parse(String(r["label"])) as number[],
      reference: Number(r["reference"]) === 1,
    }));
  }

  /** Labels a sample with the next label seq; returns the seq. */
  label(id: number, label: readonly number[], reference: boolean): number {
    const seq = Number((this.#s.labelSeq!.get() as Row)["value"]) + 1;
    this.#s.setLabelSeq!.run(String(seq));
    this.#s.setLabel!.run(JSON.stringify(label), seq, reference ? 1 : 0, id);
    return seq;
  }

  labelSeq(): number {
    return Number((this.#s.labelSeq!.get() as Row)["value"]);
  }

  referenceCount(task: string): number {
    return Number((this.#s.referenceCount!.get(task) as Row)["n"]);
  }

  /** The latest `limit` labelled training samples (not the reference set) up to `through`. */
  window(task: string, through: number, limit: number): SampleRow[] {
    return (this.#s.window!.all(task, through, limit) as Row[]).map(sampleOf).reverse();
  }

  reference(task: string): SampleRow[] {
    return (this.#s.reference!.all(task) as Row[]).map(sampleOf);
  }

  /** Labelled training samples after label seq `after`. */
  labelledSince(task: string, after: number): number {
    return Number((this.#s.labelledCount!.get(task, after) as Row)["n"]);
  }

  addHead(task: string, head: LinearHead, lineage: Record<string, unknown>, now: string): number {
    const version = Number((this.#s.maxVersion!.get(task) as Row)["v"]) + 1;
    this.#s.insertHead!.run(task, version, headToText(head), JSON.stringify(lineage), now);
    return version;
  }

  head(task: string, version: number): HeadVersion | null {
    const r = this.#s.head!.get(task, version) as Row | undefined;
    if (r === undefined) return null;
    return {
      task,
      version,
      head: headFromText(String(r["head"])),
      lineage: JSON.parse(String(r["lineage"])),
      createdAt: String(r["created_at"]),
    };
  }

  /** Every version of a task's head, without weights. */
  versions(task: string): Omit<HeadVersion, "head">[] {
    return (this.#s.heads!.all(task) as Row[]).map((r) => ({
      task,
      version: Number(r["version"]),
      lineage: JSON.parse(String(r["lineage"])),
      createdAt: String(r["created_at"]),
    }));
  }

  state(task: string): TaskState | null {
    const r = this.#s.state!.get(task) as Row | undefined;
    if (r === undefined) return null;
    return {
      task,
      incumbent: Number(r["incumbent"]),
      candidate: r["candidate"] == null ? null : Number(r["candidate"]),
      trainedThrough: Number(r["trained_through"]),
      awaitingApproval: Number(r["awaiting_approval"]) === 1,
    };
  }

  putState(s: TaskState): void {
    this.#s.putState!.run(
      s.task,
      s.incumbent,
      s.candidate,
      s.trainedThrough,
      s.awaitingApproval ? 1 : 0,
    );
  }

  addEvaluation(e: Omit<EvaluationRow, "seq">): void {
    this.#s.insertEval!.run(
      e.task,
      e.stayId,
      e.hours,
      JSON.stringify(e.label),
      JSON.stringify(e.base.map(round)),
      JSON.stringify(e.incumbent.map(round)),
      e.incumbentVersion,
      e.candidate === null ? null : JSON.stringify(e.candidate.map(round)),
      e.candidateVersion,
    );
  }

  evaluations(task: string, after: number, limit: number): EvaluationRow[] {
    return (this.#s.evals!.all(task, after, limit) as Row[]).map(evalOf);
  }

  candidateEvaluations(task: string, version: number): EvaluationRow[] {
    return (this.#s.candidateEvals!.all(task, version) as Row[]).map(evalOf);
  }

  /** How many shadow evaluations a candidate has, from how many stays (with a positive label). */
  candidateEvaluationCounts(
    task: string,
    version: number,
  ): { samples: number; stays: number; positiveStays: number } {
    const r = this.#s.candidateCounts!.get(task, version) as Row;
    return {
      samples: Number(r["n"]),
      stays: Number(r["stays"]),
      positiveStays: Number(r["positives"]),
    };
  }

  lastEvaluations(task: string, limit: number): EvaluationRow[] {
    return (this.#s.lastEvals!.all(task, limit) as Row[]).map(evalOf).reverse();
  }

  evaluationCount(task: string): number {
    return Number((this.#s.evalCount!.get(task) as Row)["n"]);
  }

  addChange(
    c: Omit<ChangeRow, "seq">,
  ): void {
    this.#s.insertChange!.run(
      c.at,
      c.task,
      c.action,
      c.version,
      c.actor,
      JSON.stringify(c.evidence),
    );
  }

  changes(after = 0): ChangeRow[] {
    return (this.#s.changes!.all(after) as Row[]).map((r) => ({
      seq: Number(r["seq"]),
      at: String(r["at"]),
      task: String(r["task"]),
      action: String(r["action"]),
      version: r["version"] == null ? null : Number(r["version"]),
      actor: String(r["actor"]),
      evidence: JSON.parse(String(r["evidence"])),
    }));
  }

  /** Keeps the latest `keep` labelled training samples of a task (and its reference set). */
  pruneLabelled(task: string, keep: number): void {
    this.#s.pruneLabelled!.run(task, task, keep);
  }

  /** Deletes unlabelled samples stored before `before` (ISO): no outcome came in time. */
  pruneUnlabelled(before: string): number {
    return Number(this.#s.pruneUnlabelled!.run(before).changes);
  }

  counts(): Record<string, number> {
    const r = this.#s.counts!.get() as Row;
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)]));
  }

  close(): void {
    this.#db.close();
  }
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

function sampleOf(r: Row): SampleRow {
  return {
    id: Number(r["id"]),
    stayId: String(r["stay_id"]),
    task: String(r["task"]),
    hours: Number(r["hours"]),
    representation: fromFloat16(r["rep"] as Uint8Array),
    label: r["label"] == null ? null : JSON.parse(String(r["label"])),
    labelSeq: r["label_seq"] == null ? null : Number(r["label_seq"]),
    reference: Number(r["reference"]) === 1,
  };
}

function evalOf(r: Row): EvaluationRow {
  return {
    seq: Number(r["seq"]),
    task: String(r["task"]),
    stayId: String(r["stay_id"]),
    hours: Number(r["hours"]),
    label: JSON.parse(String(r["label"])),
    base: JSON.parse(String(r["base"])),
    incumbent: JSON.parse(String(r["incumbent"])),
    incumbentVersion: Number(r["incumbent_version"]),
    candidate: r["candidate"] == null ? null : JSON.parse(String(r["candidate"])),
    candidateVersion: r["candidate_version"] == null ? null : Number(r["candidate_version"]),
  };
}
