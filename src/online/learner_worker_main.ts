/**
 * The online learner's Worker entry: messages `{id, job}` (a train or evaluate job), answers
 * `{id, result}` or `{id, error}`.
 *
 * @module
 */
import { type EvaluateJob, runJob, setThrottle, type TrainJob } from "./learner_worker.ts";

setThrottle(true);

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
scope.onmessage = (event: MessageEvent<{ id: number; job: TrainJob | EvaluateJob }>) => {
  const { id, job } = event.data;
  try {
    const result = runJob(job);
    scope.postMessage({ id, result });
  } catch (error) {
    scope.postMessage({ id, error: (error as Error).message });
  }
};
