import { assert, assertEquals } from "../assert.ts";
import { imagePath, predictionTime, readEpisode, readSamples } from "../../src/data/dataset.ts";
import { writeSyntheticDataset } from "../../src/data/synth/write_dataset.ts";
import { tensorize } from "../../src/data/tensor_store/tensorize.ts";
import { discretize } from "../../src/features/discretizer.ts";
import { preprocessImage } from "../../src/features/image/preprocess.ts";
import { lastRows } from "../../src/features/matrix.ts";
import { NORMALIZER_PH, standardize } from "../../src/features/normalizer.ts";
import { createNoteEncoder } from "../../src/features/notes/create_encoder.ts";
import { DEFAULT_NOTE_ENCODER, parseNoteEncoderSpec } from "../../src/features/notes/encoder.ts";

/** Reads a float32 `.npy` written by the store: shape and data. */
async function readNpy(path: string): Promise<{ shape: number[]; data: Float32Array }> {
  const bytes = await Deno.readFile(path);
  const headerLength = new DataView(bytes.buffer).getUint16(8, true);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  assert(header.includes("'descr': '<f4'") && header.includes("'fortran_order': False"), header);
  const shape = header.match(/\(([^)]*)\)/)![1]!.split(",").map((s) => s.trim()).filter((s) =>
    s !== ""
  ).map(Number);
  const start = 10 + headerLength;
  assertEquals(start % 64, 0);
  const data = new Float32Array(bytes.slice(start).buffer);
  assertEquals(data.length, shape.reduce((a, b) => a * b, 1));
  return { shape, data };
}

Deno.test("tensorize writes the store the trainer reads, from the same feature code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flexcare-tensorize-" });
  try {
    await writeSyntheticDataset({ outDir: `${dir}/data`, stays: 24, seed: 5 });
    const noteEncoder = await createNoteEncoder(DEFAULT_NOTE_ENCODER);
    const run = (out: string) =>
      tensorize({
        data: `${dir}/data`,
        out,
        noteEncoder,
        augment: 2,
        seed: 1,
        progress: false,
        shardBytes: 4 << 20,
      });
    const summary = await run(`${dir}/a`);
    await run(`${dir}/b`);
    await noteEncoder.close();

    const store = JSON.parse(await Deno.readTextFile(`${dir}/a/store.json`));
    assertEquals(store.format, "flexcare-tensor-store");
    assertEquals(Object.keys(store.tasks).sort(), [
      "dec",
      "dia",
      "drg",
      "ihm",
      "los",
      "phe",
      "rea",
    ]);
    assertEquals(store.note.encoder, parseNoteEncoderSpec(DEFAULT_NOTE_ENCODER));
    assert(store.shards.images.length > 1, "small shard limit splits images over several shards");

    // Same input and seed: identical bytes, augmentation included.
    for (
      const name of [
        ...store.shards.timeseries,
        ...store.shards.images,
        ...store.shards.notes,
        "dec/train.jsonl",
      ]
    ) {
      assertEquals(
        await Deno.readFile(`${dir}/a/${name}`),
        await Deno.readFile(`${dir}/b/${name}`),
        name,
      );
    }

    const ts = await Promise.all(
      store.shards.timeseries.map((f: string) => readNpy(`${dir}/a/${f}`)),
    );
    const img = await Promise.all(store.shards.images.map((f: string) => readNpy(`${dir}/a/${f}`)));
    const notes = await Promise.all(
      store.shards.notes.map((f: string) => readNpy(`${dir}/a/${f}`)),
    );
    const encoder = await createNoteEncoder(DEFAULT_NOTE_ENCODER);
    let checked = 0;
    for (const task of ["dec", "dia", "drg"]) {
      for (const split of ["train", "test"] as const) {
        const lines = (await Deno.readTextFile(`${dir}/a/${task}/${split}.jsonl`)).trim().split(
          "\n",
        ).map((l) => JSON.parse(l));
        const samples = await Array.fromAsync(readSamples(`${dir}/data`, task, split));
        assertEquals(lines.length, samples.length);
        assertEquals(store.splits[`${task}/${split}`], samples.length);
        for (let i = 0; i < Math.min(samples.length, 4); i++) {
          const [line, sample] = [lines[i], samples[i]!];
          assertEquals(line.labels, sample.labels);
          assertEquals(line.task_id, sample.task.id);
          if (sample.episode !== null) {
            const obs = await readEpisode(`${dir}/data`, sample.episode);
            const want = lastRows(
              standardize(discretize(obs, predictionTime(sample, obs)), NORMALIZER_PH),
              512,
            );
            assertEquals(line.ts.rows, want.rows);
            const got = ts[line.ts.shard].data.subarray(
              line.ts.start * 76,
              (line.ts.start + want.rows) * 76,
            );
            assertEquals(got, Float32Array.from(want.data));
          } else assertEquals(line.ts, null);
          if (sample.dicomId !== null) {
            const want = preprocessImage(
              await Deno.readFile(imagePath(`${dir}/data`, sample.dicomId)),
            );
            const n = 3 * 224 * 224;
            assertEquals(
              img[line.image.shard].data.subarray(line.image.index * n, (line.image.index + 1) * n),
              want,
            );
            assertEquals(line.image.augmented.length, split === "train" ? 2 : 0);
            for (const copy of line.image.augmented) {
              const aug = img[copy.shard].data.subarray(copy.index * n, (copy.index + 1) * n);
              assert(
                aug.some((v: number, k: number) => v !== want[k]),
                "augmented copy differs from the plain image",
              );
            }
          } else assertEquals(line.image, null);
          if (sample.note !== null) {
            const want = await encoder.encode(sample.note);
            assertEquals(line.note.tokens, Math.min(want.tokens, 512));
            const dim = DEFAULT_NOTE_ENCODER.dim;
            assertEquals(
              notes[line.note.shard].data.subarray(
                line.note.start * dim,
                (line.note.start + line.note.tokens) * dim,
              ),
              want.data.subarray(0, line.note.tokens * dim),
            );
          }
          checked++;
        }
      }
    }
    await encoder.close();
    assert(checked >= 15, `checked ${checked}`);
    assert(summary.images > 0 && summary.notes > 0 && summary.timeseriesRows > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
