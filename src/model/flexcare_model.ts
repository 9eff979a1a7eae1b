/**
 * A loaded FlexCare model directory: the one graph, and in paper mode the staged graphs
 * (image tower, note tower, step) that let a service cache tower states per stay and re-run
 * only the step graph at each hourly update.
 *
 * The graphs read the task tokens from a `task_table` input `[R, d]` (rows = task ids), fed
 * from the directory's `task_table.json`; a fine-tuned task brings its own token, which takes a
 * free row for the run ({@linkcode TaskToken}). Models exported before that input existed load
 * too (their tokens are inside the graphs, and they take no extra tokens).
 *
 * @module
 */
import {
  type BackendName,
  type OrtRuntime,
  resolveBackend,
  type ResolvedBackend,
} from "./backend.ts";
import { activate, applyTemperature } from "./calibration.ts";
import { encodeStatics, type StaticsHead, staticsWidth, type StayStatics } from "./statics.ts";
import { GraphSession, type HostTensor } from "./graph_session.ts";
import {
  type ManifestTask,
  ModelLoadError,
  type ModelManifest,
  readGraph,
  readManifest,
  sha256Hex,
} from "./manifest.ts";
import { join } from "node:path";
import type { FeatureMatrix } from "../features/matrix.ts";
import { type Normalizer, NORMALIZER_PH, normalizerFromJson } from "../features/normalizer.ts";

/** Options for {@linkcode FlexCareModel.load}. */
export interface LoadModelOptions {
  /**
   * The backend.
   * @default {"auto"}
   */
  backend?: BackendName;
  /** An already resolved runtime (shared between models; the caller closes it). */
  runtime?: OrtRuntime;
  /**
   * Run the sessions in a Worker, off the calling thread (what a server wants).
   * @default {false}
   */
  offThread?: boolean;
  /**
   * Apply the manifest's per-task temperatures (`calibration`) to the heads' logits. Off only
   * to fit them (`deno task calibrate`).
   * @default {true}
   */
  calibrated?: boolean;
  /**
   * Use the manifest's heads over `[s_p || statics]` (`statics`). Off only to fit them
   * (`deno task fit-statics`): `representation` is then s_p alone.
   * @default {true}
   */
  statics?: boolean;
}

/** What the `auto` backend's check against wasm found. */
export interface AutoBackendCheck {
  /** The backend `auto` picked first. */
  readonly backend: ResolvedBackend;
  /** Largest absolute difference from wasm over every output of the probe sample. */
  readonly maxAbsDiff: number;
  /** Whether the pick serves (else the model fell back to wasm). */
  readonly kept: boolean;
}

/** Largest output difference from wasm that `auto` accepts for a faster backend. */
export const AUTO_PARITY_TOLERANCE = 1e-4;

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return max;
}

/** The manifest's `task_table` entry: the task-embedding table fed to the graphs. */
export interface TaskTableSpec {
  readonly file: string;
  readonly sha256: string;
  readonly bytes?: number;
  /** `[R, d]`: R task-embedding rows (40) of width d. */
  readonly shape: readonly [number, number];
  readonly dtype: "float32";
}

/** The loaded task-embedding table. */
export interface TaskTable {
  readonly rows: number;
  readonly width: number;
  /** Row-major `[rows, width]`. */
  readonly data: Float32Array;
}

/**
 * A task token supplied for one run: a fine-tuned task's own token on the frozen backbone. It
 * takes a free row of the task table (one not used by the manifest's tasks) for that run only.
 */
export interface TaskToken {
  /** The task's name in the outputs (may equal a built-in code: outputs keep the feed order). */
  readonly code: string;
  /** The token, d values. */
  readonly vector: Float32Array;
}

/** Options of {@linkcode FlexCareModel.predict} and {@linkcode FlexCareModel.step}. */
export interface RunTasksOptions {
  /**
   * Extra task tokens (new tasks). Each gives one more output, after those of the task keys,
   * whose `task` has `outputs: 0` (no built-in head: apply the task's own head to
   * `representation`).
   * @default {[]}
   */
  readonly tokens?: readonly TaskToken[];
  /**
   * The stay's statics (`predict`, `step`), or one per sample (`predictBatch`); absent ones
   * encode as unknown. Used only by a model with `manifest.statics`.
   */
  readonly statics?: StayStatics | readonly (StayStatics | undefined)[];
}

/** Cached output of a tower for one image or note: `[1, L+1, S, d]`. */
export interface TowerStates {
  readonly dims: readonly number[];
  readonly data: Float32Array;
  /** Note token mask `[1, N]` (notes only). */
  readonly mask?: Float32Array;
}

/** Inputs of one sample. Time-series rows are standardized (at most the last 512). */
export interface SampleInputs {
  readonly timeseries: FeatureMatrix | null;
  readonly image: Float32Array | null;
  readonly note: { tokens: number; dim: number; data: Float32Array } | null;
}

/** Staged inputs of one sample: tower states instead of raw image and note. */
export interface StagedInputs {
  readonly timeseries: FeatureMatrix | null;
  readonly imageStates: TowerStates | null;
  readonly noteStates: TowerStates | null;
}

/** The model's outputs for one task of one sample. */
export interface TaskOutput {
  readonly task: ManifestTask;
  /**
   * Head probabilities (sigmoid or softmax of `logits`), `task.outputs` values, calibrated when
   * the manifest has a temperature for the task.
   */
  readonly probs: Float32Array;
  /** Head logits, divided by the task's temperature when the manifest has one. */
  readonly logits: Float32Array;
  /** Fusion weights over the 7 combinations (manifest order). */
  readonly alpha: Float32Array;
  /** Expert gates, `[7, experts]`. */
  readonly gates: Float32Array;
  /**
   * Patient representation s_p (2d), followed by the encoded stay statics for a model with
   * `manifest.statics` ({@linkcode FlexCareModel.representationWidth} values in all): what every
   * linear head on the backbone reads.
   */
  readonly representation: Float32Array;
}

function f32(dims: number[], data: Float32Array): HostTensor {
  return { dims, dtype: "float32", data };
}

/** A loaded model. */
export class FlexCareModel {
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly runtime: OrtRuntime;
  readonly normalizer: Normalizer;
  /** sha256 over the manifest's graph hashes: identifies the backbone (fine-tuned heads record it). */
  readonly hash: string;
  readonly graphs: ReadonlyMap<string, GraphSession>;
  /**
   * The task-embedding table the graphs read their task tokens from, or `null` for a model
   * whose graphs hold the tokens themselves (exported before the `task_table` input).
   */
  readonly taskTable: TaskTable | null;
  /** Set when the backend was `auto` and picked something other than wasm. */
  autoCheck: AutoBackendCheck | null = null;
  #ownsRuntime = false;

  private constructor(
    dir: string,
    manifest: ModelManifest,
    runtime: OrtRuntime,
    graphs: Map<string, GraphSession>,
    hash: string,
    taskTable: TaskTable | null,
  ) {
    this.dir = dir;
    this.manifest = manifest;
    this.runtime = runtime;
    this.graphs = graphs;
    this.hash = hash;
    this.taskTable = taskTable;
    // A model exported without training data (random init) carries no statistics: FlexCare's
    // reference training standardizes every task with the ph statistics.
    this.normalizer = manifest.normalizer ? normalizerFromJson(manifest.normalizer) : NORMALIZER_PH;
  }

  /**
   * Loads a model directory: validates the manifest, checks each graph's sha256, creates the
   * sessions and checks their inputs and outputs against the manifest.
   *
   * @example Load and list tasks
   * ```ts ignore
   * import { FlexCareModel } from "./flexcare_model.ts";
   * const model = await FlexCareModel.load("models/default", { backend: "wasm" });
   * console.log(model.manifest.tasks.map((t) => t.code), model.runtime.backend);
   * ```
   */
  static async load(dir: string, options: LoadModelOptions = {}): Promise<FlexCareModel> {
    const read = await readManifest(dir);
    const { calibration: _c, ...uncalibrated } = read;
    const chosen = options.calibrated === false ? uncalibrated : read;
    const { statics: _s, ...withoutStatics } = chosen;
    const manifest = options.statics === false ? withoutStatics : chosen;
    if (options.runtime !== undefined) {
      return await FlexCareModel.#open(dir, manifest, options.runtime);
    }
    const offThread = options.offThread ?? false;
    const runtime = await resolveBackend(options.backend ?? "auto", { offThread });
    const model = await FlexCareModel.#open(dir, manifest, runtime, true);
    if (!runtime.auto || runtime.backend === "wasm") return model;
    // `auto` picked a faster backend: it serves only if it agrees with wasm on a probe input.
    let diff: number;
    try {
      const reference = await FlexCareModel.#open(
        dir,
        manifest,
        await resolveBackend("wasm"),
        true,
      );
      try {
        diff = maxAbsDiff(await model.#probe(), await reference.#probe());
      } finally {
        await reference.close();
      }
    } catch (error) {
      await model.close();
      throw error;
    }
    if (diff <= AUTO_PARITY_TOLERANCE) {
      model.autoCheck = { backend: runtime.backend, maxAbsDiff: diff, kept: true };
      return model;
    }
    await model.close();
    const fallback = await FlexCareModel.#open(
      dir,
      manifest,
      await resolveBackend("wasm", { offThread }),
      true,
    );
    fallback.autoCheck = { backend: runtime.backend, maxAbsDiff: diff, kept: false };
    return fallback;
  }

  static async #open(
    dir: string,
    manifest: ModelManifest,
    runtime: OrtRuntime,
    ownsRuntime = false,
  ): Promise<FlexCareModel> {
    const graphs = new Map<string, GraphSession>();
    try {
      for (const name of Object.keys(manifest.graphs).sort()) {
        const bytes = await readGraph(dir, manifest, name);
        try {
          graphs.set(name, await GraphSession.create(name, manifest.graphs[name]!, bytes, runtime));
        } catch (error) {
          throw new ModelLoadError(dir, `graph ${name}: ${(error as Error).message}`, {
            cause: error,
          });
        }
      }
      const wantsTable = [...graphs.values()].some((g) =>
        g.spec.inputs.some((i) => i.name === "task_table")
      );
      const table = wantsTable ? await readTaskTable(dir, manifest) : null;
      const parts = Object.keys(manifest.graphs).sort().map((g) => manifest.graphs[g]!.sha256);
      if (table !== null) parts.push(`task_table:${table.sha256}`);
      if (manifest.statics !== undefined) {
        const text = JSON.stringify({ spec: manifest.statics.spec, heads: manifest.statics.heads });
        parts.push(`statics:${await sha256Hex(new TextEncoder().encode(text))}`);
      }
      const hash = await sha256Hex(new TextEncoder().encode(parts.join("\n")));
      const model = new FlexCareModel(dir, manifest, runtime, graphs, hash, table?.table ?? null);
      model.#ownsRuntime = ownsRuntime;
      return model;
    } catch (error) {
      for (const g of graphs.values()) await g.close().catch(() => {});
      if (ownsRuntime) await runtime.close?.().catch(() => {});
      throw error;
    }
  }

  /**
   * The outputs of every graph on one fixed pseudo-random sample (all modalities), flattened:
   * what `auto` compares between a candidate backend and wasm.
   */
  async #probe(): Promise<number[]> {
    let state = 12345;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32 * 2 - 1;
    };
    const rows = 6;
    const ts: FeatureMatrix = {
      rows,
      columns: 76,
      data: Float64Array.from({ length: rows * 76 }, next),
    };
    const E = this.#noteDim;
    const note = { tokens: 3, dim: E, data: Float32Array.from({ length: 3 * E }, next) };
    const image = Float32Array.from({ length: 3 * 224 * 224 }, next);
    const codes = this.manifest.tasks.map((t) => t.code);
    const out: number[] = [];
    const take = (outputs: readonly TaskOutput[]) => {
      for (const o of outputs) out.push(...o.probs, ...o.alpha, ...o.representation);
    };
    take(await this.predict({ timeseries: ts, image, note }, codes));
    if (this.staged) {
      const imageStates = await this.encodeImage(image);
      const noteStates = await this.encodeNote(note);
      take(await this.step({ timeseries: ts, imageStates, noteStates }, codes));
    }
    return out;
  }

  /** Model name (the directory's last segment) and version (creation time). */
  get name(): string {
    return this.dir.replace(/\/+$/, "").split("/").at(-1) ?? this.dir;
  }

  /** Whether the staged graphs exist (paper mode). */
  get staged(): boolean {
    return this.manifest.staged && this.graphs.has("step");
  }

  /** Looks a task up by code or id. */
  task(key: string | number): ManifestTask {
    const task = this.manifest.tasks.find((t) => t.code === key || t.id === key);
    if (task === undefined) {
      throw new RangeError(
        `Model has no task ${JSON.stringify(key)}: it has ${
          this.manifest.tasks.map((t) => t.code).join(", ")
        }`,
      );
    }
    return task;
  }

  /**
   * Runs any graph on named tensors; a graph's `task_table` input defaults to the model's
   * table.
   */
  run(
    graph: string,
    feed: Readonly<Record<string, HostTensor>>,
  ): Promise<Record<string, HostTensor>> {
    const session = this.graphs.get(graph);
    if (session === undefined) throw new RangeError(`Model has no graph ${JSON.stringify(graph)}`);
    const table = this.taskTable;
    if (
      table !== null && !("task_table" in feed) &&
      session.spec.inputs.some((i) => i.name === "task_table")
    ) {
      return session.run({ ...feed, task_table: f32([table.rows, table.width], table.data) });
    }
    return session.run(feed);
  }

  get #layers(): number {
    return Number(this.manifest.config["n_layers"]);
  }

  get #width(): number {
    return Number(this.manifest.config["d_model"]);
  }

  /** Width of `TaskOutput.representation`: 2d, plus the statics encoding when the model has it. */
  get representationWidth(): number {
    const st = this.manifest.statics;
    return 2 * this.#width + (st === undefined ? 0 : staticsWidth(st.spec));
  }

  get #noteDim(): number {
    return this.manifest.note_encoder.dim;
  }

  /** Runs the image tower on a preprocessed image `[3, 224, 224]`. */
  async encodeImage(image: Float32Array): Promise<TowerStates> {
    const out = await this.run("image_tower", { image: f32([1, 3, 224, 224], image) });
    const t = out["image_states"]!;
    return { dims: t.dims, data: t.data as Float32Array };
  }

  /** Runs the note tower on note token embeddings `[n, E]` (n >= 1). */
  async encodeNote(
    note: { tokens: number; dim: number; data: Float32Array },
  ): Promise<TowerStates> {
    if (note.tokens < 1) throw new RangeError("Cannot encode a note with no tokens");
    if (note.dim !== this.#noteDim) {
      throw new TypeError(
        `Note embeddings have width ${note.dim}; the model's note encoder gives ${this.#noteDim}`,
      );
    }
    const mask = new Float32Array(note.tokens).fill(1);
    const out = await this.run("note_tower", {
      note: f32([1, note.tokens, note.dim], note.data.subarray(0, note.tokens * note.dim)),
      note_mask: f32([1, note.tokens], mask),
    });
    const t = out["note_states"]!;
    return { dims: t.dims, data: t.data as Float32Array, mask };
  }

  #timeseriesFeed(ts: FeatureMatrix | null): Record<string, HostTensor> {
    if (ts === null || ts.rows === 0) {
      return {
        ts: f32([1, 1, 76], new Float32Array(76)),
        ts_mask: f32([1, 1], new Float32Array(1)),
      };
    }
    const maxRows = this.manifest.timeseries.max_rows;
    const rows = Math.min(ts.rows, maxRows);
    const data = Float32Array.from(ts.data.subarray((ts.rows - rows) * 76));
    return {
      ts: f32([1, rows, 76], data),
      ts_mask: f32([1, rows], new Float32Array(rows).fill(1)),
    };
  }

  /**
   * The task feed: built-in tasks by key, then one task per extra token in a free row of a
   * copy of the table. Returns the tasks in output order and the feed tensors.
   */
  #taskFeed(
    taskKeys: readonly (string | number)[],
    tokens: readonly TaskToken[],
  ): { tasks: ManifestTask[]; feed: Record<string, HostTensor> } {
    const tasks = taskKeys.map((k) => this.task(k));
    if (tasks.length + tokens.length === 0) throw new RangeError("Ask for at least one task");
    const feed: Record<string, HostTensor> = {};
    const table = this.taskTable;
    if (tokens.length > 0) {
      if (table === null) {
        throw new RangeError(
          `Model "${this.name}" takes no task tokens: its graphs have no task_table input (re-export it)`,
        );
      }
      const used = new Set(this.manifest.tasks.map((t) => t.id));
      const free = Array.from({ length: table.rows }, (_, i) => i).filter((i) => !used.has(i));
      if (tokens.length > free.length) {
        throw new RangeError(
          `Cannot run ${tokens.length} extra task tokens: the task table has ${free.length} free rows`,
        );
      }
      const data = Float32Array.from(table.data);
      tokens.forEach((token, i) => {
        if (token.vector.length !== table.width) {
          throw new TypeError(
            `Task token ${
              JSON.stringify(token.code)
            } has ${token.vector.length} values; the model's tokens have ${table.width}`,
          );
        }
        const row = free[i]!;
        data.set(token.vector, row * table.width);
        // No built-in head reads this row: outputs 0 (kind and activation are placeholders;
        // the caller's own head gives them, from `representation`).
        tasks.push({
          code: token.code,
          id: row,
          kind: "binary",
          outputs: 0,
          labels: [],
          activation: "sigmoid",
        });
      });
      feed["task_table"] = f32([table.rows, table.width], data);
    } else if (table !== null) {
      feed["task_table"] = f32([table.rows, table.width], table.data);
    }
    feed["task_ids"] = {
      dims: [1, tasks.length],
      dtype: "int64",
      data: BigInt64Array.from(tasks.map((t) => BigInt(t.id))),
    };
    return { tasks, feed };
  }

  #outputs(
    out: Record<string, HostTensor>,
    tasks: readonly ManifestTask[],
    sample = 0,
    statics?: StayStatics,
  ): TaskOutput[] {
    const probs = out["probs"]!;
    const width = probs.dims[2]!;
    const logits = out["logits"]!.data as Float32Array;
    const alpha = out["alpha"]!.data as Float32Array;
    const gates = out["gates"]!;
    const gateSize = gates.dims[2]! * gates.dims[3]!;
    const sp = out["s_p"]!;
    const spSize = sp.dims[2]!;
    const K = tasks.length;
    const calibration = this.manifest.calibration?.tasks;
    const withStatics = this.manifest.statics;
    const extra = withStatics === undefined ? null : encodeStatics(withStatics.spec, statics);
    return tasks.map((task, k) => {
      const at = sample * K + k;
      const s = (sp.data as Float32Array).subarray(at * spSize, (at + 1) * spSize);
      const representation = new Float32Array(spSize + (extra?.length ?? 0));
      representation.set(s);
      if (extra !== null) representation.set(extra, spSize);
      const head = task.outputs === 0 ? undefined : withStatics?.heads[task.code];
      let raw: Float32Array = logits.slice(at * width, at * width + task.outputs);
      if (head !== undefined) raw = applyStaticsHead(head, representation, task.outputs);
      const temperature = calibration?.[task.code]?.temperature;
      const scaled = task.outputs === 0
        ? { logits: raw, probs: new Float32Array(0) }
        : temperature !== undefined
        ? applyTemperature(task.kind, raw, temperature)
        : head !== undefined
        ? { logits: raw, probs: activate(task.kind, raw) }
        : {
          logits: raw,
          probs: (probs.data as Float32Array).slice(at * width, at * width + task.outputs),
        };
      return {
        task,
        probs: scaled.probs,
        logits: scaled.logits,
        alpha: alpha.slice(at * 7, (at + 1) * 7),
        gates: (gates.data as Float32Array).slice(at * gateSize, (at + 1) * gateSize),
        representation,
      };
    });
  }

  /**
   * Runs the one graph on raw inputs for several tasks in one pass (built-in tasks by key,
   * then the extra task tokens of `options.tokens`).
   */
  async predict(
    inputs: SampleInputs,
    taskKeys: readonly (string | number)[],
    options: RunTasksOptions = {},
  ): Promise<TaskOutput[]> {
    return (await this.predictBatch([inputs], taskKeys, options))[0]!;
  }

  /**
   * Runs the one graph on a batch of samples (the same tasks for each): time series and notes
   * are zero-padded at the end to the longest in the batch, with their masks; absent modalities
   * are zeros with presence 0. Returns, per sample, the outputs per task.
   */
  async predictBatch(
    batch: readonly SampleInputs[],
    taskKeys: readonly (string | number)[],
    options: RunTasksOptions = {},
  ): Promise<TaskOutput[][]> {
    const B = batch.length;
    if (B === 0) return [];
    const { tasks, feed } = this.#taskFeed(taskKeys, options.tokens ?? []);
    const maxRows = this.manifest.timeseries.max_rows;
    const E = this.#noteDim;
    const rowsOf = (x: SampleInputs) => Math.min(x.timeseries?.rows ?? 0, maxRows);
    const tokensOf = (x: SampleInputs) => x.note?.tokens ?? 0;
    const T = Math.max(1, ...batch.map(rowsOf));
    const N = Math.max(1, ...batch.map(tokensOf));
    const ts = new Float32Array(B * T * 76);
    const tsMask = new Float32Array(B * T);
    const image = new Float32Array(B * 3 * 224 * 224);
    const note = new Float32Array(B * N * E);
    const noteMask = new Float32Array(B * N);
    const presence = new Float32Array(B * 3);
    batch.forEach((x, b) => {
      const rows = rowsOf(x);
      if (rows > 0) {
        const m = x.timeseries!;
        ts.set(m.data.subarray((m.rows - rows) * 76), b * T * 76);
        tsMask.fill(1, b * T, b * T + rows);
        presence[b * 3] = 1;
      }
      if (x.image !== null) {
        image.set(x.image, b * 3 * 224 * 224);
        presence[b * 3 + 1] = 1;
      }
      const tokens = tokensOf(x);
      if (tokens > 0) {
        if (x.note!.dim !== E) {
          throw new TypeError(
            `Note embeddings have width ${x.note!.dim}; the model's note encoder gives ${E}`,
          );
        }
        note.set(x.note!.data.subarray(0, tokens * E), b * N * E);
        noteMask.fill(1, b * N, b * N + tokens);
        presence[b * 3 + 2] = 1;
      }
      if (presence[b * 3]! + presence[b * 3 + 1]! + presence[b * 3 + 2]! === 0) {
        throw new RangeError(
          `Sample ${b} of the batch has no modality: a sample needs at least one`,
        );
      }
    });
    const ids = feed["task_ids"]!.data as BigInt64Array;
    const K = ids.length;
    const taskIds = new BigInt64Array(B * K);
    for (let b = 0; b < B; b++) taskIds.set(ids, b * K);
    const out = await this.run("flexcare", {
      ts: f32([B, T, 76], ts),
      ts_mask: f32([B, T], tsMask),
      image: f32([B, 3, 224, 224], image),
      note: f32([B, N, E], note),
      note_mask: f32([B, N], noteMask),
      presence: f32([B, 3], presence),
      ...feed,
      task_ids: { dims: [B, K], dtype: "int64", data: taskIds },
    });
    const statics = options.statics;
    return batch.map((_, b) =>
      this.#outputs(out, tasks, b, Array.isArray(statics) ? statics[b] : statics as StayStatics)
    );
  }

  /**
   * Runs the step graph on time-series rows and cached tower states (paper mode only); tasks
   * as {@linkcode FlexCareModel.predict}.
   */
  async step(
    inputs: StagedInputs,
    taskKeys: readonly (string | number)[],
    options: RunTasksOptions = {},
  ): Promise<TaskOutput[]> {
    if (!this.staged) {
      throw new RangeError("This model has no staged graphs (reference mask mode): use predict()");
    }
    const { tasks, feed } = this.#taskFeed(taskKeys, options.tokens ?? []);
    const L1 = this.#layers + 1;
    const d = this.#width;
    const presence = new Float32Array([
      inputs.timeseries !== null && inputs.timeseries.rows > 0 ? 1 : 0,
      inputs.imageStates !== null ? 1 : 0,
      inputs.noteStates !== null ? 1 : 0,
    ]);
    if (presence.every((p) => p === 0)) {
      throw new RangeError("A sample needs at least one modality");
    }
    const image = inputs.imageStates ??
      { dims: [1, L1, 197, d], data: new Float32Array(L1 * 197 * d) };
    const note = inputs.noteStates ??
      { dims: [1, L1, 2, d], data: new Float32Array(L1 * 2 * d), mask: new Float32Array(1) };
    const out = await this.run("step", {
      ...this.#timeseriesFeed(inputs.timeseries),
      image_states: f32([...image.dims], image.data),
      note_states: f32([...note.dims], note.data),
      note_mask: f32([1, note.mask!.length], note.mask!),
      presence: f32([1, 3], presence),
      ...feed,
    });
    const statics = options.statics;
    return this.#outputs(
      out,
      tasks,
      0,
      Array.isArray(statics) ? statics[0] : statics as StayStatics,
    );
  }

  /** Runs every graph once on small inputs so the first real request is not slow. */
  async warmUp(): Promise<void> {
    const ts: FeatureMatrix = { rows: 2, columns: 76, data: new Float64Array(152) };
    const codes = this.manifest.tasks.slice(0, 2).map((t) => t.code);
    await this.predict({ timeseries: ts, image: null, note: null }, codes);
    if (this.staged) {
      const E = this.#noteDim;
      const noteStates = await this.encodeNote({
        tokens: 2,
        dim: E,
        data: new Float32Array(2 * E),
      });
      const imageStates = await this.encodeImage(new Float32Array(3 * 224 * 224));
      await this.step({ timeseries: ts, imageStates, noteStates }, codes);
    }
  }

  /** Releases every session (and the runtime the model started, such as its worker). */
  async close(): Promise<void> {
    for (const g of this.graphs.values()) await g.close();
    if (this.#ownsRuntime) await this.runtime.close?.();
  }
}

/** Reads `task_table.json` named by the manifest, checks its sha256 and shape. */
async function readTaskTable(
  dir: string,
  manifest: ModelManifest,
): Promise<{ table: TaskTable; sha256: string }> {
  const spec = (manifest as { task_table?: TaskTableSpec | null }).task_table;
  const d = Number(manifest.config["d_model"]);
  if (
    spec === undefined || spec === null || typeof spec.file !== "string" ||
    spec.file.includes("..") || spec.file.startsWith("/")
  ) {
    throw new ModelLoadError(
      dir,
      "graphs take a task_table input but manifest.json names no task_table file",
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(dir, spec.file));
  } catch (error) {
    throw new ModelLoadError(dir, `${spec.file} cannot be read (${(error as Error).message})`, {
      cause: error,
    });
  }
  const hash = await sha256Hex(bytes);
  if (hash !== spec.sha256) {
    throw new ModelLoadError(dir, `${spec.file} has sha256 ${hash}, manifest says ${spec.sha256}`);
  }
  const json = JSON.parse(new TextDecoder().decode(bytes)) as { dims?: number[]; data?: number[] };
  const [rows, width] = json.dims ?? [];
  if (
    rows === undefined || width !== d || json.dims!.length !== 2 ||
    json.data?.length !== rows * width
  ) {
    throw new ModelLoadError(
      dir,
      `${spec.file} must hold a [rows, ${d}] table, got dims ${JSON.stringify(json.dims)}`,
    );
  }
  return { table: { rows, width, data: Float32Array.from(json.data) }, sha256: hash };
}

/** Logits of a statics head on a representation (float64 sums). */
function applyStaticsHead(
  head: StaticsHead,
  representation: Float32Array,
  outputs: number,
): Float32Array {
  const n = representation.length;
  const out = new Float32Array(outputs);
  for (let o = 0; o < outputs; o++) {
    let z = head.bias[o]!;
    for (let i = 0; i < n; i++) z += head.weights[o * n + i]! * representation[i]!;
    out[o] = z;
  }
  return out;
}
