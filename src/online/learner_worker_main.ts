/**
 * The online learner's Worker entry: messages `{id, job}` (a train or evaluate job), answers
 * `{id, result}` or `{id, error}`.
 *
 * @module
 */
import {
  type DriftJob,
  DUTY_CYCLE,
  type EvaluateJob,
  runJob,
  setDuty,
  type TrainJob,
} from "./learner_worker.ts";

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
scope.onmessage = (
  event: MessageEvent<{ id: number; job: TrainJob | EvaluateJob | DriftJob; duty?: number }>,
) => {
  const { id, job } = event.data;
  setDuty(event.data.duty ?? DUTY_CYCLE);
  try {
    const result = runJob(job);
    scope.postMessage({ id, result });
  } catch (error) {
    scope.postMessage({ id, error: (error as Error).message });
  }
};
