/**
 * The fine-tuned head artifact, `heads/<name>/head.json`: a linear head on s_p, its label names
 * and kind, the task token it was trained with, its metrics, and the hash of the base model
 * (`FlexCareModel.hash`) so that a head never runs on another backbone.
 *
 * @module
 */
import type { TaskKind } from "../data/tasks.ts";
import type { LinearHead } from "./linear_head.ts";

/** `format` of a head file. */
export const HEAD_FORMAT = "flexcare-head";
/** `format_version` of a head file. */
export const HEAD_FORMAT_VERSION = 1;

/** A fine-tuned head as stored. */
export interface FineTunedHead {
  /** Task name (the folder name under `heads/`). */
  readonly task: string;
  readonly kind: TaskKind;
  /** Output names: label columns (binary, multi-label) or class names (multi-class). */
  readonly labels: readonly string[];
  readonly head: LinearHead;
  /** The task token fed with the new task (d values) and how it was initialized. */
  readonly token: { readonly init: string; readonly vector: Float32Array };
  /** The base model: `hash` is `FlexCareModel.hash`. */
  readonly baseModel: { readonly hash: string; readonly name: string; readonly createdAt?: string };
  /** Validation and test metrics (and anything else worth keeping). */
  readonly metrics: Readonly<Record<string, unknown>>;
  /** Training settings (fraction, seed, epochs, counts). */
  readonly training: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

/** Raised when a head was trained on another base model than the one it is asked to run on. */
export class HeadMismatchError extends Error {
  readonly task: string;
  readonly headHash: string;
  readonly modelHash: string;

  constructor(task: string, headHash: string, modelHash: string, path: string) {
    super(
      `Head "${task}" (${path}) was trained on base model ${
        headHash.slice(0, 12)
      }, not on the loaded model ${modelHash.slice(0, 12)}: fine-tune it again on this model`,
    );
    this.name = "HeadMismatchError";
    this.task = task;
    this.headHash = headHash;
    this.modelHash = modelHash;
  }
}

/** The JSON document of a head. */
export function headToJson(h: FineTunedHead): Record<string, unknown> {
  return {
    format: HEAD_FORMAT,
    format_version: HEAD_FORMAT_VERSION,
    task: h.task,
    kind: h.kind,
    activation: h.kind === "multiclass" ? "softmax" : "sigmoid",
    labels: [...h.labels],
    inputs: h.head.inputs,
    outputs: h.head.outputs,
    weights: Array.from(h.head.weights),
    bias: Array.from(h.head.bias),
    token: { init: h.token.init, vector: Array.from(h.token.vector) },
    base_model: {
      hash: h.baseModel.hash,
      name: h.baseModel.name,
      ...(h.baseModel.createdAt ? { created_at: h.baseModel.createdAt } : {}),
    },
    metrics: h.metrics,
    training: h.training,
    created_at: h.createdAt,
  };
}

function numbers(value: unknown, length: number, what: string): Float32Array {
  if (!Array.isArray(value) || value.length !== length || !value.every(Number.isFinite)) {
    throw new TypeError(`Head ${what} must be ${length} finite numbers`);
  }
  return Float32Array.from(value as number[]);
}

/**
 * Parses and validates a head document.
 *
 * @example Round trip
 * ```ts
 * import { headFromJson, headToJson } from "./head_artifact.ts";
 * const h = headFromJson(headToJson({
 *   task: "t", kind: "binary", labels: ["y"],
 *   head: { kind: "binary", inputs: 2, outputs: 1, weights: new Float32Array([1, 2]), bias: new Float32Array(1) },
 *   token: { init: "mean", vector: new Float32Array(1) },
 *   baseModel: { hash: "a".repeat(64), name: "m" }, metrics: {}, training: {}, createdAt: "now",
 * }));
 * if (h.head.weights[1] !== 2) throw new Error();
 * ```
 */
export function headFromJson(json: unknown): FineTunedHead {
  const j = json as Record<string, unknown>;
  if (typeof j !== "object" || j === null || j["format"] !== HEAD_FORMAT) {
    throw new TypeError(`Not a head file: format must be "${HEAD_FORMAT}"`);
  }
  if (j["format_version"] !== HEAD_FORMAT_VERSION) {
    throw new TypeError(
      `Head format_version ${JSON.stringify(j["format_version"])} is not supported`,
    );
  }
  const task = j["task"];
  const kind = j["kind"];
  if (typeof task !== "string" || task === "") throw new TypeError("Head has no task name");
  if (kind !== "binary" && kind !== "multilabel" && kind !== "multiclass") {
    throw new TypeError(`Head kind ${JSON.stringify(kind)} is unknown`);
  }
  const inputs = Number(j["inputs"]), outputs = Number(j["outputs"]);
  if (!Number.isInteger(inputs) || inputs < 1 || !Number.isInteger(outputs) || outputs < 1) {
    throw new TypeError("Head inputs and outputs must be positive integers");
  }
  const labels = j["labels"];
  if (!Array.isArray(labels) || labels.length !== outputs) {
    throw new TypeError(`Head labels must name its ${outputs} outputs`);
  }
  const token = j["token"] as { init?: unknown; vector?: unknown } | undefined;
  const base = j["base_model"] as { hash?: unknown; name?: unknown; created_at?: unknown };
  if (typeof base?.hash !== "string" || !/^[0-9a-f]{64}$/.test(base.hash)) {
    throw new TypeError("Head has no base_model.hash");
  }
  const vector = numbers(
    token?.vector,
    (token?.vector as unknown[] | undefined)?.length ?? 0,
    "token",
  );
  if (vector.length === 0) throw new TypeError("Head has no task token");
  return {
    task,
    kind,
    labels: labels.map(String),
    head: {
      kind,
      inputs,
      outputs,
      weights: numbers(j["weights"], inputs * outputs, "weights"),
      bias: numbers(j["bias"], outputs, "bias"),
    },
    token: { init: String(token?.init ?? ""), vector },
    baseModel: {
      hash: base.hash,
      name: String(base.name ?? ""),
      ...(typeof base.created_at === "string" ? { createdAt: base.created_at } : {}),
    },
    metrics: (j["metrics"] ?? {}) as Record<string, unknown>,
    training: (j["training"] ?? {}) as Record<string, unknown>,
    createdAt: String(j["created_at"] ?? ""),
  };
}

/** Writes `dir/head.json` (the folder is created). */
export async function writeHead(dir: string, head: FineTunedHead): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/head.json`;
  await Deno.writeTextFile(path, JSON.stringify(headToJson(head), null, 1) + "\n");
  return path;
}

/** Options for {@linkcode readHead}. */
export interface ReadHeadOptions {
  /** The loaded model's `FlexCareModel.hash`: a head trained on another model is refused. */
  modelHash?: string;
}

/**
 * Reads a head file; throws {@linkcode HeadMismatchError} when `modelHash` is given and differs
 * from the head's base model.
 */
export async function readHead(
  path: string,
  options: ReadHeadOptions = {},
): Promise<FineTunedHead> {
  let head: FineTunedHead;
  try {
    head = headFromJson(JSON.parse(await Deno.readTextFile(path)));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw error;
    throw new TypeError(`Cannot read head "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (options.modelHash !== undefined && head.baseModel.hash !== options.modelHash) {
    throw new HeadMismatchError(head.task, head.baseModel.hash, options.modelHash, path);
  }
  return head;
}
