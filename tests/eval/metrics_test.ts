import { assert, assertAlmostEquals, assertEquals } from "../assert.ts";
import { accuracy } from "../../src/eval/accuracy.ts";
import { auroc } from "../../src/eval/auroc.ts";
import { brierScore } from "../../src/eval/brier.ts";
import { expectedCalibrationError, reliabilityBins } from "../../src/eval/calibration.ts";
import { cohenKappa } from "../../src/eval/cohen_kappa.ts";
import { f1Score } from "../../src/eval/f1.ts";
import { multilabelAuroc, perLabelAuroc } from "../../src/eval/multilabel_auroc.ts";
import { auprc, averagePrecision } from "../../src/eval/precision_recall.ts";
import { seededRandom } from "../../src/data/random.ts";

/** The reference script, run with the system interpreter that has scikit-learn. */
const SCRIPT = decodeURIComponent(
  new URL("../reference/sklearn_metrics.py", import.meta.url).pathname,
);
const PY_ENV = { PYENV_VERSION: "system" };
const TOLERANCE = 1e-9;

function sklearnMissing(): string | undefined {
  try {
    const { code } = new Deno.Command("python3", {
      args: ["-c", "import sklearn, numpy"],
      env: PY_ENV,
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return code === 0 ? undefined : "system python3 cannot import scikit-learn and numpy";
  } catch {
    return "python3 is not installed";
  }
}

const missing = sklearnMissing();
if (missing !== undefined) console.warn(`ignored: sklearn comparison (${missing})`);

type Case =
  & { id: string }
  & (
    | { kind: "binary"; labels: number[]; scores: number[]; sample_weight?: number[] }
    | { kind: "multilabel"; labels: number[][]; scores: number[][] }
    | {
      kind: "multiclass";
      y_true: number[];
      y_pred: number[];
      sample_weight?: number[];
      labels?: number[];
    }
  );

interface Reference {
  versions: Record<string, string>;
  results: Record<string, Record<string, number | null | (number | null)[]>>;
}

function makeCases(): Case[] {
  const rand = seededRandom(20240827);
  const int = (k: number) => Math.floor(rand() * k);
  const cases: Case[] = [];
  const binaryLabels = (n: number, prevalence: number) => {
    const y = Array.from({ length: n }, () => (rand() < prevalence ? 1 : 0));
    y[0] = 1; // both classes present
    y[1] = 0;
    return y;
  };
  const sizes = [4, 7, 20, 50, 200, 1000];
  const prevalences = [0.05, 0.3, 0.5, 0.8];
  let id = 0;
  for (const n of sizes) {
    for (const prev of prevalences) {
      const y = binaryLabels(n, prev);
      // Continuous probabilities, informative.
      const cont = y.map((v) => Math.min(1, Math.max(0, rand() * 0.7 + 0.3 * v)));
      cases.push({ id: `b${id++}`, kind: "binary", labels: y, scores: cont });
      // Heavy ties: probabilities on a 0.1 grid (edges of the calibration bins included).
      const tied = y.map((v) => Math.round(Math.min(1, rand() * 0.8 + 0.2 * v) * 10) / 10);
      cases.push({ id: `b${id++}`, kind: "binary", labels: y, scores: tied });
      // Very heavy ties: 3 distinct scores.
      const few = y.map((v) => int(2) + v);
      cases.push({ id: `b${id++}`, kind: "binary", labels: y, scores: few.map((s) => s / 2) });
      // Unbounded scores (logits).
      const logits = y.map((v) => (rand() - 0.5) * 8 + v);
      cases.push({ id: `b${id++}`, kind: "binary", labels: y, scores: logits });
      // Integer multiplicities (a bootstrap resample) and fractional weights with zeros.
      const counts = y.map(() => int(3));
      counts[0] = 1;
      counts[1] = 1;
      cases.push({
        id: `b${id++}`,
        kind: "binary",
        labels: y,
        scores: tied,
        sample_weight: counts,
      });
      const frac = y.map(() => (rand() < 0.2 ? 0 : rand() * 2));
      frac[0] = 0.5;
      frac[1] = 0.5;
      cases.push({ id: `b${id++}`, kind: "binary", labels: y, scores: cont, sample_weight: frac });
    }
  }
  // All scores tied; perfectly separated; perfectly inverted.
  cases.push({
    id: "b-alltied",
    kind: "binary",
    labels: [1, 0, 0, 1, 0],
    scores: [0.5, 0.5, 0.5, 0.5, 0.5],
  });
  cases.push({
    id: "b-perfect",
    kind: "binary",
    labels: [0, 0, 1, 1],
    scores: [0.1, 0.2, 0.8, 0.9],
  });
  cases.push({
    id: "b-inverted",
    kind: "binary",
    labels: [1, 1, 0, 0],
    scores: [0.1, 0.2, 0.8, 0.9],
  });
  for (const [n, k] of [[10, 3], [60, 14], [300, 25]] as const) {
    for (const maskRate of [0, 0.2, 0.5]) {
      for (const tiedScores of [false, true]) {
        const labels = Array.from(
          { length: n },
          () => Array.from({ length: k }, () => (rand() < maskRate ? -1 : rand() < 0.3 ? 1 : 0)),
        );
        const scores = labels.map((row) =>
          row.map((v) => {
            const p = rand() * 0.7 + (v === 1 ? 0.3 : 0);
            return tiedScores ? Math.round(p * 5) / 5 : p;
          })
        );
        if (maskRate === 0 && n >= 60) {
          // Every label holds both classes so scikit-learn's own averages apply.
          for (let j = 0; j < k; j++) {
            labels[0]![j] = 1;
            labels[1]![j] = 0;
          }
        }
        cases.push({ id: `m${id++}`, kind: "multilabel", labels, scores });
      }
    }
  }
  for (const n of [5, 30, 200, 1000]) {
    for (const k of [2, 3, 10, 40]) {
      const yTrue = Array.from({ length: n }, () => int(k));
      const yPred = yTrue.map((t) => (rand() < 0.5 ? t : int(k)));
      cases.push({ id: `c${id++}`, kind: "multiclass", y_true: yTrue, y_pred: yPred });
      const counts = yTrue.map(() => int(3));
      counts[0] = 1;
      cases.push({
        id: `c${id++}`,
        kind: "multiclass",
        y_true: yTrue,
        y_pred: yPred,
        sample_weight: counts,
        labels: [0, 1, k + 5], // one class absent everywhere
      });
    }
  }
  // Sparse class values (kappa weights use positions, not values).
  cases.push({
    id: "c-sparse",
    kind: "multiclass",
    y_true: [0, 5, 9, 9, 5, 0],
    y_pred: [5, 5, 9, 0, 9, 0],
  });
  return cases;
}

function compare(
  worst: { diff: number; where: string },
  where: string,
  actual: number,
  expected: number | null | undefined,
): void {
  assert(expected !== undefined, `${where}: no reference value`);
  if (expected === null) {
    assert(Number.isNaN(actual), `${where}: expected undefined (NaN), got ${actual}`);
    return;
  }
  const diff = Math.abs(actual - expected);
  if (diff > worst.diff) {
    worst.diff = diff;
    worst.where = where;
  }
  assertAlmostEquals(
    actual,
    expected,
    TOLERANCE,
    `${where}: ${actual} vs scikit-learn ${expected}`,
  );
}

Deno.test({
  name: "metrics equal scikit-learn to 1e-9 on seeded random and tied-score cases",
  ignore: missing !== undefined,
  fn: async () => {
    const cases = makeCases();
    const child = new Deno.Command("python3", {
      args: [SCRIPT],
      env: PY_ENV,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify({ cases })));
    await writer.close();
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `reference script failed: ${stderr}`);
    const ref: Reference = JSON.parse(new TextDecoder().decode(out.stdout));
    const worst = { diff: 0, where: "" };
    let values = 0;
    const check = (where: string, actual: number, expected: unknown) => {
      compare(worst, where, actual, expected as number | null | undefined);
      values++;
    };
    for (const c of cases) {
      const r = ref.results[c.id]!;
      if (c.kind === "binary") {
        const opts = c.sample_weight === undefined ? {} : { sampleWeights: c.sample_weight };
        check(`${c.id} auroc`, auroc(c.labels, c.scores, opts), r.auroc);
        check(`${c.id} auprc`, auprc(c.labels, c.scores, opts), r.auprc);
        check(`${c.id} ap`, averagePrecision(c.labels, c.scores, opts), r.ap);
        if ("brier" in r) check(`${c.id} brier`, brierScore(c.labels, c.scores, opts), r.brier);
        if ("ece" in r) {
          check(`${c.id} ece`, expectedCalibrationError(c.labels, c.scores), r.ece);
          const bins = reliabilityBins(c.labels, c.scores);
          assertEquals(bins.map((b) => b.count), r.calibration_counts, `${c.id} bin counts`);
          const nonEmpty = bins.filter((b) => b.count > 0);
          nonEmpty.forEach((b, i) => {
            check(`${c.id} prob_true[${i}]`, b.observedRate!, (r.prob_true as number[])[i]);
            check(`${c.id} prob_pred[${i}]`, b.meanPredicted!, (r.prob_pred as number[])[i]);
          });
        }
      } else if (c.kind === "multilabel") {
        perLabelAuroc(c.labels, c.scores).forEach((v, j) =>
          check(`${c.id} label ${j}`, v, (r.per_label as (number | null)[])[j])
        );
        const macro = multilabelAuroc(c.labels, c.scores);
        const micro = multilabelAuroc(c.labels, c.scores, { average: "micro" });
        check(`${c.id} macro`, macro, r.macro);
        check(`${c.id} micro`, micro, r.micro);
        if ("macro_direct" in r) {
          check(`${c.id} macro (sklearn average)`, macro, r.macro_direct);
          check(`${c.id} micro (sklearn average)`, micro, r.micro_direct);
        }
      } else {
        const w = c.sample_weight === undefined ? {} : { sampleWeights: c.sample_weight };
        const [t, p] = [c.y_true, c.y_pred];
        check(`${c.id} f1 macro`, f1Score(t, p, w), r.f1_macro);
        check(`${c.id} f1 micro`, f1Score(t, p, { ...w, average: "micro" }), r.f1_micro);
        check(`${c.id} accuracy`, accuracy(t, p, w), r.accuracy);
        check(`${c.id} kappa`, cohenKappa(t, p, w), r.kappa);
        check(
          `${c.id} kappa linear`,
          cohenKappa(t, p, { ...w, weighting: "linear" }),
          r.kappa_linear,
        );
        check(
          `${c.id} kappa quadratic`,
          cohenKappa(t, p, { ...w, weighting: "quadratic" }),
          r.kappa_quadratic,
        );
        if (c.labels !== undefined) {
          const classes = c.labels;
          check(`${c.id} f1 macro labels`, f1Score(t, p, { ...w, classes }), r.f1_macro_labels);
          check(
            `${c.id} f1 micro labels`,
            f1Score(t, p, { ...w, classes, average: "micro" }),
            r.f1_micro_labels,
          );
        }
      }
    }
    console.log(
      `sklearn ${ref.versions.sklearn}: ${cases.length} cases, ${values} values, worst difference ${
        worst.diff.toExponential(2)
      } (${worst.where})`,
    );
  },
});

Deno.test("undefined metrics return NaN instead of throwing", () => {
  assert(Number.isNaN(auroc([1, 1, 1], [0.1, 0.2, 0.3])));
  assert(Number.isNaN(auprc([0, 0], [0.1, 0.2])));
  assert(Number.isNaN(averagePrecision([0, 0], [0.1, 0.2])));
  assert(Number.isNaN(multilabelAuroc([[1, -1], [1, 0]], [[0.2, 0.3], [0.4, 0.5]])));
  assert(Number.isNaN(cohenKappa([1, 1], [1, 1])));
  assert(Number.isNaN(auroc([], [])));
  assertEquals(auprc([1, 1], [0.1, 0.2]), 1);
});

Deno.test("zero weights drop samples like scikit-learn", () => {
  const y = [1, 0, 1, 0, 1];
  const s = [0.9, 0.8, 0.3, 0.95, 0.1];
  assertEquals(
    auroc(y, s, { sampleWeights: [1, 1, 1, 0, 0] }),
    auroc([1, 0, 1], [0.9, 0.8, 0.3]),
  );
});
