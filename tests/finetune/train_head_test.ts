import { assert, assertEquals, assertThrows } from "../assert.ts";
import { seededRandom } from "../../src/eval/prng.ts";
import { applyLinearHead } from "../../src/finetune/linear_head.ts";
import { argmax, taskMetrics } from "../../src/finetune/task_metrics.ts";
import { trainLinearHead } from "../../src/finetune/train_head.ts";

function blobs(n: number, seed: number) {
  // three classes around (0, 4), (4, 0), (-4, -4) with a unit spread, plus a useless column
  const rand = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const centres = [[0, 4], [4, 0], [-4, -4]];
  const x = new Float32Array(n * 3);
  const labels: number[][] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    x[i * 3] = centres[c]![0]! + gauss();
    x[i * 3 + 1] = centres[c]![1]! + gauss();
    x[i * 3 + 2] = 100 + 10 * gauss();
    labels.push([c]);
  }
  return { x, width: 3, labels };
}

Deno.test("a softmax head separates three blobs and keeps the best validation epoch", () => {
  const train = blobs(90, 1), val = blobs(30, 2), test = blobs(60, 3);
  const { head, history, bestEpoch } = trainLinearHead(train, {
    kind: "multiclass",
    outputs: 3,
    validation: val,
    score: (probs, labels) => taskMetrics("multiclass", labels, probs).macro_f1!,
    seed: 4,
  });
  assertEquals([head.inputs, head.outputs], [3, 3]);
  assert(bestEpoch >= 1 && bestEpoch <= history.length);
  let correct = 0;
  for (let i = 0; i < 60; i++) {
    const out = applyLinearHead(head, test.x.subarray(i * 3, i * 3 + 3));
    if (argmax(out.probs) === test.labels[i]![0]) correct++;
  }
  assert(correct >= 57, `accuracy ${correct}/60`);
  assert(history[0]!.valLoss !== null && history.at(-1)!.trainLoss < history[0]!.trainLoss);
});

Deno.test("a logistic head recovers the sign of a binary rule; -1 multi-label entries are masked", () => {
  const n = 200;
  const rand = seededRandom(9);
  const x = new Float32Array(n * 2);
  const binary: number[][] = [], multi: number[][] = [];
  for (let i = 0; i < n; i++) {
    x[2 * i] = rand() * 2 - 1;
    x[2 * i + 1] = rand() * 2 - 1;
    binary.push([x[2 * i]! > 0 ? 1 : 0]);
    multi.push([x[2 * i]! > 0 ? 1 : 0, i % 2 === 0 ? -1 : x[2 * i + 1]! > 0 ? 1 : 0]);
  }
  const b = trainLinearHead({ x, width: 2, labels: binary }, { kind: "binary", outputs: 1 });
  assert(b.head.weights[0]! > 5 * Math.abs(b.head.weights[1]!));
  assert(applyLinearHead(b.head, [0.8, 0]).probs[0]! > 0.9);
  const m = trainLinearHead({ x, width: 2, labels: multi }, {
    kind: "multilabel",
    outputs: 2,
    classWeights: true,
  });
  const auc = taskMetrics(
    "multilabel",
    multi,
    multi.map((_, i) => applyLinearHead(m.head, x.subarray(2 * i, 2 * i + 2)).probs),
  );
  assert(auc.macro_auroc! > 0.97 && auc.micro_auroc! > 0.95, JSON.stringify(auc));
  assertThrows(
    () => trainLinearHead({ x, width: 3, labels: binary }, { kind: "binary", outputs: 1 }),
    TypeError,
  );
});
