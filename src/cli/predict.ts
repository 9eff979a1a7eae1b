/**
 * `flexcare predict --model DIR --tensors IN.json [--graph NAME] [--backend B]`: runs any
 * graph of a model directory on named input tensors
 * (`{"name": {"dims": [...], "dtype": "float32"|"int64", "data": [...]}}`) and prints the named
 * outputs in the same form. A debugging tool, and the way parity is checked from outside.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { BackendName } from "../model/backend.ts";
import { FlexCareModel } from "../model/flexcare_model.ts";
import type { HostTensor } from "../model/graph_session.ts";
import { UsageError } from "./usage_error.ts";

/** A tensor in JSON form. */
export interface JsonTensor {
  dims: number[];
  dtype: "float32" | "int64";
  data: number[];
}

/** Converts JSON tensors to host tensors, checking sizes; errors name the tensor. */
export function tensorsFromJson(json: unknown): Record<string, HostTensor> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError("Tensors must be a JSON object of named tensors");
  }
  const out: Record<string, HostTensor> = {};
  for (const [name, value] of Object.entries(json as Record<string, JsonTensor>)) {
    const { dims, dtype, data } = value ?? {};
    if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new TypeError(`Tensor ${JSON.stringify(name)}: dims must be non-negative integers`);
    }
    if (dtype !== "float32" && dtype !== "int64") {
      throw new TypeError(`Tensor ${JSON.stringify(name)}: dtype must be float32 or int64`);
    }
    const size = dims.reduce((a, b) => a * b, 1);
    if (
      !Array.isArray(data) || data.length !== size ||
      !data.every((v) => typeof v === "number" && Number.isFinite(v))
    ) {
      throw new TypeError(`Tensor ${JSON.stringify(name)}: data must hold ${size} finite numbers`);
    }
    out[name] = dtype === "int64"
      ? { dims, dtype, data: BigInt64Array.from(data, (v) => BigInt(Math.trunc(v))) }
      : { dims, dtype, data: Float32Array.from(data) };
  }
  return out;
}

/** Converts host tensors to JSON form. */
export function tensorsToJson(tensors: Record<string, HostTensor>): Record<string, JsonTensor> {
  const out: Record<string, JsonTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    out[name] = {
      dims: [...t.dims],
      dtype: t.dtype,
      data: Array.from(t.data as ArrayLike<number | bigint>, Number),
    };
  }
  return out;
}

/** Options for {@linkcode predictTensors}. */
export interface PredictTensorsOptions {
  model: string;
  tensors: string;
  /** @default {"flexcare"} */
  graph?: string;
  /** @default {"wasm"} */
  backend?: BackendName;
}

/** Runs a graph on the tensors of a JSON file. */
export async function predictTensors(
  options: PredictTensorsOptions,
): Promise<Record<string, JsonTensor>> {
  const model = await FlexCareModel.load(options.model, { backend: options.backend ?? "wasm" });
  try {
    const feed = tensorsFromJson(JSON.parse(await Deno.readTextFile(options.tensors)));
    return tensorsToJson(await model.run(options.graph ?? "flexcare", feed));
  } finally {
    await model.close();
  }
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      tensors: { type: "string" },
      graph: { type: "string" },
      backend: { type: "string" },
    },
    strict: true,
  });
  if (!values.model || !values.tensors) {
    throw new UsageError("--model DIR and --tensors IN.json are required");
  }
  const out = await predictTensors({
    model: values.model,
    tensors: values.tensors,
    ...(values.graph ? { graph: values.graph } : {}),
    ...(values.backend ? { backend: values.backend as BackendName } : {}),
  });
  console.log(JSON.stringify(out));
  return 0;
}
