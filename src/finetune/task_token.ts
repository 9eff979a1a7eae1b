/**
 * A new task's token on the frozen backbone: a copy of a trained task's token, or the mean of
 * the tokens of all the tasks the model was trained on (`--init-token TASK|mean`). The token is
 * not trained (that would need gradients through the backbone); the head learns on the s_p it
 * gives.
 *
 * @module
 */
import type { FlexCareModel } from "../model/flexcare_model.ts";

/** A task token and how it was made. */
export interface InitializedToken {
  readonly vector: Float32Array;
  /** `mean` or the task code it was copied from. */
  readonly init: string;
}

/**
 * The token of `init` (`mean`, or a task code or id of the model).
 *
 * @example The mean of the tokens
 * ```ts ignore
 * const { vector, init } = initialTaskToken(model, "mean");
 * ```
 */
export function initialTaskToken(model: FlexCareModel, init: string): InitializedToken {
  const table = model.taskTable;
  if (table === null) {
    throw new RangeError(
      `Model "${model.name}" has no task_table input: re-export it to fine-tune new task tokens`,
    );
  }
  const row = (id: number) => table.data.subarray(id * table.width, (id + 1) * table.width);
  if (init === "mean") {
    const out = new Float32Array(table.width);
    const ids = model.manifest.tasks.map((t) => t.id);
    for (const id of ids) {
      const r = row(id);
      for (let i = 0; i < out.length; i++) out[i] = out[i]! + r[i]! / ids.length;
    }
    return { vector: out, init: "mean" };
  }
  const key = /^\d+$/.test(init) ? Number(init) : init;
  const task = model.task(key);
  return { vector: Float32Array.from(row(task.id)), init: task.code };
}
