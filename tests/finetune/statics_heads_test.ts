import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import { main } from "../../src/cli/fit_statics.ts";
import type { Sample } from "../../src/data/dataset.ts";
import { testSubgroups } from "../../src/finetune/finetune.ts";
import { importPhysionet2012 } from "../../src/data/import/physionet2012.ts";
import { modelEvalSource } from "../../src/eval/model_source.ts";
import { evaluateSource } from "../../src/eval/evaluate.ts";
import { FlexCareModel } from "../../src/model/flexcare_model.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";
import { tinyModelCopy } from "../model/tiny_model.ts";
import { quietly } from "../quiet.ts";

Deno.test({
  name:
    "fit-statics on real PhysioNet stays: unit, age and sex lift IHM over the graph's head; eval serves the same numbers",
  ignore: sharedMissing("data/physionet-2012/set-a"),
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "flexcare-fit-statics-" });
    const models: string[] = [];
    try {
      await importPhysionet2012({
        inDir: `${SHARED_DIR}/data/physionet-2012`,
        outDir: `${root}/data`,
        sets: ["a"],
      });
      const dir = await tinyModelCopy();
      models.push(dir);
      const before = await FlexCareModel.load(dir, { backend: "wasm" });
      const hashBefore = before.hash;
      await before.close();
      assertEquals(
        await quietly(() => main(["--model", dir, "--data", `${root}/data`, "--tasks", "ihm"])),
        0,
      );
      const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
      const report = manifest.statics.fitted.reports[0];
      assertEquals(manifest.statics.spec.units, ["CCU", "CSRU", "MICU", "SICU"]);
      assert(manifest.statics.spec.ageCenter > 55 && manifest.statics.spec.ageCenter < 75);
      // The tiny model is untrained: age, sex and unit carry real signal on top of it.
      assert(
        report.test.statics > report.test.graph + 0.05,
        `test AUROC statics ${report.test.statics}, graph ${report.test.graph}`,
      );
      assert(manifest.calibration.tasks.ihm.temperature > 0);
      const after = await FlexCareModel.load(dir, { backend: "wasm" });
      assert(after.hash !== hashBefore);
      await after.close();
      // deno task eval reads stays.csv and passes each stay's statics: the same AUROC.
      const source = await modelEvalSource({
        modelDir: dir,
        dataDir: `${root}/data`,
        split: "test",
        tasks: ["ihm"],
        batchSize: 64,
        backend: "wasm",
      });
      const evaluated = await evaluateSource(source, { bootstrap: { resamples: 0 } });
      const auroc = evaluated.tasks[0]!.metrics.find((m) => m.key === "auroc")!.value!;
      assertAlmostEquals(auroc, report.test.statics, 1e-6);
    } finally {
      await Deno.remove(root, { recursive: true });
      for (const m of models) await Deno.remove(m, { recursive: true });
    }
  },
});

Deno.test("fine-tune report subgroups: AUROC per unit equals scikit-learn's; one-class groups say so", () => {
  const rows: [string, number, number][] = [
    ...[[1, .9], [0, .2], [1, .7], [0, .4], [0, .75], [1, .35], [0, .1], [1, .8]].map(
      ([y, p]) => ["CCU", y!, p!] as [string, number, number],
    ),
    ...[[1, .3], [0, .6], [1, .45], [0, .5], [0, .7], [1, .65]].map(
      ([y, p]) => ["MICU", y!, p!] as [string, number, number],
    ),
    ...[[0, .2], [0, .9], [0, .4]].map(([y, p]) => ["SICU", y!, p!] as [string, number, number]),
  ];
  const samples = rows.map((_, i) => ({ stayId: `s${i}` }) as unknown as Sample);
  const metadata = new Map(rows.map(([unit], i) => [`s${i}`, {
    stayId: `s${i}`,
    subjectId: `s${i}`,
    unit,
    age: 50 + i,
    sex: i % 2 === 0 ? "F" : "M",
    admissionType: "",
  }]));
  const groups = testSubgroups(
    "binary",
    samples,
    rows.map(([, y]) => [y]),
    rows.map(([, , p]) => Float32Array.of(p)),
    metadata,
    0.5,
    0,
  );
  const unit = groups.filter((g) => g.column === "unit");
  assertEquals(unit.map((g) => [g.value, g.n, g.positives]), [["CCU", 8, 4], ["MICU", 6, 3], [
    "SICU",
    3,
    0,
  ]]);
  // roc_auc_score (scikit-learn 1.2) on the same labels and scores; float32 scores as served.
  assertAlmostEquals(unit[0]!.metric!, 0.8125, 1e-12);
  assertAlmostEquals(unit[1]!.metric!, 0.22222222222222224, 1e-12);
  assertEquals([unit[0]!.belowOverall, unit[1]!.belowOverall], [false, true]);
  assertEquals([unit[2]!.metric, unit[2]!.undefinedBecause], [null, "no positives"]);
  assertEquals(groups.filter((g) => g.column === "sex").map((g) => g.value), ["F", "M"]);
});
