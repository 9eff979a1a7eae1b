import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../assert.ts";
import { LOS_CLASSES, PHENOTYPE_LABELS } from "../../src/data/tasks.ts";
import { auroc } from "../../src/eval/auroc.ts";
import { bootstrapCi } from "../../src/eval/bootstrap.ts";
import { evaluateRecords } from "../../src/eval/evaluate.ts";
import { multilabelAuroc } from "../../src/eval/multilabel_auroc.ts";
import { checkRecord, parsePredictionsJsonl } from "../../src/eval/predictions.ts";
import { seededRandom } from "../../src/data/random.ts";
import { reliabilitySvg } from "../../src/eval/reliability_svg.ts";
import { reportToJson, reportToMarkdown } from "../../src/eval/report.ts";
import { reliabilityBins } from "../../src/eval/calibration.ts";

function cohort(n: number, seed: number) {
  const rand = seededRandom(seed);
  const records: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const modality = ["t", "t+n", "t+i+n"][i % 3]!;
    const y = rand() < 0.2 ? 1 : 0;
    const p = Math.min(1, Math.max(0, rand() * 0.6 + 0.35 * y));
    records.push({
      task: "dec",
      labels: y,
      probs: p,
      news2: Math.floor(rand() * 6) + 3 * y,
      groups: { modality },
    });
    const phe = PHENOTYPE_LABELS.map(() => (rand() < 0.1 ? -1 : rand() < 0.25 ? 1 : 0));
    records.push({
      task: "phe",
      labels: phe,
      probs: phe.map((v) => rand() * 0.7 + (v === 1 ? 0.3 : 0)),
      groups: { modality },
    });
    const los = Math.floor(rand() * LOS_CLASSES.length);
    const probs = LOS_CLASSES.map((_, c) => (c === los ? 0.3 : 0) + rand() * 0.5);
    records.push({ task: "los", labels: los, probs, groups: i % 5 === 0 ? {} : { modality } });
  }
  return records.map((r, i) => checkRecord(r, `record ${i}`));
}

Deno.test("evaluation of a mixed cohort: metrics, intervals, prevalence, subgroups, NEWS2", () => {
  const records = cohort(300, 7);
  const report = evaluateRecords(records, { by: ["modality"], bootstrap: { resamples: 200 } });
  assertEquals(report.tasks.map((t) => t.task), ["dec", "phe", "los"]);
  const [dec, phe, los] = report.tasks as [
    typeof report.tasks[0],
    typeof report.tasks[0],
    typeof report.tasks[0],
  ];
  assertEquals(dec.metrics.map((m) => m.key), ["auroc", "auprc", "ap", "brier", "ece"]);
  assertEquals(phe.metrics.map((m) => m.key), ["auroc_macro", "auroc_micro"]);
  assertEquals(los.metrics.map((m) => m.key), ["f1_macro", "f1_micro", "kappa_linear", "kappa"]);
  const decRecords = records.filter((r) => r.task.code === "dec");
  assertAlmostEquals(
    dec.metrics[0]!.value!,
    auroc(decRecords.map((r) => r.labels[0]!), decRecords.map((r) => r.values[0]!)),
    1e-12,
  );
  const pheRecords = records.filter((r) => r.task.code === "phe");
  assertAlmostEquals(
    phe.metrics[1]!.value!,
    multilabelAuroc(pheRecords.map((r) => r.labels), pheRecords.map((r) => r.values), {
      average: "micro",
    }),
    1e-12,
  );
  for (const t of report.tasks) {
    for (const m of t.metrics) {
      assert(m.lower! <= m.value! + 1e-12 || m.key === "ece", `${t.task} ${m.key} lower`);
      assert(m.lower! <= m.upper!, `${t.task} ${m.key} interval`);
    }
  }
  assertEquals(dec.n, 300);
  assert(dec.prevalence! > 0.1 && dec.prevalence! < 0.3);
  assertEquals(Object.values(los.classCounts!).reduce((a, b) => a + b, 0), 300);
  assertEquals(Object.keys(phe.perLabelAuroc!).length, 25);
  assertEquals(dec.reliability!.length, 10);
  assertEquals(dec.news2!.rows.length, 2);
  const by = report.subgroups[0]!;
  assertEquals(by.column, "modality");
  assertEquals(by.groups.map((g) => g.value), ["(missing)", "t", "t+i+n", "t+n"]);
  const missing = by.groups[0]!;
  assertEquals(missing.tasks.map((t) => t.task), ["los"]);
  assertEquals(missing.n, 60);
  assertEquals(by.groups[1]!.tasks[0]!.n, 100);
  const md = reportToMarkdown({ source: "test", ...report });
  assert(md.includes("| Decompensation (dec) | AUROC |"));
  assert(md.includes("### NEWS2 baseline: Decompensation (dec)"));
  assert(md.includes("| NEWS2 >= 5 |"));
  assert(md.includes("## Subgroups by modality"));
  assert(md.includes("### modality = t+n (280 predictions)"));
  assert(md.includes("most frequent:"));
  const json = JSON.parse(reportToJson({ source: "test", ...report }));
  assertEquals(json.tasks[0].metrics[0].key, "auroc");
  assertEquals(typeof json.tasks[0].metrics[0].lower, "number");
});

Deno.test("bootstrap: seeded, reproducible, undefined resamples skipped and counted", () => {
  const labels = [1, 0, 0, 0, 0, 0, 0, 0];
  const scores = [0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
  const stat = (w: Float64Array) => auroc(labels, scores, { sampleWeights: w });
  const a = bootstrapCi(labels.length, stat, { resamples: 300, seed: 5 });
  const b = bootstrapCi(labels.length, stat, { resamples: 300, seed: 5 });
  assertEquals(a, b);
  assertEquals(a.value, 1);
  // The single positive is left out of about (7/8)^8 = 34% of resamples.
  assert(a.skipped > 60 && a.skipped < 150, `skipped ${a.skipped}`);
  assertEquals(a.resamples, 300);
  const none = bootstrapCi(3, () => Number.NaN, { resamples: 10 });
  assertEquals([none.lower, none.upper, none.skipped], [null, null, 10]);
  assertThrows(() => bootstrapCi(3, () => 0, { level: 1.5 }), RangeError);
});

Deno.test("prediction records are checked against their task", () => {
  assertThrows(() => checkRecord({ task: "phe", labels: [1], probs: [0.5] }, "r"), TypeError, "25");
  assertThrows(() => checkRecord({ task: "ihm", labels: 1 }, "r"), TypeError, "probs");
  assertThrows(() => checkRecord({ task: "ihm", labels: 1, probs: 1.5 }, "r"), RangeError);
  assertThrows(() => checkRecord({ task: "xyz", labels: 1, probs: 0.5 }, "r"), RangeError);
  assertThrows(() => parsePredictionsJsonl('{"task":"ihm"\n', "p.jsonl"), SyntaxError, "p.jsonl:1");
  assertThrows(
    () => checkRecord({ task: "ihm", labels: 2, probs: 0.5 }, "r"),
    RangeError,
    "label 2",
  );
  assertThrows(
    () => checkRecord({ task: "los", labels: 10, probs: Array(10).fill(0.1) }, "r"),
    RangeError,
    "0..9",
  );
  assertThrows(() => checkRecord({ task: "drg", labels: 0, probs: [1] }, "r"), TypeError);
  const r = checkRecord({ task: 0, labels: [1], scores: [2.5] }, "r");
  assertEquals([r.task.code, r.probabilities, r.values], ["ihm", false, [2.5]]);
});

Deno.test("scores without probabilities leave calibration out", () => {
  const records = [[1, 2.1], [0, -0.3], [1, 0.4], [0, 0.9]].map(([y, s], i) =>
    checkRecord({ task: "rea", labels: y, scores: s }, `#${i}`)
  );
  const report = evaluateRecords(records, { bootstrap: { resamples: 10 } });
  assertEquals(report.tasks[0]!.metrics.map((m) => m.key), ["auroc", "auprc", "ap"]);
  assertEquals(report.tasks[0]!.reliability, null);
});

Deno.test("reliability diagram SVG is well formed and escapes its title", () => {
  const bins = reliabilityBins([0, 1, 1, 0, 1], [0.05, 0.95, 0.6, 0.3, 0.61]);
  const svg = reliabilitySvg(bins, { title: "A <b> & c", subtitle: "ECE 0.1" });
  assert(svg.includes("A &lt;b&gt; &amp; c"));
  assertEquals((svg.match(/<circle /g) ?? []).length, 5); // non-empty bins
  assertEquals(svg.match(/<svg /g)?.length, 1);
  assert(svg.trimEnd().endsWith("</svg>"));
  const opened = (svg.match(/<(rect|circle|text|line|polyline)\b[^>]*[^/]>/g) ?? []).length;
  const closed = (svg.match(/<\/(rect|circle|text|line|polyline)>/g) ?? []).length;
  assertEquals(opened, closed);
});

Deno.test("subgroups: AUROC per group equals scikit-learn's, a group below the overall interval is flagged, a group with no positives says so", () => {
  const groups: [string, [number, number][]][] = [
    ["A", [[1, .9], [0, .2], [1, .7], [0, .4], [0, .75], [1, .35], [0, .1], [1, .8]]],
    ["B", [[1, .3], [0, .6], [1, .45], [0, .5], [0, .7], [1, .65]]],
    ["C", [[0, .2], [0, .9], [0, .4]]],
  ];
  const records = groups.flatMap(([unit, rows]) =>
    rows.map(([y, p], i) =>
      checkRecord({ task: "ihm", labels: y, probs: p, groups: { unit } }, `${unit}${i}`)
    )
  );
  const report = {
    source: "fixed",
    ...evaluateRecords(records, { by: ["unit"], bootstrap: { resamples: 200, seed: 1 } }),
  };
  // roc_auc_score on the same labels and scores (scikit-learn 1.2).
  const overall = report.tasks[0]!.metrics.find((m) => m.key === "auroc")!;
  assertAlmostEquals(overall.value!, 0.6285714285714286, 1e-12);
  const rows = report.subgroups[0]!.summary;
  assertEquals(rows.map((r) => [r.value, r.n, r.positives]), [["A", 8, 4], ["B", 6, 3], [
    "C",
    3,
    0,
  ]]);
  assertAlmostEquals(rows[0]!.metric!.value!, 0.8125, 1e-12);
  assertAlmostEquals(rows[1]!.metric!.value!, 0.22222222222222224, 1e-12);
  assert(overall.lower! > 0.2223, `overall interval ${overall.lower}`);
  assertEquals(rows.map((r) => r.belowOverall), [false, true, false]);
  assertEquals([rows[2]!.undefinedBecause, rows[2]!.metric!.value], ["no positives", null]);
  const md = reportToMarkdown(report);
  assert(md.includes("| ihm | B | 6 | 3 | AUROC 0.2222"), md);
  assert(/\| ihm \| B \|.*\| below overall \|/.test(md), md);
  assert(md.includes("| ihm | C | 3 | 0 | no positives |"), md);
});
