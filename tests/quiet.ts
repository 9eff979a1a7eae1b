/**
 * Runs a function with `console.log` and `console.error` silenced (CLI entry points print
 * reports and progress), restoring them afterwards.
 *
 * @module
 */

/** `fn()` with the console's log and error output dropped. */
export async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const { log, error } = console;
  console.log = () => {};
  console.error = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.error = error;
  }
}
