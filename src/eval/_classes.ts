/**
 * Per-class confusion counts shared by F1, accuracy and Cohen's kappa (internal).
 *
 * @module
 */
import { checkClasses, checkSameLength, checkWeights, type Numbers } from "./_check.ts";

/** Sorted union of the classes in `a` and `b` (scikit-learn `unique_labels`). */
export function unionClasses(a: Numbers, b: Numbers): number[] {
  const set = new Set<number>();
  for (let i = 0; i < a.length; i++) set.add(a[i]!);
  for (let i = 0; i < b.length; i++) set.add(b[i]!);
  return [...set].sort((x, y) => x - y);
}

/** Validates a pair of class vectors (and weights). */
export function checkClassPair(
  yTrue: Numbers,
  yPred: Numbers,
  weights: Numbers | undefined,
  what: string,
): void {
  checkSameLength(yTrue, yPred, what);
  checkClasses(yTrue, what, "true class");
  checkClasses(yPred, what, "predicted class");
  checkWeights(weights, yTrue.length, what);
}

/**
 * The weighted confusion matrix over `classes` (row = true, column = predicted), row-major;
 * samples whose classes are not in `classes` are ignored.
 */
export function confusionMatrix(
  yTrue: Numbers,
  yPred: Numbers,
  classes: readonly number[],
  weights: Numbers | undefined,
): Float64Array {
  const n = classes.length;
  const index = new Map(classes.map((c, i) => [c, i]));
  const matrix = new Float64Array(n * n);
  for (let s = 0; s < yTrue.length; s++) {
    const i = index.get(yTrue[s]!);
    const j = index.get(yPred[s]!);
    if (i === undefined || j === undefined) continue;
    matrix[i * n + j]! += weights === undefined ? 1 : weights[s]!;
  }
  return matrix;
}
