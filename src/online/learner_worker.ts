/**
 * The online learner's jobs: training candidate heads and shadow evaluations (bootstrap), run
 * off the request thread by the Worker of `learner_worker_main.ts`.
 *
 * @module
 */
import { trainLinearHead } from "../finetune/train_head.ts";
import { applyLinearHead, type LinearHead } from "../finetune/linear_head.ts";
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
    // Early stopping on the validation loss: a rank metric of a few positive stays (DEC)
    // is too noisy to choose epochs by; the plan's metric decides promotion.
    validation: { x: job.valX, width: job.width, labels: job.valLabels },
    epochs: 60,
    patience: 8,
    learningRate: 0.003,
    weightDecay: 1e-3,
    batchSize: 64,
    seed: job.seed,
  });
  // The plan's metric of the kept head on the validation split (for its lineage).
  const probs: number[][] = [];
  for (let i = 0; i < job.valLabels.length; i++) {
    const x = job.valX.subarray(i * job.width, (i + 1) * job.width);
    probs.push(Array.from(applyLinearHead(trained.head, x).probs));
  }
  const best = trained.history.find((h) => h.epoch === trained.bestEpoch);
  return {
    head: trained.head,
    bestEpoch: trained.bestEpoch,
    epochs: trained.history.length,
    valLoss: best?.valLoss ?? null,
    valScore: finiteOrNull(planMetric(job.kind, job.metric, job.valLabels, probs)),
  };
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
