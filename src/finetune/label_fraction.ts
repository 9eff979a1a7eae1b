/**
 * The labelled subset of the paper's low-label setting (Table 5: 1% of the training labels):
 * a seeded draw of `round(fraction * n)` training samples (at least 1) that first covers the
 * classes, then fills the rest at random.
 *
 * Coverage, "at least one sample per class where possible": for a multi-class task one sample
 * of each class, the classes visited in random order, until the budget is spent (so with 14
 * samples and 32 classes, 14 different classes); for a binary task one positive and one
 * negative when the budget is at least 2; for a multi-label task one positive of each label in
 * random label order (a sample may cover several). The rest of the budget is a uniform draw
 * without replacement from the remaining samples.
 *
 * @module
 */
import { seededRandom } from "../eval/prng.ts";
import type { TaskKind } from "../data/tasks.ts";

/** Options for {@linkcode labelFraction}. */
export interface LabelFractionOptions {
  /** The label kind. */
  kind: TaskKind;
  /**
   * Fraction of the samples to keep, in (0, 1].
   * @default {1}
   */
  fraction?: number;
  /**
   * Seed of the draw.
   * @default {0}
   */
  seed?: number;
}

function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Indices (sorted) of the labelled training samples at a label fraction.
 *
 * @example 1% of 1,000 binary samples covers both classes
 * ```ts
 * import { labelFraction } from "./label_fraction.ts";
 * const labels = Array.from({ length: 1000 }, (_, i) => [i % 50 === 0 ? 1 : 0]);
 * const kept = labelFraction(labels, { kind: "binary", fraction: 0.01, seed: 1 });
 * if (kept.length !== 10 || !kept.some((i) => labels[i]![0] === 1)) throw new Error();
 * ```
 */
export function labelFraction(
  labels: readonly (readonly number[])[],
  options: LabelFractionOptions,
): number[] {
  const fraction = options.fraction ?? 1;
  if (!(fraction > 0 && fraction <= 1)) {
    throw new RangeError(`Label fraction must be in (0, 1], got ${fraction}`);
  }
  const n = labels.length;
  if (fraction === 1) return Array.from({ length: n }, (_, i) => i);
  const budget = Math.min(n, Math.max(1, Math.round(fraction * n)));
  const rand = seededRandom(options.seed ?? 0);
  const order = shuffled(Array.from({ length: n }, (_, i) => i), rand);
  const kept = new Set<number>();
  // Groups to cover: classes (multi-class), the two values (binary), positives of each label.
  const groups = new Map<number, number[]>();
  for (const i of order) {
    const y = labels[i]!;
    const keys = options.kind === "multiclass"
      ? [y[0]!]
      : options.kind === "binary"
      ? [y[0]!]
      : y.flatMap((v, j) => (v === 1 ? [j] : []));
    for (const key of keys) {
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(i);
    }
  }
  const covered = new Set<number>();
  for (const key of shuffled([...groups.keys()].sort((a, b) => a - b), rand)) {
    if (kept.size >= budget) break;
    if (covered.has(key)) continue;
    const pick = groups.get(key)![0]!;
    kept.add(pick);
    if (options.kind === "multilabel") {
      labels[pick]!.forEach((v, j) => v === 1 && covered.add(j));
    } else covered.add(key);
  }
  for (const i of order) {
    if (kept.size >= budget) break;
    kept.add(i);
  }
  return [...kept].sort((a, b) => a - b);
}
