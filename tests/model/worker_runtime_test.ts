import { assert, assertEquals } from "../assert.ts";
import { FlexCareModel, type TaskOutput } from "../../src/model/flexcare_model.ts";
import { resolveBackend } from "../../src/model/backend.ts";
import { tinyModel } from "./tiny_model.ts";

/** A fixed sample with every modality, and every output of the one graph and the staged step. */
async function outputs(model: FlexCareModel): Promise<TaskOutput[]> {
  let s = 7;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
  const ts = { rows: 5, columns: 76, data: Float64Array.from({ length: 5 * 76 }, next) };
  const E = model.manifest.note_encoder.dim;
  const note = { tokens: 4, dim: E, data: Float32Array.from({ length: 4 * E }, next) };
  const image = Float32Array.from({ length: 3 * 224 * 224 }, next);
  const codes = model.manifest.tasks.map((t) => t.code);
  const one = await model.predict({ timeseries: ts, image, note }, codes);
  const imageStates = await model.encodeImage(image);
  const noteStates = await model.encodeNote(note);
  const staged = await model.step({ timeseries: ts, imageStates, noteStates }, codes);
  return [...one, ...staged];
}

function flat(list: readonly TaskOutput[]): number[] {
  return list.flatMap((
    o,
  ) => [...o.probs, ...o.logits, ...o.alpha, ...o.gates, ...o.representation]);
}

for (const backend of ["wasm", "native"] as const) {
  Deno.test(`${backend} in a worker gives the same outputs as on the calling thread`, async () => {
    const dir = await tinyModel();
    const here = await FlexCareModel.load(dir, { backend });
    const off = await FlexCareModel.load(dir, { backend, offThread: true });
    try {
      assertEquals(off.runtime.offThread, true);
      assertEquals(off.runtime.backend, backend);
      assert(off.runtime.detail.endsWith("in a worker"), off.runtime.detail);
      const a = flat(await outputs(here));
      const b = flat(await outputs(off));
      assert(a.length > 1000, `${a.length} outputs`);
      // The same runtime build on the same input: bit for bit.
      assertEquals(b, a);
    } finally {
      await here.close();
      await off.close();
    }
  });
}

Deno.test("overlapping runs through one worker each get their own results", async () => {
  const model = await FlexCareModel.load(await tinyModel(), { backend: "wasm", offThread: true });
  try {
    const ts = (v: number) => ({ rows: 2, columns: 76, data: new Float64Array(152).fill(v) });
    const serial: number[] = [];
    for (let i = 0; i < 8; i++) {
      const [o] = await model.predict({ timeseries: ts(i / 4), image: null, note: null }, ["dec"]);
      serial.push(o!.probs[0]!);
    }
    const parallel = await Promise.all(
      Array.from(
        { length: 8 },
        (_, i) => model.predict({ timeseries: ts(i / 4), image: null, note: null }, ["dec"]),
      ),
    );
    assertEquals(parallel.map((p) => p[0]!.probs[0]!), serial);
    assertEquals(new Set(serial).size, 8);
  } finally {
    await model.close();
  }
});

Deno.test("auto checks its pick against wasm and reports the difference", async () => {
  const model = await FlexCareModel.load(await tinyModel(), { backend: "auto", offThread: true });
  try {
    const gpu = (await resolveBackend("auto")).backend === "webgpu";
    assertEquals(model.runtime.backend, gpu ? "webgpu" : "native");
    assert(model.autoCheck !== null);
    assertEquals(model.autoCheck.kept, true);
    assert(model.autoCheck.maxAbsDiff <= 1e-4, String(model.autoCheck.maxAbsDiff));
  } finally {
    await model.close();
  }
});

Deno.test("a closed model's worker stops, so the process can exit", async () => {
  const script = new URL("./_load_and_close.ts", import.meta.url).pathname;
  const dir = await tinyModel();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertEquals(text.trim(), "closed");
});
