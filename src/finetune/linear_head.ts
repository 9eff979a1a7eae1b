/**
 * A task head: one linear layer on the patient representation s_p (Eq. 12's heads), with a
 * sigmoid for binary and multi-label tasks and a softmax for multi-class tasks.
 *
 * @module
 */
import type { TaskKind } from "../data/tasks.ts";
import { activate } from "../model/calibration.ts";

export { activate };

/** A linear head: `logits = W x + b`, `W` row-major `[outputs, inputs]`. */
export interface LinearHead {
  readonly kind: TaskKind;
  readonly inputs: number;
  readonly outputs: number;
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

/** A head's output on one input. */
export interface HeadOutput {
  readonly logits: Float32Array;
  /** Sigmoid (binary, multi-label) or softmax (multi-class) of the logits. */
  readonly probs: Float32Array;
}

/**
 * Applies a head to one representation.
 *
 * @example A two-class head
 * ```ts
 * import { applyLinearHead } from "./linear_head.ts";
 * const head = {
 *   kind: "multiclass" as const, inputs: 2, outputs: 2,
 *   weights: new Float32Array([1, 0, 0, 1]), bias: new Float32Array(2),
 * };
 * const { probs } = applyLinearHead(head, new Float32Array([2, 0]));
 * if (!(probs[0]! > 0.8 && Math.abs(probs[0]! + probs[1]! - 1) < 1e-6)) throw new Error();
 * ```
 */
export function applyLinearHead(head: LinearHead, x: ArrayLike<number>): HeadOutput {
  if (x.length !== head.inputs) {
    throw new TypeError(`Head takes ${head.inputs} inputs, got ${x.length}`);
  }
  const logits = new Float32Array(head.outputs);
  for (let o = 0; o < head.outputs; o++) {
    let z = head.bias[o]!;
    const row = o * head.inputs;
    for (let i = 0; i < head.inputs; i++) z += head.weights[row + i]! * x[i]!;
    logits[o] = z;
  }
  return { logits, probs: activate(head.kind, logits) };
}
