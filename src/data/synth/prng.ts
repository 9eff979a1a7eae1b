/**
 * The seeded pseudo-random generator of the synthetic cohort: sfc32 (a small, fast 128-bit
 * state generator) seeded through a string hash, with named sub-streams so that each stay,
 * image and note draws from its own stream and the output does not depend on generation order.
 * `Math.random` is never used.
 *
 * @module
 */
import { hashString32 } from "../random.ts";

/**
 * A deterministic random stream. Create one with {@linkcode createPrng}; derive independent
 * streams with {@linkcode Prng.fork}.
 *
 * @example Same seed, same numbers
 * ```ts
 * import { createPrng } from "./prng.ts";
 * const a = createPrng(7), b = createPrng(7);
 * if (a.next() !== b.next() || a.fork("stay", 3).normal() !== b.fork("stay", 3).normal()) {
 *   throw new Error("not deterministic");
 * }
 * ```
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare: number | null = null;
  readonly #key: string;

  /** Seeds the stream from a key string (use {@linkcode createPrng}). */
  constructor(key: string) {
    this.#key = key;
    this.#a = hashString32(`a:${key}`);
    this.#b = hashString32(`b:${key}`);
    this.#c = hashString32(`c:${key}`);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform number in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An independent stream named by labels (same labels, same stream). */
  fork(...labels: (string | number)[]): Prng {
    return new Prng(`${this.#key}/${labels.join("/")}`);
  }

  /** A uniform number in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A uniform integer in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** A normal deviate (Box-Muller). */
  normal(mean = 0, sd = 1): number {
    if (this.#spare !== null) {
      const z = this.#spare;
      this.#spare = null;
      return mean + sd * z;
    }
    let u = this.next();
    while (u <= 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A Poisson count (Knuth's method; fine for the small means used here). */
  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Cannot pick from an empty list");
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An index drawn with probability proportional to `weights`. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** `n` lower-case hexadecimal digits. */
  hex(n: number): string {
    let out = "";
    while (out.length < n) out += Math.floor(this.next() * 65536).toString(16).padStart(4, "0");
    return out.slice(0, n);
  }
}

/**
 * Creates the root stream for a seed.
 *
 * @example Different seeds differ
 * ```ts
 * import { createPrng } from "./prng.ts";
 * if (createPrng(1).next() === createPrng(2).next()) throw new Error();
 * ```
 */
export function createPrng(seed: number | string): Prng {
  return new Prng(`flexcare-synth:${seed}`);
}
