/**
 * The model directory contract: `manifest.json` (written by `flexcare_torch.export`) and the
 * ONNX files it names, each checked against its sha256 when a model loads.
 *
 * @module
 */
import { join } from "node:path";
import type { NoteEncoderSpec } from "../features/notes/encoder.ts";
import type { NormalizerJson } from "../features/normalizer.ts";
import type { TaskKind } from "../data/tasks.ts";
import { calibrationProblem, type ModelCalibration } from "./calibration.ts";
import { type ModelStatics, staticsProblem } from "./statics.ts";

/** One input or output of a graph: dims are numbers or symbolic names (dynamic). */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly (number | string)[];
  readonly dtype: "float32" | "int64";
}

/** A graph file of the model. */
export interface GraphSpec {
  readonly file: string;
  readonly sha256: string;
  readonly bytes?: number;
  readonly opset?: number;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** A task head of the model. */
export interface ManifestTask {
  readonly code: string;
  readonly id: number;
  readonly kind: TaskKind;
  /** Number of head outputs. */
  readonly outputs: number;
  /** Label or class names (may be empty). */
  readonly labels: readonly string[];
  readonly activation: "sigmoid" | "softmax";
  readonly head?: string;
}

/** The parsed `manifest.json`. */
export interface ModelManifest {
  readonly format: "flexcare-model";
  readonly format_version: 1;
  readonly mask_mode: "paper" | "reference";
  readonly staged: boolean;
  readonly tasks: readonly ManifestTask[];
  /** Combination names in the order of `alpha` and `gates` (`tin, ti, tn, in, t, i, n`). */
  readonly combinations: readonly string[];
  readonly graphs: Readonly<Record<string, GraphSpec>>;
  readonly config: Readonly<Record<string, unknown>>;
  readonly timeseries: { readonly columns: number; readonly max_rows: number };
  readonly normalizer: NormalizerJson | null;
  readonly image: {
    readonly shape: readonly number[];
    readonly mean: readonly number[];
    readonly std: readonly number[];
  };
  readonly note_encoder: NoteEncoderSpec;
  readonly note_max_tokens?: number;
  readonly training?: Readonly<Record<string, unknown>>;
  readonly metrics?: Readonly<Record<string, unknown>>;
  /** Per-task temperature scaling applied to the heads' logits (`calibration.ts`). */
  readonly calibration?: ModelCalibration;
  /** Heads over `[s_p || stay statics]` that replace the graph's heads of some tasks (`statics.ts`). */
  readonly statics?: ModelStatics;
  readonly created_by?: string;
  readonly created_at?: string;
}

/** Raised when a model directory is unusable; names the directory and what is wrong. */
export class ModelLoadError extends Error {
  constructor(dir: string, problem: string, options?: ErrorOptions) {
    super(`Cannot load model "${dir}": ${problem}`, options);
    this.name = "ModelLoadError";
  }
}

/** Lower-case hex sha256 of bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const REQUIRED_GRAPHS_STAGED = ["flexcare", "image_tower", "note_tower", "step"];

/**
 * Reads and validates `manifest.json` of a model directory (structure only; graph files are
 * checked by {@linkcode readGraph}).
 *
 * @example Read the default model's manifest
 * ```ts ignore
 * import { readManifest } from "./manifest.ts";
 * const manifest = await readManifest("models/default");
 * console.log(manifest.tasks.map((t) => t.code));
 * ```
 */
export async function readManifest(dir: string): Promise<ModelManifest> {
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
  } catch (error) {
    throw new ModelLoadError(
      dir,
      `manifest.json is missing or not JSON (${(error as Error).message})`,
      { cause: error },
    );
  }
  return checkManifest(json, dir);
}

/**
 * Validates a parsed `manifest.json` (as {@linkcode readManifest} does); `dir` names the model
 * in the error. Throws a {@linkcode ModelLoadError}.
 */
export function checkManifest(json: unknown, dir: string): ModelManifest {
  const m = json as ModelManifest;
  const fail = (problem: string): never => {
    throw new ModelLoadError(dir, `manifest.json ${problem}`);
  };
  if (m.format !== "flexcare-model") {
    fail(`format must be "flexcare-model", got ${JSON.stringify(m.format)}`);
  }
  if (m.format_version !== 1) {
    fail(`format_version ${JSON.stringify(m.format_version)} is not supported (expected 1)`);
  }
  if (m.mask_mode !== "paper" && m.mask_mode !== "reference") {
    fail(`mask_mode ${JSON.stringify(m.mask_mode)} is unknown`);
  }
  if (!Array.isArray(m.tasks) || m.tasks.length === 0) fail("lists no tasks");
  for (const t of m.tasks) {
    if (
      typeof t.code !== "string" || !Number.isInteger(t.id) || !Number.isInteger(t.outputs) ||
      t.outputs < 1
    ) {
      fail(`has a malformed task ${JSON.stringify(t)}`);
    }
    if (t.kind !== "binary" && t.kind !== "multilabel" && t.kind !== "multiclass") {
      fail(`task ${t.code} has unknown kind ${t.kind}`);
    }
  }
  if (!Array.isArray(m.combinations) || m.combinations.length !== 7) {
    fail("must name the 7 modality combinations");
  }
  if (typeof m.graphs !== "object" || m.graphs === null || !m.graphs["flexcare"]) {
    fail("names no flexcare graph");
  }
  if (m.staged) {
    for (const g of REQUIRED_GRAPHS_STAGED) {
      if (!m.graphs[g]) fail(`is staged but names no ${g} graph`);
    }
  }
  for (const [name, g] of Object.entries(m.graphs)) {
    if (typeof g.file !== "string" || g.file.includes("..") || g.file.startsWith("/")) {
      fail(`graph ${name} has a bad file name`);
    }
    if (typeof g.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(g.sha256)) {
      fail(`graph ${name} has no sha256`);
    }
    if (!Array.isArray(g.inputs) || !Array.isArray(g.outputs)) {
      fail(`graph ${name} lacks input/output specs`);
    }
  }
  if (m.timeseries?.columns !== 76) fail("timeseries.columns must be 76");
  const calibration = calibrationProblem(m.calibration, m.tasks.map((t) => t.code));
  if (calibration !== null) fail(calibration);
  const statics = staticsProblem(m.statics, m.tasks, 2 * Number(m.config?.["d_model"]));
  if (statics !== null) fail(statics);
  return m;
}

/**
 * Replaces a model directory's `manifest.json` with `json` after checking it (as
 * {@linkcode checkManifest}); written to a temporary file first, so a failed write leaves the
 * old manifest.
 */
export async function writeManifest(dir: string, json: unknown): Promise<void> {
  checkManifest(json, dir);
  const path = join(dir, "manifest.json");
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(json, null, 2) + "\n");
  await Deno.rename(tmp, path);
}

/** Reads a graph file and checks its sha256 against the manifest. */
export async function readGraph(
  dir: string,
  manifest: ModelManifest,
  name: string,
): Promise<Uint8Array> {
  const spec = manifest.graphs[name];
  if (spec === undefined) {
    throw new ModelLoadError(dir, `manifest names no graph ${JSON.stringify(name)}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(dir, spec.file));
  } catch (error) {
    throw new ModelLoadError(
      dir,
      `graph file ${spec.file} cannot be read (${(error as Error).message})`,
      { cause: error },
    );
  }
  const hash = await sha256Hex(bytes);
  if (hash !== spec.sha256) {
    throw new ModelLoadError(
      dir,
      `graph file ${spec.file} has sha256 ${hash}, manifest says ${spec.sha256}`,
    );
  }
  return bytes;
}
