import { assert, assertEquals } from "../assert.ts";
import { readSamples } from "../../src/data/dataset.ts";
import { writeSyntheticDataset } from "../../src/data/synth/write_dataset.ts";
import { auroc } from "../../src/eval/auroc.ts";
import { news2ForSample } from "../../src/eval/news2_dataset.ts";

Deno.test("NEWS2 for every decompensation sample of a synthetic cohort", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSyntheticDataset({ outDir: dir, stays: 60, seed: 11 });
    const labels: number[] = [];
    const scores: number[] = [];
    for (const split of ["train", "val", "test"] as const) {
      for await (const sample of readSamples(dir, "dec", split)) {
        const result = await news2ForSample(dir, sample);
        if (result === null) continue;
        assert(Number.isInteger(result.total) && result.total >= 0 && result.total <= 20);
        assertEquals(result.missing, []); // the discretizer imputes every vital
        labels.push(sample.labels[0]!);
        scores.push(result.total);
      }
    }
    assert(labels.length > 0);
    const value = auroc(labels, scores);
    assert(Number.isNaN(value) || (value >= 0 && value <= 1));
    console.log(`NEWS2 on ${labels.length} synthetic samples: AUROC ${value.toFixed(3)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
