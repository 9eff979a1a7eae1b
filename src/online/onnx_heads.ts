/**
 * The built-in task heads of an exported model as linear heads on s_p: each task's
 * `dense_layer_*` weight and bias, read from the initializers of `flexcare.onnx` (the graph
 * keeps the PyTorch parameter names, e.g. `model.dense_layer_decomp.weight`). The online
 * learner warm-starts its candidates from them and scores the frozen model with them, without
 * running the backbone again.
 *
 * Only the protobuf fields needed are read: `ModelProto.graph` (7), `GraphProto.initializer`
 * (5), and of each `TensorProto` its `dims` (1), `data_type` (2), `float_data` (4), `name` (8)
 * and `raw_data` (9). Float32 tensors only.
 *
 * @module
 */
import type { TaskKind } from "../data/tasks.ts";
import type { LinearHead } from "../finetune/linear_head.ts";

interface Tensor {
  readonly dims: number[];
  readonly data: Float32Array;
}

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly end = bytes.length) {}
  varint(): number {
    let result = 0, shift = 0;
    while (true) {
      if (this.pos >= this.end) throw new RangeError("Truncated protobuf varint");
      const b = this.bytes[this.pos++]!;
      // Beyond 2^53 precision is lost, which only matters for values never used here.
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new RangeError("Protobuf varint too long");
    }
  }
  /** Skips one field's value of the wire type. */
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const len = this.varint();
      this.pos += len;
    } else if (wire === 5) this.pos += 4;
    else throw new RangeError(`Unsupported protobuf wire type ${wire}`);
  }
  /** Iterates over the fields up to `end`: `[field number, wire type]`. */
  *fields(): Generator<[number, number]> {
    while (this.pos < this.end) {
      const key = this.varint();
      yield [Math.floor(key / 8), key % 8];
    }
  }
  sub(): Reader {
    const len = this.varint();
    const r = new Reader(this.bytes, this.pos + len);
    r.pos = this.pos;
    this.pos += len;
    return r;
  }
}

const FLOAT = 1;

function readTensor(r: Reader, wanted: ReadonlySet<string>): [string, Tensor] | null {
  const dims: number[] = [];
  let type = 0, name = "";
  let raw: Uint8Array | null = null;
  const floats: number[] = [];
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === 0) dims.push(r.varint());
    else if (field === 1 && wire === 2) {
      const s = r.sub();
      while (s.pos < s.end) dims.push(s.varint());
    } else if (field === 2 && wire === 0) type = r.varint();
    else if (field === 8 && wire === 2) {
      const s = r.sub();
      name = new TextDecoder().decode(r.bytes.subarray(s.pos, s.end));
      if (!wanted.has(name)) return null;
    } else if (field === 9 && wire === 2) {
      const s = r.sub();
      raw = r.bytes.subarray(s.pos, s.end);
    } else if (field === 4 && wire === 2) {
      const s = r.sub();
      const view = new DataView(r.bytes.buffer, r.bytes.byteOffset + s.pos, s.end - s.pos);
      for (let i = 0; i + 4 <= view.byteLength; i += 4) floats.push(view.getFloat32(i, true));
    } else r.skip(wire);
  }
  if (!wanted.has(name)) return null;
  if (type !== FLOAT) throw new TypeError(`Initializer ${name} is not float32 (type ${type})`);
  const count = dims.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  if (raw !== null) {
    if (raw.length !== count * 4) throw new RangeError(`Initializer ${name}: wrong raw size`);
    data = new Float32Array(count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
  } else {
    if (floats.length !== count) throw new RangeError(`Initializer ${name}: wrong float count`);
    data = Float32Array.from(floats);
  }
  return [name, { dims, data }];
}

/** Reads the named float32 initializers of an ONNX model (the others are skipped). */
export function readInitializers(
  bytes: Uint8Array,
  names: Iterable<string>,
): Map<string, Tensor> {
  const wanted = new Set(names);
  const out = new Map<string, Tensor>();
  const model = new Reader(bytes);
  for (const [field, wire] of model.fields()) {
    if (field !== 7 || wire !== 2) {
      model.skip(wire);
      continue;
    }
    const graph = model.sub();
    for (const [gf, gw] of graph.fields()) {
      if (gf !== 5 || gw !== 2) {
        graph.skip(gw);
        continue;
      }
      const found = readTensor(graph.sub(), wanted);
      if (found !== null) out.set(found[0], found[1]);
    }
  }
  return out;
}

/** What {@linkcode builtInHeads} needs of a task of the manifest. */
export interface HeadTask {
  readonly code: string;
  readonly kind: TaskKind;
  readonly outputs: number;
  /** The head's parameter name (`dense_layer_decomp`). */
  readonly head?: string;
}

/** A task of the manifest and its calibration temperature (logits are divided by it). */
export interface CalibratedHeadTask extends HeadTask {
  readonly temperature?: number;
}

/**
 * The built-in heads of `tasks` from the ONNX bytes of the one graph: a map from task code to
 * linear head, with each task's calibration temperature folded into its weights (so the head
 * gives the probabilities the model serves). Throws a `TypeError` naming the task when its weights are missing or have the
 * wrong shape (a graph exported without parameter names).
 *
 * @example The default model's decompensation head
 * ```ts ignore
 * const bytes = await Deno.readFile("models/default/flexcare.onnx");
 * const heads = builtInHeads(bytes, model.manifest.tasks, 128);
 * heads.get("dec")!.weights.length; // 128
 * ```
 */
export function builtInHeads(
  bytes: Uint8Array,
  tasks: readonly CalibratedHeadTask[],
  width: number,
): Map<string, LinearHead> {
  const names = (t: HeadTask) => {
    const base = t.head ?? `dense_layer_${t.code}`;
    return [`model.${base}.weight`, `model.${base}.bias`, `${base}.weight`, `${base}.bias`];
  };
  const found = readInitializers(bytes, tasks.flatMap(names));
  const out = new Map<string, LinearHead>();
  for (const task of tasks) {
    const [mw, mb, w, b] = names(task);
    const weight = found.get(mw!) ?? found.get(w!);
    const bias = found.get(mb!) ?? found.get(b!);
    if (weight === undefined || bias === undefined) {
      throw new TypeError(
        `The graph has no weights for the ${task.code} head (${
          task.head ?? task.code
        }): export it with parameter names`,
      );
    }
    if (weight.data.length !== task.outputs * width || bias.data.length !== task.outputs) {
      throw new TypeError(
        `The ${task.code} head is ${weight.dims.join("x")}, expected ${task.outputs}x${width}`,
      );
    }
    // A temperature T folds into the head: (W x + b) / T = (W / T) x + b / T.
    const t = task.temperature ?? 1;
    out.set(task.code, {
      kind: task.kind,
      inputs: width,
      outputs: task.outputs,
      weights: t === 1 ? weight.data : weight.data.map((w) => w / t),
      bias: t === 1 ? bias.data : bias.data.map((b) => b / t),
    });
  }
  return out;
}
