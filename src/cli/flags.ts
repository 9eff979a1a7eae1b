/**
 * Numeric command-line flags, checked one way for every subcommand: an absent flag is
 * `undefined`; a blank, non-numeric or out-of-range value is a {@linkcode UsageError} naming
 * the flag, its bounds and the text given.
 *
 * @module
 */
import { UsageError } from "./usage_error.ts";

/** Bounds of a numeric flag (all inclusive except `above`). */
export interface FlagBounds {
  /** Smallest allowed value. */
  readonly min?: number;
  /** The value must be greater than this. */
  readonly above?: number;
  /** Largest allowed value. */
  readonly max?: number;
}

function parse(
  name: string,
  text: string | undefined,
  bounds: FlagBounds,
  integer: boolean,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  const ok = text.trim() !== "" && Number.isFinite(n) && (!integer || Number.isInteger(n)) &&
    (bounds.min === undefined || n >= bounds.min) &&
    (bounds.above === undefined || n > bounds.above) &&
    (bounds.max === undefined || n <= bounds.max);
  if (!ok) {
    const limits = [
      bounds.min === undefined ? "" : `>= ${bounds.min}`,
      bounds.above === undefined ? "" : `> ${bounds.above}`,
      bounds.max === undefined ? "" : `<= ${bounds.max}`,
    ].filter((s) => s !== "").join(" and ");
    throw new UsageError(
      `--${name} must be ${integer ? "an integer" : "a number"}${limits ? ` ${limits}` : ""}, got ${
        JSON.stringify(text)
      }`,
    );
  }
  return n;
}

/**
 * An integer flag within `bounds`, or `undefined` when the flag is absent.
 *
 * @example
 * ```ts
 * import { integerFlag } from "./flags.ts";
 * if (integerFlag("epochs", "3", { min: 1 }) !== 3) throw new Error();
 * if (integerFlag("epochs", undefined, { min: 1 }) !== undefined) throw new Error();
 * for (const bad of ["0", "2.5", "", " ", "x", "Infinity"]) {
 *   let refused = false;
 *   try {
 *     integerFlag("epochs", bad, { min: 1 });
 *   } catch {
 *     refused = true;
 *   }
 *   if (!refused) throw new Error(`accepted ${JSON.stringify(bad)}`);
 * }
 * ```
 */
export function integerFlag(
  name: string,
  text: string | undefined,
  bounds: FlagBounds = {},
): number | undefined {
  return parse(name, text, bounds, true);
}

/**
 * A finite number flag within `bounds`, or `undefined` when the flag is absent.
 *
 * @example
 * ```ts
 * import { numberFlag } from "./flags.ts";
 * if (numberFlag("label-fraction", "0.01", { above: 0, max: 1 }) !== 0.01) throw new Error();
 * let refused = false;
 * try {
 *   numberFlag("label-fraction", "0", { above: 0, max: 1 });
 * } catch (e) {
 *   refused = (e as Error).message === '--label-fraction must be a number > 0 and <= 1, got "0"';
 * }
 * if (!refused) throw new Error();
 * ```
 */
export function numberFlag(
  name: string,
  text: string | undefined,
  bounds: FlagBounds = {},
): number | undefined {
  return parse(name, text, bounds, false);
}
