import { assert, assertEquals, assertThrows } from "../assert.ts";
import { labelFraction } from "../../src/finetune/label_fraction.ts";

Deno.test("1% of a multi-class training split: seeded, sized, one sample per class first", () => {
  // 1,400 samples over 30 classes, class c has 3 + 2c samples (the rest in class 0)
  const labels: number[][] = [];
  for (let c = 1; c < 30; c++) for (let k = 0; k < 3 + 2 * c; k++) labels.push([c]);
  while (labels.length < 1400) labels.push([0]);
  const a = labelFraction(labels, { kind: "multiclass", fraction: 0.01, seed: 3 });
  assertEquals(a.length, 14);
  assertEquals(a, labelFraction(labels, { kind: "multiclass", fraction: 0.01, seed: 3 }));
  assert(
    JSON.stringify(a) !== JSON.stringify(labelFraction(labels, {
      kind: "multiclass",
      fraction: 0.01,
      seed: 4,
    })),
  );
  // 14 draws, 14 different classes
  assertEquals(new Set(a.map((i) => labels[i]![0])).size, 14);
  // 10%: 140 samples, every class covered
  const b = labelFraction(labels, { kind: "multiclass", fraction: 0.1, seed: 3 });
  assertEquals(b.length, 140);
  assertEquals(new Set(b.map((i) => labels[i]![0])).size, 30);
  assertEquals(labelFraction(labels, { kind: "multiclass", fraction: 1 }).length, 1400);
});

Deno.test("binary and multi-label coverage; at least one sample; bad fractions refused", () => {
  const binary = Array.from({ length: 300 }, (_, i) => [i === 7 ? 1 : 0]);
  const kept = labelFraction(binary, { kind: "binary", fraction: 0.01, seed: 0 });
  assertEquals(kept.length, 3);
  assert(kept.includes(7));
  assertEquals(labelFraction(binary, { kind: "binary", fraction: 0.0001 }).length, 1);
  const multi = Array.from({ length: 200 }, (_, i) => [i === 1 ? 1 : 0, i === 2 ? 1 : -1, 0]);
  const m = labelFraction(multi, { kind: "multilabel", fraction: 0.02, seed: 5 });
  assertEquals(m.length, 4);
  assert(m.includes(1) && m.includes(2));
  assertThrows(() => labelFraction(binary, { kind: "binary", fraction: 0 }), RangeError);
  assertThrows(() => labelFraction(binary, { kind: "binary", fraction: 1.5 }), RangeError);
});
