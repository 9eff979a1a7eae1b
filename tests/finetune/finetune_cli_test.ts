import { assert, assertEquals, assertRejects } from "../assert.ts";
import { writeSyntheticDataset } from "../../src/data/synth/write_dataset.ts";
import { main } from "../../src/cli/finetune.ts";
import { readHead } from "../../src/finetune/head_artifact.ts";
import { HeadMismatchError } from "../../src/finetune/head_artifact.ts";
import { HeadRegistry } from "../../src/finetune/head_registry.ts";
import { FlexCareModel } from "../../src/model/flexcare_model.ts";
import { tinyModel } from "../model/tiny_model.ts";

async function noteOnlyTask(data: string): Promise<void> {
  // a new binary task "copd" from the synthetic DRG notes: notes only, label = mentions copd
  await Deno.mkdir(`${data}/copd`);
  for (const split of ["train", "val", "test"]) {
    const lines = (await Deno.readTextFile(`${data}/drg/${split}_multimodal_listfile.csv`))
      .trim().split("\n").slice(1);
    const rows = lines.map((l) => l.split(",")).filter((f) => f[5] !== "").map((f) => {
      return `${f[0]},${f[1]},,,,${f[5]},${/copd|pulmonary|pneumonia/.test(f[5]!) ? 1 : 0}`;
    });
    await Deno.writeTextFile(
      `${data}/copd/${split}_multimodal_listfile.csv`,
      ["subject_id,stay_id,stay,period_length,dicom_id,note,y_true", ...rows].join("\n") + "\n",
    );
  }
}

Deno.test({
  name: "deno task finetune on a tiny cohort: head, report, baselines, serving, hash refusal",
  fn: async () => {
    const model = await tinyModel();
    const dir = await Deno.makeTempDir({ prefix: "flexcare-finetune-" });
    try {
      const data = `${dir}/data`;
      await writeSyntheticDataset({ outDir: data, stays: 40, seed: 3, imageSize: 256 });
      const out = `${dir}/out`;
      const common = [
        "--data",
        data,
        "--model",
        model,
        "--random-model",
        model,
        "--epochs",
        "20",
        "--repeats",
        "2",
      ];
      const code = await main([
        "--task",
        "drg",
        ...common,
        "--label-fraction",
        "0.2",
        "--out",
        out,
        "--quiet",
      ]);
      assertEquals(code, 0);
      const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
      assertEquals(
        report.runs.map((r: { features: string; fraction: number }) =>
          `${r.features}@${r.fraction}`
        ),
        [
          "flexcare@0.2",
          "flexcare@1",
          "random-backbone@0.2",
          "random-backbone@1",
          "summary@0.2",
          "summary@1",
        ],
      );
      assertEquals(report.counts.labelled, Math.round(0.2 * report.counts.train));
      for (const r of report.runs) assert(Number.isFinite(r.test.micro_f1), JSON.stringify(r));
      assert(
        (await Deno.readTextFile(`${out}/report.md`)).includes("| summary-feature regression |"),
      );
      assert((await Deno.readTextFile(`${out}/learning_curve.svg`)).includes("<polyline"));
      // The kept head is temperature-scaled on validation: the log-loss there cannot rise.
      const cal = report.calibration;
      assert(cal.temperature >= 0.05 && cal.temperature <= 20, JSON.stringify(cal));
      assert(cal.validation.nllAfter <= cal.validation.nllBefore + 1e-9, JSON.stringify(cal));
      assertEquals(cal.validation.samples, report.counts.val);
      assert((await Deno.readTextFile(`${out}/report.md`)).includes("- Calibration: temperature"));

      // a second run reuses the cached representations
      await main(["--task", "drg", ...common, "--label-fraction", "0.2", "--out", out, "--quiet"]);
      const again = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
      assertEquals(again.runs[0].test, report.runs[0].test);

      // a new note-only task, served from the registry
      await noteOnlyTask(data);
      await main(["--task", "copd", ...common, "--out", out, "--quiet", "--no-baselines"]);
      const loaded = await FlexCareModel.load(model, { backend: "wasm" });
      try {
        const head = await readHead(`${out}/heads/copd/head.json`, { modelHash: loaded.hash });
        assertEquals([head.kind, head.labels], ["binary", ["y_true"]]);
        const registry = await HeadRegistry.load(`${out}/heads`, { modelHash: loaded.hash });
        assertEquals(registry.names(), ["copd", "drg"]);
        const note = { tokens: 3, dim: 768, data: new Float32Array(3 * 768).fill(0.01) };
        const [pred] = await registry.predict(loaded, { timeseries: null, image: null, note }, [
          "copd",
        ]);
        assertEquals(pred!.probs, registry.apply("copd", pred!.backbone.representation).probs);
        const other = await HeadRegistry.load(`${out}/heads`, { modelHash: "c".repeat(64) });
        assertEquals(other.names(), []);
        assertEquals(other.refused.length, 2);
        await assertRejects(
          () =>
            registry.predict({ ...loaded, hash: "d".repeat(64) } as FlexCareModel, {
              timeseries: null,
              image: null,
              note,
            }, ["copd"]),
          HeadMismatchError,
        );
      } finally {
        await loaded.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
