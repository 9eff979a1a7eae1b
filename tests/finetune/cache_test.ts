import { assert, assertEquals } from "../assert.ts";
import type { Sample } from "../../src/data/dataset.ts";
import { getTask } from "../../src/data/tasks.ts";
import { extractVectors, type SampleEncoder } from "../../src/finetune/extract.ts";
import { createNoteEncoder } from "../../src/features/notes/create_encoder.ts";
import { NORMALIZER_PH } from "../../src/features/normalizer.ts";
import { VectorCache } from "../../src/finetune/vector_cache.ts";

function noteSample(i: number): Sample {
  return {
    task: getTask("drg"),
    split: "train",
    subjectId: `p${i}`,
    stayId: `s${i}`,
    episode: null,
    time: null,
    dicomId: null,
    note: `note number ${i} with copd`,
    labels: [i % 2],
    modalities: { timeseries: false, image: false, note: true },
    origin: `test:${i}`,
  };
}

Deno.test("representations resume from the cache; another key starts over", async () => {
  const dir = await Deno.makeTempDir();
  const noteEncoder = await createNoteEncoder({ kind: "hashed", dim: 8 });
  try {
    let calls = 0;
    let failAt = 3;
    const encoder: SampleEncoder = {
      name: "count",
      key: "k1",
      encode: (inputs) => {
        if (calls === failAt) throw new Error("interrupted");
        calls++;
        return Promise.resolve(new Float32Array([inputs.note!.tokens, calls]));
      },
    };
    const featurizer = {
      dataDir: dir,
      normalizer: NORMALIZER_PH,
      maxRows: 512,
      noteEncoder,
      noteMaxTokens: 512,
    };
    const samples = Array.from({ length: 5 }, (_, i) => noteSample(i));
    const options = {
      featurizer,
      encoders: [encoder],
      cacheDir: dir,
      label: "train",
      progress: false,
    };
    let failed = false;
    try {
      await extractVectors(samples, options);
    } catch {
      failed = true;
    }
    assert(failed && calls === 3);
    failAt = -1;
    const out = (await extractVectors(samples, options))["count"]!;
    assertEquals(calls, 5); // only the two missing samples were computed
    assertEquals(out.width, 2);
    assertEquals(Array.from(out.data.filter((_, i) => i % 2 === 1)), [1, 2, 3, 4, 5]);
    assertEquals(out.data[0], 5); // "note number 0 with copd": 5 tokens
    await extractVectors(samples, options);
    assertEquals(calls, 5);
    // another key (e.g. another model hash or token) recomputes
    await extractVectors(samples, { ...options, encoders: [{ ...encoder, key: "k2" }] });
    assertEquals(calls, 10);
    // a cut last line is dropped, the lines before it are kept
    const path = `${dir}/cut.jsonl`;
    const c = await VectorCache.open(path, "key");
    await c.put("a", new Float32Array([1]));
    await c.put("b", new Float32Array([2]));
    await c.close();
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, text.slice(0, -8));
    const reopened = await VectorCache.open(path, "key");
    assertEquals([reopened.size, reopened.get("a")?.[0]], [1, 1]);
    await reopened.close();
  } finally {
    await noteEncoder.close();
    await Deno.remove(dir, { recursive: true });
  }
});
