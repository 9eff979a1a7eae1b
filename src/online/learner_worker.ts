/**
 * The online learner's Worker: trains candidate heads and runs shadow evaluations (bootstrap)
 * off the request thread. Messages: `{id, op: "train" | "evaluate", ...}`; answers
 * `{id, result}` or `{id, error}`.
 *
 * @module
 */
import { trainLinearHead } from "../finetune/train_head.ts";
import type { LinearHead } from "../finetune/linear_head.ts";
import type { TaskKind } from "../data/tasks.ts";
import { evaluateCandidate, type PairedSample, planMetric } from "./shadow.ts";
import type { HeadPlan } from "./plan.ts";

/** A training job. */
export interface TrainJob {
  readonly op: "train";
  readonly kind: TaskKind;
  readonly outputs: number;
  readonly width: number;
  readonly x: Float32Array;
  readonly labels: number[][];
  readonly valX: Float32Array;
  readonly valLabels: number[][];
  readonly init: LinearHead;
  readonly metric: string;
  readonly seed: number;
}

/** An evaluation job. */
export interface EvaluateJob {
  readonly op: "evaluate";
  readonly kind: TaskKind;
  readonly plan: HeadPlan;
  readonly shadow: PairedSample[];
  readonly reference: PairedSample[];
  readonly seed: number;
}

/** Runs one job (also used in-process where Workers are not wanted). */
export function runJob(job: TrainJob | EvaluateJob): unknown {
  if (job.op === "evaluate") {
    return evaluateCandidate(job.kind, job.plan, job.shadow, job.reference, job.seed);
  }
  const trained = trainLinearHead({ x: job.x, width: job.width, labels: job.labels }, {
    kind: job.kind,
    outputs: job.outputs,
    init: job.init,
    validation: { x: job.valX, width: job.width, labels: job.valLabels },
    score: (probs, labels) =>
      planMetric(job.kind, job.metric, labels, probs.map((p) => Array.from(p))),
    epochs: 60,
    patience: 8,
    learningRate: 0.003,
    weightDecay: 1e-3,
    batchSize: 64,
    seed: job.seed,
  });
  const last = trained.history.at(-1);
  return {
    head: trained.head,
    bestEpoch: trained.bestEpoch,
    epochs: trained.history.length,
    valScore: trained.history[trained.bestEpoch - 1]?.valScore ?? null,
    lastValScore: last?.valScore ?? null,
  };
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (typeof scope.WorkerGlobalScope !== "undefined" && scope instanceof scope.WorkerGlobalScope) {
  scope.onmessage = (event: MessageEvent<{ id: number; job: TrainJob | EvaluateJob }>) => {
    const { id, job } = event.data;
    try {
      scope.postMessage({ id, result: runJob(job) });
    } catch (error) {
      scope.postMessage({ id, error: (error as Error).message });
    }
  };
}
