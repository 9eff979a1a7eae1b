/**
 * Stored predictions: one JSON object per line,
 * `{"task": "dec", "labels": 1, "probs": 0.83, "groups": {"modality": "t+n"}, "news2": 5}`.
 *
 * - `task`: a task code, folder name or id of `../data/tasks.ts`;
 * - `labels`: the class (binary 0/1, multi-class index) or, for multi-label tasks, one 0/1/-1
 *   per label (-1 = unknown);
 * - `probs` (probabilities) or `scores` (any ranking score, e.g. logits; calibration metrics are
 *   then left out): one number for binary tasks (a one-element array is accepted), one per
 *   label or class otherwise;
 * - `groups` (optional): named subgroup values for `--by`;
 * - `news2` (optional): the NEWS2 total of the same prediction (decompensation baseline).
 *
 * @module
 */
import { getTask, type TaskInfo } from "../data/tasks.ts";

/** One prediction with its label. */
export interface PredictionRecord {
  /** Task code (`ihm`, `dec`, ...), folder name or id. */
  readonly task: string | number;
  /** Class, or one 0/1/-1 per label for multi-label tasks. */
  readonly labels: number | readonly number[];
  /** Probabilities (one, or one per label or class). */
  readonly probs?: number | readonly number[];
  /** Ranking scores, used when `probs` is absent. */
  readonly scores?: number | readonly number[];
  /** Subgroup values by column name. */
  readonly groups?: Readonly<Record<string, string | number | boolean | null>>;
  /** NEWS2 total of the same prediction. */
  readonly news2?: number;
}

/** A record checked against its task. */
export interface CheckedRecord {
  /** The task. */
  readonly task: TaskInfo;
  /** Labels as an array (one entry for binary and multi-class tasks). */
  readonly labels: readonly number[];
  /** Predictions as an array (one entry for binary tasks). */
  readonly values: readonly number[];
  /** Whether `values` are probabilities. */
  readonly probabilities: boolean;
  /** Subgroup values. */
  readonly groups: Readonly<Record<string, string | number | boolean | null>>;
  /** NEWS2 total, when given. */
  readonly news2?: number;
}

function numbers(value: unknown, what: string, where: string): number[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw new TypeError(`${where}: ${what} must be a finite number or an array of them`);
  }
  return list as number[];
}

/**
 * Checks one record (parsed JSON) against its task's kind and returns it in array form.
 * `where` names the record in error messages (e.g. `predictions.jsonl:12`).
 *
 * @example A binary record
 * ```ts
 * import { checkRecord } from "./predictions.ts";
 * const r = checkRecord({ task: "ihm", labels: 1, probs: 0.8 }, "line 1");
 * if (r.task.code !== "ihm" || r.values[0] !== 0.8 || !r.probabilities) throw new Error();
 * ```
 */
export function checkRecord(value: unknown, where: string): CheckedRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${where}: a prediction must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  const key = record.task;
  if (typeof key !== "string" && typeof key !== "number") {
    throw new TypeError(`${where}: "task" must be a task code or id`);
  }
  const task = getTask(key);
  const probabilities = record.probs !== undefined;
  const raw = probabilities ? record.probs : record.scores;
  if (raw === undefined) throw new TypeError(`${where}: a prediction needs "probs" or "scores"`);
  const values = numbers(raw, probabilities ? '"probs"' : '"scores"', where);
  const labels = numbers(record.labels, '"labels"', where);
  const k = task.labelColumns.length;
  if (task.kind === "binary" && (labels.length !== 1 || values.length !== 1)) {
    throw new TypeError(`${where}: task "${task.code}" takes one label and one prediction`);
  }
  if (task.kind === "multilabel" && (labels.length !== k || values.length !== k)) {
    throw new TypeError(
      `${where}: task "${task.code}" takes ${k} labels and ${k} predictions, got ${labels.length} and ${values.length}`,
    );
  }
  if (task.kind === "multiclass") {
    const classes = task.classNames.length;
    if (labels.length !== 1 || values.length < 2 || (classes > 0 && values.length !== classes)) {
      throw new TypeError(
        `${where}: task "${task.code}" takes one class label and ${
          classes > 0 ? classes : "one"
        } prediction per class`,
      );
    }
    const c = labels[0]!;
    if (!Number.isInteger(c) || c < 0 || c >= values.length) {
      throw new RangeError(
        `${where}: class label ${c} is not an integer in 0..${values.length - 1}`,
      );
    }
  } else {
    const allowed = task.kind === "multilabel" ? [0, 1, -1] : [0, 1];
    const bad = labels.find((y) => !allowed.includes(y));
    if (bad !== undefined) {
      throw new RangeError(`${where}: label ${bad} is not one of ${allowed.join(", ")}`);
    }
  }
  if (probabilities && task.kind !== "multiclass" && values.some((p) => p < 0 || p > 1)) {
    throw new RangeError(`${where}: "probs" must lie in [0, 1]`);
  }
  const groups = record.groups ?? {};
  if (typeof groups !== "object" || groups === null || Array.isArray(groups)) {
    throw new TypeError(`${where}: "groups" must be an object`);
  }
  const news2 = record.news2;
  if (news2 !== undefined && (typeof news2 !== "number" || !Number.isFinite(news2))) {
    throw new TypeError(`${where}: "news2" must be a number`);
  }
  return {
    task,
    labels,
    values,
    probabilities,
    groups: groups as CheckedRecord["groups"],
    ...(news2 === undefined ? {} : { news2 }),
  };
}

/**
 * Parses JSON-lines text of predictions (blank lines are skipped). Throws a `SyntaxError` naming
 * the line for invalid JSON.
 *
 * @example Blank lines are skipped
 * ```ts
 * import { parsePredictionsJsonl } from "./predictions.ts";
 * const rs = parsePredictionsJsonl('{"task":"rea","labels":0,"scores":-1.2}\n\n', "p.jsonl");
 * if (rs.length !== 1 || rs[0]!.probabilities) throw new Error();
 * ```
 */
export function parsePredictionsJsonl(text: string, source: string): CheckedRecord[] {
  const out: CheckedRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new SyntaxError(`${source}:${i + 1}: invalid JSON (${(error as Error).message})`);
    }
    out.push(checkRecord(value, `${source}:${i + 1}`));
  });
  return out;
}
