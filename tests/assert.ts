/**
 * Test assertions (JSR's `@std/assert` is unreachable here): thin typed wrappers over
 * `node:assert/strict`.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Asserts that `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

/** Asserts deep strict equality. */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Asserts deep strict inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, message);
}

/** Asserts `|actual - expected| <= tolerance`. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  message?: string,
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new nodeAssert.AssertionError({
      message: message ?? `Expected ${actual} to be within ${tolerance} of ${expected}`,
      actual,
      expected,
    });
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = new (...args: any[]) => E;

function checkError<E extends Error>(
  error: unknown,
  ErrorType?: ErrorClass<E>,
  includes?: string,
): E {
  if (ErrorType && !(error instanceof ErrorType)) {
    throw new nodeAssert.AssertionError({
      message: `Expected error of type ${ErrorType.name}, got ${
        error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      }`,
    });
  }
  if (includes !== undefined && !String((error as Error)?.message).includes(includes)) {
    throw new nodeAssert.AssertionError({
      message: `Expected error message to include ${JSON.stringify(includes)}, got ${
        JSON.stringify((error as Error)?.message)
      }`,
    });
  }
  return error as E;
}

/** Asserts that `fn` throws (an instance of `ErrorType`, with `includes` in its message). */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorType?: ErrorClass<E>,
  includes?: string,
): E {
  try {
    fn();
  } catch (error) {
    return checkError(error, ErrorType, includes);
  }
  throw new nodeAssert.AssertionError({ message: "Expected function to throw" });
}

/** Asserts that the promise returned by `fn` rejects. */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorType?: ErrorClass<E>,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, ErrorType, includes);
  }
  throw new nodeAssert.AssertionError({ message: "Expected promise to reject" });
}

/** Largest absolute difference of two equally long arrays (throws when the lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
