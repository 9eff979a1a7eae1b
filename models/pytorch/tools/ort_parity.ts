/**
 * Runs every graph of an exported model directory in onnxruntime-web (wasm) on the parity
 * fixtures that `flexcare_torch.export --parity` saved, and prints the largest absolute
 * difference from PyTorch per output. Exits 1 when one exceeds the tolerance (1e-4).
 *
 *   deno run -A models/pytorch/tools/ort_parity.ts MODEL_DIR
 *
 * @module
 */
import { join } from "node:path";
import { loadWebOrt } from "../../../src/model/backend.ts";

interface JsonTensor {
  dims: number[];
  dtype: "float32" | "int64";
  data: number[];
}

const dir = Deno.args[0];
if (dir === undefined) throw new Error("expected a model directory");
const tolerance = Number(Deno.args[1] ?? "1e-4");
const ort = await loadWebOrt();
const manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
let worst = 0;
for (const [name, files] of Object.entries(manifest.parity as Record<string, Record<string, string>>)) {
  const graph = manifest.graphs[name];
  const session = await ort.InferenceSession.create(await Deno.readFile(join(dir, graph.file)), {
    executionProviders: ["wasm"],
  });
  const inputs: Record<string, JsonTensor> = JSON.parse(await Deno.readTextFile(join(dir, files.inputs!)));
  const expected: Record<string, JsonTensor> = JSON.parse(
    await Deno.readTextFile(join(dir, files.outputs!)),
  );
  const feed: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const [key, t] of Object.entries(inputs)) {
    feed[key] = t.dtype === "int64"
      ? new ort.Tensor("int64", BigInt64Array.from(t.data.map((v) => BigInt(v))), t.dims)
      : new ort.Tensor("float32", Float32Array.from(t.data), t.dims);
  }
  const started = performance.now();
  const result = await session.run(feed);
  const ms = performance.now() - started;
  for (const [key, t] of Object.entries(expected)) {
    const got = result[key]!;
    const data = got.data as Float32Array;
    if (JSON.stringify([...got.dims]) !== JSON.stringify(t.dims)) {
      console.log(`${name}.${key}: dims ${JSON.stringify(got.dims)} != ${JSON.stringify(t.dims)}`);
      worst = Infinity;
      continue;
    }
    let diff = 0;
    for (let i = 0; i < t.data.length; i++) {
      const d = Math.abs(data[i]! - t.data[i]!);
      if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    }
    worst = Math.max(worst, diff);
    console.log(`${name}.${key} dims ${JSON.stringify(t.dims)} max_abs_diff ${diff.toExponential(2)}`);
  }
  console.log(`${name}: ${ms.toFixed(1)} ms`);
}
console.log(`worst ${worst.toExponential(2)} (tolerance ${tolerance})`);
Deno.exit(worst <= tolerance ? 0 : 1);
