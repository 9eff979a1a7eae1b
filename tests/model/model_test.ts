import { assert, assertEquals, assertRejects } from "../assert.ts";
import { tensorsFromJson } from "../../src/cli/predict.ts";
import { FlexCareModel, type TaskOutput } from "../../src/model/flexcare_model.ts";
import { ModelLoadError } from "../../src/model/manifest.ts";
import { tinyModel } from "./tiny_model.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function maxAbsDiff(a: ArrayLike<number | bigint>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(Number(a[i]!) - b[i]!));
  return worst;
}

Deno.test({
  name: "every exported graph matches PyTorch in onnxruntime-web (wasm) to 1e-4",
  fn: async () => {
    const dir = await tinyModel();
    const model = await FlexCareModel.load(dir, { backend: "wasm" });
    try {
      assertEquals(model.runtime.backend, "wasm");
      const parity = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`)).parity;
      assertEquals(Object.keys(parity).sort(), ["flexcare", "image_tower", "note_tower", "step"]);
      for (
        const [graph, files] of Object.entries(
          parity as Record<string, { inputs: string; outputs: string }>,
        )
      ) {
        const feed = tensorsFromJson(JSON.parse(await Deno.readTextFile(`${dir}/${files.inputs}`)));
        const expected = JSON.parse(await Deno.readTextFile(`${dir}/${files.outputs}`));
        const got = await model.run(graph, feed);
        for (
          const [name, t] of Object.entries(
            expected as Record<string, { dims: number[]; data: number[] }>,
          )
        ) {
          assertEquals([...got[name]!.dims], t.dims, `${graph}.${name} dims`);
          const diff = maxAbsDiff(got[name]!.data, t.data);
          assert(diff <= 1e-4, `${graph}.${name}: ${diff}`);
        }
      }
    } finally {
      await model.close();
    }
  },
});

function assertClose(a: TaskOutput[], b: TaskOutput[], tolerance: number) {
  assertEquals(a.length, b.length);
  for (let k = 0; k < a.length; k++) {
    for (const key of ["probs", "alpha", "gates", "representation"] as const) {
      const diff = maxAbsDiff(a[k]![key], b[k]![key]);
      assert(diff <= tolerance, `${a[k]!.task.code}.${key}: ${diff}`);
    }
  }
}

Deno.test({
  name: "staged graphs (towers + step) equal the one graph, for any subset of modalities",
  fn: async () => {
    const model = await FlexCareModel.load(await tinyModel(), { backend: "wasm" });
    try {
      assert(model.staged);
      let seed = 3;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
      const rows = 9;
      const timeseries = {
        rows,
        columns: 76,
        data: Float64Array.from({ length: rows * 76 }, rand),
      };
      const image = Float32Array.from({ length: 3 * 224 * 224 }, rand);
      const E = model.manifest.note_encoder.dim;
      const note = { tokens: 5, dim: E, data: Float32Array.from({ length: 5 * E }, rand) };
      const imageStates = await model.encodeImage(image);
      const noteStates = await model.encodeNote(note);
      const tasks = ["dec", "los", "ihm"];
      for (
        const [useTs, useImg, useNote] of [[1, 1, 1], [1, 0, 0], [0, 1, 1], [1, 0, 1], [0, 0, 1]]
      ) {
        const one = await model.predict({
          timeseries: useTs ? timeseries : null,
          image: useImg ? image : null,
          note: useNote ? note : null,
        }, tasks);
        const staged = await model.step({
          timeseries: useTs ? timeseries : null,
          imageStates: useImg ? imageStates : null,
          noteStates: useNote ? noteStates : null,
        }, tasks);
        assertClose(one, staged, 1e-4);
        // Fusion weights cover only the combinations whose modalities are all present.
        const present = model.manifest.combinations.map((c) =>
          [...c].every((m) =>
            (m === "t" && useTs) || (m === "i" && useImg) || (m === "n" && useNote)
          )
        );
        one[0]!.alpha.forEach((a, i) => assert(present[i] || a === 0, `alpha ${i}`));
        assert(Math.abs(one[0]!.alpha.reduce((x, y) => x + y, 0) - 1) < 1e-5);
      }
      const los = (await model.predict({ timeseries, image: null, note: null }, ["los"]))[0]!;
      assertEquals(los.probs.length, 10);
      assert(Math.abs(los.probs.reduce((x, y) => x + y, 0) - 1) < 1e-5);
    } finally {
      await model.close();
    }
  },
});

Deno.test({
  name: "a graph whose sha256 differs from the manifest is refused at load",
  fn: async () => {
    const source = await tinyModel();
    const dir = await Deno.makeTempDir();
    try {
      for await (const e of Deno.readDir(source)) {
        if (e.isFile) await Deno.copyFile(`${source}/${e.name}`, `${dir}/${e.name}`);
      }
      const bytes = await Deno.readFile(`${dir}/step.onnx`);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
      await Deno.writeFile(`${dir}/step.onnx`, bytes);
      await assertRejects(
        () => FlexCareModel.load(dir, { backend: "wasm" }),
        ModelLoadError,
        "step.onnx has sha256",
      );
      await Deno.writeTextFile(`${dir}/manifest.json`, "{}");
      await assertRejects(
        () => FlexCareModel.load(dir, { backend: "wasm" }),
        ModelLoadError,
        "format",
      );
      await assertRejects(
        () => FlexCareModel.load(`${dir}/nope`, { backend: "wasm" }),
        ModelLoadError,
        "manifest.json",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task predict prints the graph's named outputs",
  fn: async () => {
    const dir = await tinyModel();
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}src/cli/main.ts`,
        "predict",
        "--model",
        dir,
        "--tensors",
        `${dir}/parity/note_tower.inputs.json`,
        "--graph",
        "note_tower",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const got = JSON.parse(new TextDecoder().decode(out.stdout));
    const expected = JSON.parse(await Deno.readTextFile(`${dir}/parity/note_tower.outputs.json`));
    assertEquals(got.note_states.dims, expected.note_states.dims);
    assert(maxAbsDiff(got.note_states.data, expected.note_states.data) <= 1e-4);
    const missing = await model_run_missing(dir);
    assert(missing.includes("missing inputs [note_mask]"), missing);
  },
});

async function model_run_missing(dir: string): Promise<string> {
  const model = await FlexCareModel.load(dir, { backend: "wasm" });
  try {
    await model.run("note_tower", {
      note: { dims: [1, 1, 768], dtype: "float32", data: new Float32Array(768) },
    });
    return "no error";
  } catch (error) {
    return (error as Error).message;
  } finally {
    await model.close();
  }
}

Deno.test({
  name: "overlapping runs of different graphs give the same results as sequential runs",
  fn: async () => {
    const model = await FlexCareModel.load(await tinyModel(), { backend: "wasm" });
    try {
      const E = model.manifest.note_encoder.dim;
      const timeseries = {
        rows: 5,
        columns: 76,
        data: Float64Array.from({ length: 380 }, (_, i) => Math.sin(i)),
      };
      const image = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.cos(i));
      const note = {
        tokens: 3,
        dim: E,
        data: Float32Array.from({ length: 3 * E }, (_, i) => Math.sin(i / 7)),
      };
      const sequential = [
        (await model.encodeImage(image)).data,
        (await model.predict({ timeseries, image, note: null }, ["dec"]))[0]!.probs,
        (await model.encodeNote(note)).data,
      ];
      const jobs: Promise<Float32Array>[] = [];
      for (let i = 0; i < 4; i++) {
        jobs.push(model.encodeImage(image).then((s) => s.data));
        jobs.push(
          model.predict({ timeseries, image, note: null }, ["dec"]).then((o) => o[0]!.probs),
        );
        jobs.push(model.encodeNote(note).then((s) => s.data));
      }
      const results = await Promise.all(jobs);
      results.forEach((r, i) => assertEquals(r, sequential[i % 3]!, `job ${i}`));
    } finally {
      await model.close();
    }
  },
});

Deno.test({
  name: "a padded batch of mixed samples gives each sample's own one-graph outputs",
  fn: async () => {
    const model = await FlexCareModel.load(await tinyModel(), { backend: "wasm" });
    try {
      const E = model.manifest.note_encoder.dim;
      const matrix = (rows: number) => ({
        rows,
        columns: 76,
        data: Float64Array.from({ length: rows * 76 }, (_, i) => Math.sin(i * rows)),
      });
      const image = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.cos(i / 3));
      const note = (tokens: number) => ({
        tokens,
        dim: E,
        data: Float32Array.from({ length: tokens * E }, (_, i) => Math.sin(i / tokens)),
      });
      const batch = [
        { timeseries: matrix(3), image: null, note: null },
        { timeseries: matrix(11), image, note: note(2) },
        { timeseries: null, image: null, note: note(6) },
        { timeseries: matrix(1), image, note: null },
      ];
      const together = await model.predictBatch(batch, ["ihm", "los"]);
      for (let b = 0; b < batch.length; b++) {
        assertClose(together[b]!, await model.predict(batch[b]!, ["ihm", "los"]), 1e-5);
      }
      assertEquals(await model.predictBatch([], ["ihm"]), []);
    } finally {
      await model.close();
    }
  },
});
