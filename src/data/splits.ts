/**
 * Seeded, reproducible train/val/test assignment by patient (or by record), so that no patient
 * appears in two splits. The same ids and seed always give the same assignment, whatever order
 * the ids come in.
 *
 * @module
 */
import { seededRandom } from "./random.ts";
import type { Split } from "./tasks.ts";

/** The seed used by the importers unless told otherwise. */
export const DEFAULT_SPLIT_SEED = 42;

/** Options for {@linkcode assignSplits}. */
export interface SplitOptions {
  /**
   * Seed of the shuffle.
   * @default {42}
   */
  seed?: number;
  /**
   * Fractions of ids in val and test; the rest is train. Counts are rounded down, as in the
   * reference pipeline (`int(n * 0.2)` test, `int(n * 0.1)` val).
   * @default {{ val: 0.1, test: 0.2 }}
   */
  fractions?: { val: number; test: number };
}

/**
 * Assigns each distinct id to a split: ids are sorted (numerically when all are numbers), then
 * shuffled with the seed; the first `floor(n * test)` go to test, the next `floor(n * val)` to
 * val, the rest to train.
 *
 * @example 70/10/20 over ten patients
 * ```ts
 * import { assignSplits } from "./splits.ts";
 * const splits = assignSplits(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
 * const counts = { train: 0, val: 0, test: 0 };
 * for (const s of splits.values()) counts[s]++;
 * if (counts.train !== 7 || counts.val !== 1 || counts.test !== 2) throw new Error();
 * ```
 */
export function assignSplits(
  ids: Iterable<string | number>,
  options: SplitOptions = {},
): Map<string, Split> {
  const fractions = options.fractions ?? { val: 0.1, test: 0.2 };
  if (
    !(fractions.val >= 0 && fractions.test >= 0 && fractions.val + fractions.test <= 1)
  ) {
    throw new RangeError(
      `Split fractions must be non-negative and sum to at most 1, got val ${fractions.val} and test ${fractions.test}`,
    );
  }
  const unique = [...new Set([...ids].map(String))];
  const numeric = unique.every((id) => /^\d+$/.test(id));
  unique.sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
  const random = seededRandom(options.seed ?? DEFAULT_SPLIT_SEED);
  for (let i = unique.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [unique[i], unique[j]] = [unique[j]!, unique[i]!];
  }
  const nTest = Math.floor(unique.length * fractions.test);
  const nVal = Math.floor(unique.length * fractions.val);
  const result = new Map<string, Split>();
  unique.forEach((id, i) =>
    result.set(id, i < nTest ? "test" : i < nTest + nVal ? "val" : "train")
  );
  return result;
}
