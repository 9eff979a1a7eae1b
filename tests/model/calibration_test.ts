import { assert, assertEquals, assertRejects, maxAbsDiff } from "../assert.ts";
import { createApp } from "../../routes/app.ts";
import { createLogger } from "../../routes/logger.ts";
import { FakeStayService } from "../routes/fake_service.ts";
import { fitCalibration } from "../../src/eval/calibrate.ts";
import { activate, fitTemperature, negativeLogLikelihood } from "../../src/model/calibration.ts";
import { FlexCareModel } from "../../src/model/flexcare_model.ts";
import { ModelLoadError } from "../../src/model/manifest.ts";
import { applyLinearHead } from "../../src/finetune/linear_head.ts";
import { builtInHeads } from "../../src/online/onnx_heads.ts";
import { tinyModelCopy } from "./tiny_model.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

Deno.test("fitTemperature recovers the temperature that generated the labels", () => {
  const rand = lcg(11);
  for (const truth of [0.5, 2.5]) {
    const logits: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const z = (rand() * 2 - 1) * 6;
      logits.push([z]);
      labels.push(rand() < 1 / (1 + Math.exp(-z / truth)) ? 1 : 0);
    }
    const data = { kind: "binary" as const, logits, labels };
    const T = fitTemperature(data);
    assert(Math.abs(T - truth) / truth < 0.06, `T ${T} for ${truth}`);
    // A minimum: both neighbours are worse.
    const nll = negativeLogLikelihood(data, T);
    assert(
      nll < negativeLogLikelihood(data, T * 1.05) && nll < negativeLogLikelihood(data, T / 1.05),
    );
  }
  // Multi-class: labels drawn from softmax(z / 1.8).
  const logits: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const z = Array.from({ length: 4 }, () => (rand() * 2 - 1) * 5);
    const p = activate("multiclass", z.map((v) => v / 1.8));
    let u = rand(), k = 0;
    while (k < 3 && (u -= p[k]!) > 0) k++;
    logits.push(z);
    labels.push(k);
  }
  const T = fitTemperature({ kind: "multiclass", logits, labels });
  assert(Math.abs(T - 1.8) / 1.8 < 0.06, `multiclass T ${T}`);
});

Deno.test("fitCalibration: multi-label unknown labels (-1) are skipped; ECE falls on the fit split", () => {
  const rand = lcg(5);
  const records = Array.from({ length: 4000 }, () => {
    const z = [(rand() * 2 - 1) * 8, (rand() * 2 - 1) * 8];
    const labels: number[] = z.map((v) => rand() < 1 / (1 + Math.exp(-v / 3)) ? 1 : 0);
    if (rand() < 0.3) labels[1] = -1;
    return { task: "phe", labels, probs: z.map((v) => 1 / (1 + Math.exp(-v))) };
  });
  const fitted = fitCalibration({ val: records }, "val").get("phe")!;
  assert(Math.abs(fitted.temperature - 3) < 0.25, String(fitted.temperature));
  const s = fitted.splits["val"]!;
  assertEquals(s.samples, 4000);
  assert(s.eceAfter < s.eceBefore / 2 && s.nllAfter < s.nllBefore, JSON.stringify(s));
});

async function calibratedCopy(temperatures: Record<string, number>): Promise<string> {
  const dir = await tinyModelCopy("flexcare-calibrated-");
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  manifest.calibration = {
    method: "temperature",
    tasks: Object.fromEntries(
      Object.entries(temperatures).map(([code, temperature]) => [code, { temperature }]),
    ),
  };
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
  return dir;
}

Deno.test({
  name:
    "the manifest's temperatures apply in the one graph, batches, the staged step, built-in heads and /v1/predict",
  async fn() {
    const T = { ihm: 2, dec: 0.5, los: 3 };
    const dir = await calibratedCopy(T);
    const cal = await FlexCareModel.load(dir, { backend: "wasm" });
    const raw = await FlexCareModel.load(dir, { backend: "wasm", calibrated: false });
    try {
      assertEquals(raw.hash, cal.hash, "calibration does not change the backbone's hash");
      const rand = lcg(3);
      const rows = 7;
      const timeseries = {
        rows,
        columns: 76,
        data: Float64Array.from({ length: rows * 76 }, () => rand() * 4 - 2),
      };
      const E = cal.manifest.note_encoder.dim;
      const note = { tokens: 4, dim: E, data: Float32Array.from({ length: 4 * E }, rand) };
      const tasks = ["ihm", "dec", "los", "phe"];
      const inputs = { timeseries, image: null, note };
      const expected = (await raw.predict(inputs, tasks)).map((o) => {
        const t = T[o.task.code as keyof typeof T];
        return t === undefined
          ? o.probs
          : activate(o.task.kind, Array.from(o.logits, (z) => z / t));
      });
      const noteStates = await cal.encodeNote(note);
      const paths = {
        predict: await cal.predict(inputs, tasks),
        batch: (await cal.predictBatch([inputs, inputs], tasks))[1]!,
        step: await cal.step({ timeseries, imageStates: null, noteStates }, tasks),
      };
      for (const [path, outputs] of Object.entries(paths)) {
        outputs.forEach((o, k) => {
          const d = maxAbsDiff(o.probs, expected[k]!);
          assert(d < 1e-5, `${path} ${o.task.code}: ${d}`);
        });
      }
      // Temperatures change the probabilities (the test would not see a missing scaling).
      const uncal = await raw.predict(inputs, ["ihm"]);
      assert(maxAbsDiff(uncal[0]!.probs, expected[0]!) > 1e-3);
      // The online learner's base heads give the served probabilities.
      const width = 2 * Number(cal.manifest.config["d_model"]);
      const manifestTasks = cal.manifest.tasks.filter((t) => t.code in T).map((t) => ({
        ...t,
        temperature: T[t.code as keyof typeof T],
      }));
      const heads = builtInHeads(await Deno.readFile(`${dir}/flexcare.onnx`), manifestTasks, width);
      for (const o of paths.predict.filter((o) => o.task.code in T)) {
        const d = maxAbsDiff(
          applyLinearHead(heads.get(o.task.code)!, o.representation).probs,
          o.probs,
        );
        assert(d < 1e-5, `head ${o.task.code}: ${d}`);
      }
      // /v1/predict serves the calibrated probability.
      const served = async (model: FlexCareModel) => {
        const app = createApp({
          service: new FakeStayService(),
          log: createLogger("error", () => {}),
          rateLimit: false,
          model,
        });
        const res = await app.request("/v1/predict", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            tasks: ["ihm"],
            observations: [{ time: 0.5, channel: "Heart Rate", value: 120 }],
          }),
        });
        const body = await res.json();
        assertEquals(res.status, 200, JSON.stringify(body));
        return body.predictions[0].probability as number;
      };
      const pRaw = await served(raw);
      const pCal = await served(cal);
      const want = 1 / (1 + Math.exp(-Math.log(pRaw / (1 - pRaw)) / T.ihm));
      assert(
        Math.abs(pCal - want) < 1e-5 && Math.abs(pCal - pRaw) > 1e-4,
        `${pCal} ${want} ${pRaw}`,
      );
    } finally {
      await cal.close();
      await raw.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a manifest with an unusable temperature does not load, and says which", async () => {
  for (
    const [temperatures, words] of [[{ ihm: 0 }, "ihm.temperature"], [{ nope: 1 }, "nope"]] as const
  ) {
    const dir = await calibratedCopy(temperatures as Record<string, number>);
    try {
      const error = await assertRejects(
        () => FlexCareModel.load(dir, { backend: "wasm" }),
        ModelLoadError,
      );
      assert((error as Error).message.includes(words), (error as Error).message);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
