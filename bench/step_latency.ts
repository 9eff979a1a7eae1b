/**
 * Per-step latency of the streaming service's model work: one hourly step (DEC + LOS in one
 * pass of the staged step graph, image and note tower states cached) versus re-running the one
 * graph once per task on the same inputs (what a service without staging would do), for a
 * 48-hour stay with an image and a note. Reports p50/p99 per backend, the ratio measured in the
 * same run, and the cold start (process start to first prediction). Appends a section to
 * `bench/RESULTS.md`. A step takes a few milliseconds, so p50 needs a few hundred runs to be
 * stable (with 20-40 runs the ratio wandered between 4x and 6.5x here).
 *
 *   deno run -A bench/step_latency.ts [--model models/default] [--backends wasm,native] [--runs 300]
 *                                     [--off-thread]   (graphs in a Worker, as `serve` runs them)
 *
 * @module
 */
import { parseArgs } from "node:util";
import os from "node:os";
import { FlexCareModel } from "../src/model/flexcare_model.ts";
import type { BackendName } from "../src/model/backend.ts";
import { appendResults, quantile } from "./results.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "models/default" },
    backends: { type: "string", default: "wasm,native" },
    runs: { type: "string", default: "300" },
    "no-write": { type: "boolean" },
    "cold-child": { type: "boolean" },
    "off-thread": { type: "boolean" },
  },
});
const runs = Number(values.runs);

function inputs(model: FlexCareModel) {
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const rows = 48;
  const timeseries = { rows, columns: 76, data: Float64Array.from({ length: rows * 76 }, rand) };
  const image = Float32Array.from({ length: 3 * 224 * 224 }, rand);
  const E = model.manifest.note_encoder.dim;
  const tokens = 64;
  const note = { tokens, dim: E, data: Float32Array.from({ length: tokens * E }, rand) };
  return { timeseries, image, note };
}

if (values["cold-child"]) {
  // Child process for the cold start: load, encode, first step; print nothing but timing.
  const started = performance.now();
  const model = await FlexCareModel.load(values.model!, {
    backend: values.backends as BackendName,
  });
  const { timeseries, image, note } = inputs(model);
  const [imageStates, noteStates] = [await model.encodeImage(image), await model.encodeNote(note)];
  await model.step({ timeseries, imageStates, noteStates }, ["dec", "los"]);
  console.log(JSON.stringify({ inProcessMs: performance.now() - started }));
  Deno.exit(0);
}

async function time(
  fn: () => Promise<unknown>,
): Promise<{ p50: number; p99: number; mean: number }> {
  await fn(); // warm
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return {
    p50: quantile(samples, 0.5),
    p99: quantile(samples, 0.99),
    mean: samples.reduce((a, b) => a + b) / samples.length,
  };
}

const lines: string[] = [];
const log = (line: string) => {
  console.log(line);
  lines.push(line);
};
log(`\n## Step latency (${new Date().toISOString().slice(0, 10)})`);
log(
  `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${
    (os.totalmem() / 2 ** 30).toFixed(0)
  } GiB, Deno ${Deno.version.deno}.`,
);
log(
  `Command: \`deno run -A bench/step_latency.ts --model ${values.model} --backends ${values.backends} --runs ${runs}${
    values["off-thread"] ? " --off-thread" : ""
  }\` (${
    values["off-thread"]
      ? "graphs in a Worker, as the service runs them"
      : "graphs on the calling thread"
  })`,
);
log(`Stay: 48 hourly rows, one image, one 64-token note; tasks DEC + LOS.\n`);
log(
  "| backend | step (DEC+LOS, cached towers) p50 / p99 ms | one graph x2 (per task) p50 / p99 ms | speed-up (p50) | cold start ms |",
);
log("|---|---|---|---|---|");
for (const backend of values.backends!.split(",") as BackendName[]) {
  let model: FlexCareModel;
  try {
    model = await FlexCareModel.load(values.model!, {
      backend,
      offThread: values["off-thread"] === true,
    });
  } catch (error) {
    log(`| ${backend} | unavailable: ${(error as Error).message.split("\n")[0]} | | | |`);
    continue;
  }
  const { timeseries, image, note } = inputs(model);
  const imageStates = await model.encodeImage(image);
  const noteStates = await model.encodeNote(note);
  const step = await time(() =>
    model.step({ timeseries, imageStates, noteStates }, ["dec", "los"])
  );
  const full = await time(async () => {
    await model.predict({ timeseries, image, note }, ["dec"]);
    await model.predict({ timeseries, image, note }, ["los"]);
  });
  await model.close();
  const started = performance.now();
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--cold-child",
      "--model",
      values.model!,
      "--backends",
      backend,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const cold = child.code === 0 ? (performance.now() - started).toFixed(0) : "failed";
  log(
    `| ${backend} | ${step.p50.toFixed(1)} / ${step.p99.toFixed(1)} | ${full.p50.toFixed(1)} / ${
      full.p99.toFixed(1)
    } | ${(full.p50 / step.p50).toFixed(1)}x | ${cold} |`,
  );
}
if (!values["no-write"]) {
  await appendResults(lines);
}
