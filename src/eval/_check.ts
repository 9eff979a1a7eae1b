/**
 * Shared input checks of the metric functions (internal).
 *
 * @module
 */

/** Numbers indexed like an array (plain arrays and typed arrays). */
export type Numbers = ArrayLike<number>;

/** Throws a `TypeError` unless `a` and `b` have the same length. */
export function checkSameLength(a: Numbers, b: Numbers, what: string): void {
  if (a.length !== b.length) {
    throw new TypeError(`Cannot compute ${what}: ${a.length} labels but ${b.length} predictions`);
  }
}

/** Throws unless every label is 0 or 1 and every score is finite. */
export function checkBinary(labels: Numbers, scores: Numbers, what: string): void {
  checkSameLength(labels, scores, what);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y !== 0 && y !== 1) {
      throw new RangeError(`Cannot compute ${what}: label ${y} at index ${i} is not 0 or 1`);
    }
    if (!Number.isFinite(scores[i]!)) {
      throw new RangeError(
        `Cannot compute ${what}: score ${scores[i]} at index ${i} is not finite`,
      );
    }
  }
}

/** Throws unless the sample weights (when given) match `n` and are finite and non-negative. */
export function checkWeights(weights: Numbers | undefined, n: number, what: string): void {
  if (weights === undefined) return;
  if (weights.length !== n) {
    throw new TypeError(
      `Cannot compute ${what}: ${weights.length} sample weights for ${n} samples`,
    );
  }
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(w >= 0) || !Number.isFinite(w)) {
      throw new RangeError(`Cannot compute ${what}: sample weight ${w} at index ${i} is invalid`);
    }
  }
}

/** Throws unless every class label is an integer. */
export function checkClasses(values: Numbers, what: string, role: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isInteger(values[i]!)) {
      throw new RangeError(
        `Cannot compute ${what}: ${role} ${values[i]} at index ${i} is not an integer class`,
      );
    }
  }
}
