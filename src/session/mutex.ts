/**
 * Per-key serialization: a promise chain per key, so writes to one stay run one after another
 * while different stays run concurrently.
 *
 * @module
 */

/**
 * Runs tasks one at a time per key, in call order; tasks of different keys interleave freely.
 * A failing task does not block the ones queued after it.
 *
 * @example Two writes to one key never overlap
 * ```ts
 * import { KeyedMutex } from "./mutex.ts";
 * const mutex = new KeyedMutex();
 * const order: string[] = [];
 * const slow = mutex.run("s1", async () => {
 *   await new Promise((r) => setTimeout(r, 5));
 *   order.push("first");
 * });
 * const fast = mutex.run("s1", () => {
 *   order.push("second");
 *   return Promise.resolve();
 * });
 * await Promise.all([slow, fast]);
 * if (order.join() !== "first,second" || mutex.locked("s1")) throw new Error(order.join());
 * ```
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #pending = new Map<string, number>();

  /** Whether a task of `key` is running or queued. */
  locked(key: string): boolean {
    return (this.#pending.get(key) ?? 0) > 0;
  }

  /** Number of tasks of `key` queued behind the running one. */
  waiting(key: string): number {
    return Math.max(0, (this.#pending.get(key) ?? 0) - 1);
  }

  /** Number of keys with running or queued tasks. */
  get size(): number {
    return this.#pending.size;
  }

  /** Queues `task` behind every earlier task of `key` and returns its result. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail: Promise<void> = result.then(
      () => this.#release(key, tail),
      () => this.#release(key, tail),
    );
    this.#tails.set(key, tail);
    return result;
  }

  /** Resolves once every task queued so far (all keys) has settled. */
  async drain(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()]);
  }

  #release(key: string, tail: Promise<unknown>): void {
    const left = (this.#pending.get(key) ?? 1) - 1;
    if (left > 0) {
      this.#pending.set(key, left);
      return;
    }
    this.#pending.delete(key);
    if (this.#tails.get(key) === tail) this.#tails.delete(key);
  }
}
