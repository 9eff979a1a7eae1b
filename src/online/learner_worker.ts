/**
 * The online learner's jobs, run off the request thread by the Worker of
 * `learner_worker_main.ts`: each reads what it needs (the training window, the shadow rows,
 * the reference set) through its own read-only connection to `online.sqlite`, so the thread
 * that answers requests never decodes thousands of rows; then trains a candidate head or
 * evaluates one (bootstrap).
 *
 * @module
 */
import { trainLinearHead } from "../finetune/train_head.ts";
import { applyLinearHead, type LinearHead } from "../finetune/linear_head.ts";
import type { TaskKind } from "../data/tasks.ts";
import {
  calibrationError,
  evaluateCandidate,
  inputShift,
  planMetric,
  type ShadowEvidence,
} from "./shadow.ts";
import type { HeadPlan } from "./plan.ts";
import { OnlineStore, type SampleRow } from "./store.ts";

/** A training job: the latest `labelWindow` labels of `task` up to label seq `through`. */
export interface TrainJob {
  readonly op: "train";
  readonly dataDir: string;
  readonly task: string;
  readonly through: number;
  readonly labelWindow: number;
  readonly kind: TaskKind;
  readonly outputs: number;
  readonly init: LinearHead;
  readonly metric: string;
  readonly seed: number;
}

/** An evaluation job: the candidate's shadow rows and the reference set. */
export interface EvaluateJob {
  readonly op: "evaluate";
  readonly dataDir: string;
  readonly task: string;
  readonly version: number;
  readonly candidate: LinearHead;
  readonly base: LinearHead;
  readonly kind: TaskKind;
  readonly plan: HeadPlan;
  readonly seed: number;
}

/** A drift job: rolling calibration of the incumbent and input shift of the latest labels. */
export interface DriftJob {
  readonly op: "drift";
  readonly dataDir: string;
  readonly task: string;
  readonly kind: TaskKind;
  readonly window: number;
}

/** What a drift job measured (NaN: not defined yet). */
export interface DriftResult {
  readonly window: number;
  readonly calibrationError: number;
  readonly inputShift: number;
}

/** What a training job found. */
export interface TrainResult {
  readonly head: LinearHead | null;
  readonly bestEpoch: number;
  readonly epochs: number;
  readonly valLoss: number | null;
  readonly valScore: number | null;
  readonly window: {
    readonly fromLabelSeq: number;
    readonly toLabelSeq: number;
    readonly samples: number;
    readonly train: number;
    readonly validation: number;
    readonly stays: number;
  } | null;
}

const readers = new Map<string, OnlineStore>();

/**
 * Default share of one core the jobs may use: after every slice of work the job sleeps (in
 * the Worker, `Atomics.wait`) so the threads that answer requests and run the model find a
 * free core; a background learner has minutes, a request has milliseconds.
 */
export const DUTY_CYCLE = 0.1;
const SLICE_MS = 2;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let duty = 1;

/** The share of a core the jobs may use (the Worker sets it per job; in-process runs: 1). */
export function setDuty(share: number): void {
  duty = share;
}

let sliceStart = 0;
function pause(): void {
  if (duty >= 1) return;
  const now = performance.now();
  if (sliceStart === 0) sliceStart = now;
  const worked = now - sliceStart;
  if (worked < SLICE_MS) return;
  Atomics.wait(sleeper, 0, 0, worked * (1 - duty) / duty);
  sliceStart = performance.now();
}

function reader(dataDir: string): OnlineStore {
  let store = readers.get(dataDir);
  if (store === undefined) readers.set(dataDir, store = OnlineStore.openReader(dataDir));
  return store;
}

/** Closes the read-only connections (the Worker's, or the process's in-process mode). */
export function closeReaders(): void {
  for (const store of readers.values()) store.close();
  readers.clear();
}

/** FNV-1a of a string. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function train(job: TrainJob): TrainResult {
  const rows = reader(job.dataDir).window(job.task, job.through, job.labelWindow);
  // Validation by stay (a fifth of the stays), for early stopping.
  const isVal = (s: SampleRow) => hash32(s.stayId) % 5 === 0;
  const trainRows = rows.filter((r) => !isVal(r));
  const valRows = rows.filter(isVal);
  const none = { head: null, bestEpoch: 0, epochs: 0, valLoss: null, valScore: null };
  if (trainRows.length === 0 || valRows.length === 0) return { ...none, window: null };
  const width = job.init.inputs;
  const pack = (list: SampleRow[]) => {
    const x = new Float32Array(list.length * width);
    list.forEach((r, i) => x.set(r.representation, i * width));
    return { x, width, labels: list.map((r) => Array.from(r.label!)) };
  };
  const t = pack(trainRows), v = pack(valRows);
  const trained = trainLinearHead(t, {
    kind: job.kind,
    outputs: job.outputs,
    init: job.init,
    // Early stopping on the validation loss: a rank metric of a few positive stays (DEC)
    // is too noisy to choose epochs by; the plan's metric decides promotion.
    validation: v,
    epochs: 60,
    patience: 8,
    learningRate: 0.003,
    weightDecay: 1e-3,
    batchSize: 64,
    seed: job.seed,
    afterBatch: pause,
  });
  // The plan's metric of the kept head on the validation split (for its lineage).
  const probs: number[][] = [];
  for (let i = 0; i < v.labels.length; i++) {
    probs.push(
      Array.from(applyLinearHead(trained.head, v.x.subarray(i * width, (i + 1) * width)).probs),
    );
  }
  const best = trained.history.find((h) => h.epoch === trained.bestEpoch);
  const value = planMetric(job.kind, job.metric, v.labels, probs);
  return {
    head: trained.head,
    bestEpoch: trained.bestEpoch,
    epochs: trained.history.length,
    valLoss: best?.valLoss ?? null,
    valScore: Number.isFinite(value) ? value : null,
    window: {
      fromLabelSeq: rows[0]!.labelSeq!,
      toLabelSeq: rows.at(-1)!.labelSeq!,
      samples: rows.length,
      train: trainRows.length,
      validation: valRows.length,
      stays: new Set(rows.map((r) => r.stayId)).size,
    },
  };
}

function evaluate(job: EvaluateJob): ShadowEvidence {
  const store = reader(job.dataDir);
  const shadow = store.candidateEvaluations(job.task, job.version).map((r) => ({
    stayId: r.stayId,
    label: r.label,
    a: r.candidate!,
    b: r.incumbent,
  }));
  const reference = store.reference(job.task).map((r) => ({
    stayId: r.stayId,
    label: r.label!,
    a: Array.from(applyLinearHead(job.candidate, r.representation).probs),
    b: Array.from(applyLinearHead(job.base, r.representation).probs),
  }));
  return evaluateCandidate(job.kind, job.plan, shadow, reference, job.seed, pause);
}

function drift(job: DriftJob): DriftResult {
  const store = reader(job.dataDir);
  const recent = store.lastEvaluations(job.task, job.window);
  const ece = calibrationError(
    job.kind,
    recent.map((r) => r.label),
    recent.map((r) => r.incumbent),
  );
  const reference = store.reference(job.task).map((r) => r.representation);
  const latest = store.window(job.task, store.labelSeq(), job.window).map((r) => r.representation);
  return {
    window: recent.length,
    calibrationError: ece,
    inputShift: inputShift(reference, latest),
  };
}

/** Runs one job (also used in-process where Workers are not wanted). */
export function runJob(
  job: TrainJob | EvaluateJob | DriftJob,
): TrainResult | ShadowEvidence | DriftResult {
  sliceStart = 0;
  switch (job.op) {
    case "evaluate":
      return evaluate(job);
    case "drift":
      return drift(job);
    default:
      return train(job);
  }
}
