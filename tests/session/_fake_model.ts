/**
 * A deterministic stand-in for a staged FlexCare model, in plain TypeScript: it starts in
 * milliseconds (the SIGKILL test restarts its child many times) yet every output depends on
 * every input — each time-series value and its row, and the image and note tower states — so a
 * replay that rebuilt any input differently would publish different numbers.
 *
 * @module
 */
import type { SessionModel } from "../../src/session/engine.ts";
import type { ManifestTask, ModelManifest } from "../../src/model/manifest.ts";
import type {
  SampleInputs,
  StagedInputs,
  TaskOutput,
  TowerStates,
} from "../../src/model/flexcare_model.ts";
import { NORMALIZER_PH } from "../../src/features/normalizer.ts";

const TASKS: ManifestTask[] = [
  { code: "dec", id: 1, kind: "binary", outputs: 1, labels: [], activation: "sigmoid" },
  { code: "los", id: 3, kind: "multiclass", outputs: 10, labels: [], activation: "softmax" },
];

const MANIFEST = {
  format: "flexcare-model",
  format_version: 1,
  mask_mode: "paper",
  staged: true,
  tasks: TASKS,
  combinations: ["tin", "ti", "tn", "in", "t", "i", "n"],
  graphs: {},
  config: {},
  timeseries: { columns: 76, max_rows: 512 },
  normalizer: null,
  image: { shape: [3, 224, 224], mean: [0, 0, 0], std: [1, 1, 1] },
  note_encoder: { kind: "hashed", dim: 768 },
  note_max_tokens: 512,
  created_at: "2024-01-01T00:00:00Z",
} as unknown as ModelManifest;

function summary(data: ArrayLike<number>): Float32Array {
  let a = 0;
  let b = 0;
  for (let i = 0; i < data.length; i++) {
    a += data[i]! * (1 + (i % 7));
    b += Math.sin(data[i]! + i);
  }
  return new Float32Array([a / Math.max(1, data.length), b / Math.max(1, data.length)]);
}

function output(task: ManifestTask, z: number): TaskOutput {
  let probs: Float32Array;
  if (task.kind === "binary") probs = new Float32Array([1 / (1 + Math.exp(-z))]);
  else {
    const e = Array.from({ length: task.outputs }, (_, k) => Math.exp(Math.sin(z * (k + 1))));
    const sum = e.reduce((x, y) => x + y, 0);
    probs = Float32Array.from(e, (x) => x / sum);
  }
  const w = Array.from({ length: 7 }, (_, k) => Math.exp(Math.cos(z + k)));
  const sw = w.reduce((x, y) => x + y, 0);
  return {
    task,
    probs,
    logits: probs.slice(),
    alpha: Float32Array.from(w, (x) => x / sw),
    gates: new Float32Array(0),
    representation: new Float32Array(0),
  };
}

/** Options of {@linkcode fakeModel}. */
export interface FakeModelOptions {
  /**
   * Staged graphs (paper mode); `false` is a reference-mode model served through `predict`.
   * @default {true}
   */
  staged?: boolean;
}

/** The fake model. */
export function fakeModel(options: FakeModelOptions = {}): SessionModel {
  const staged = options.staged ?? true;
  const encode = (data: ArrayLike<number>): Promise<TowerStates> =>
    Promise.resolve({ dims: [1, 1, 1, 2], data: summary(data), mask: new Float32Array(1) });
  const model: SessionModel = {
    dir: ".",
    manifest: MANIFEST,
    normalizer: NORMALIZER_PH,
    runtime: { backend: "wasm", executionProviders: [], detail: "fake", ort: null },
    name: "fake",
    hash: "0".repeat(64),
    staged,
    task(key: string | number): ManifestTask {
      const t = TASKS.find((t) => t.code === key || t.id === key);
      if (t === undefined) throw new RangeError(`Model has no task ${String(key)}`);
      return t;
    },
    async step(inputs: StagedInputs, keys: readonly (string | number)[]): Promise<TaskOutput[]> {
      if (!staged) throw new Error("A reference-mode model has no step graph");
      return await compute(inputs, keys);
    },
    async predict(inputs: SampleInputs, keys: readonly (string | number)[]) {
      if (staged) throw new Error("The fake model is staged: use step()");
      return await compute({
        timeseries: inputs.timeseries,
        imageStates: inputs.image === null ? null : await encode(inputs.image),
        noteStates: inputs.note === null ? null : await encode(inputs.note.data),
      }, keys);
    },
    encodeImage: (image: Float32Array) => staged ? encode(image) : noTower(),
    encodeNote: (note: { data: Float32Array }) => staged ? encode(note.data) : noTower(),
  } as SessionModel;
  function noTower(): Promise<never> {
    return Promise.reject(new Error("A reference-mode model has no tower graphs"));
  }
  async function compute(
    inputs: StagedInputs,
    keys: readonly (string | number)[],
  ): Promise<TaskOutput[]> {
    await Promise.resolve();
    let z = 0;
    if (inputs.timeseries !== null) {
      const [a, b] = summary(inputs.timeseries.data);
      z += a! * 0.01 + b! + inputs.timeseries.rows * 0.013;
    }
    if (inputs.imageStates !== null) z += inputs.imageStates.data[0]! * 0.1 + 0.3;
    if (inputs.noteStates !== null) z += inputs.noteStates.data[1]! - 0.2;
    return keys.map((k) => output(model.task(k), z));
  }
  return model;
}

/** The fake model with each step held until `release()` is called (or `ms` passed). */
export function heldModel(ms: number): SessionModel & { release: () => void } {
  const base = fakeModel();
  const gate = Promise.withResolvers<void>();
  return {
    ...base,
    async step(inputs, keys) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([gate.promise, new Promise((r) => timer = setTimeout(r, ms))]);
      clearTimeout(timer);
      return await base.step(inputs, keys);
    },
    release: () => gate.resolve(),
  };
}
