/**
 * A progress bar on stderr for long table scans: redrawn in place (at most five times a second)
 * on a terminal, one line per 10% otherwise (CI logs), silent when disabled.
 *
 * @module
 */

/** Options for {@linkcode Progress}. */
export interface ProgressOptions {
  /**
   * Draw anything at all.
   * @default {true}
   */
  enabled?: boolean;
  /**
   * Unit word shown after the counts (`bytes` are shown in MB).
   * @default {"items"}
   */
  unit?: string;
}

const encoder = new TextEncoder();

/**
 * A progress bar over a known total.
 *
 * @example A silent bar
 * ```ts
 * import { Progress } from "./progress.ts";
 * const bar = new Progress("CHARTEVENTS", 100, { enabled: false });
 * bar.update(50);
 * bar.finish();
 * ```
 */
export class Progress {
  readonly #label: string;
  readonly #total: number;
  readonly #enabled: boolean;
  readonly #unit: string;
  readonly #tty: boolean;
  readonly #started = performance.now();
  #lastDraw = 0;
  #lastDecile = -1;
  #note = "";

  constructor(label: string, total: number, options: ProgressOptions = {}) {
    this.#label = label;
    this.#total = Math.max(0, total);
    this.#enabled = options.enabled ?? true;
    this.#unit = options.unit ?? "items";
    let tty = false;
    try {
      tty = Deno.stderr.isTerminal();
    } catch {
      tty = false;
    }
    this.#tty = tty;
  }

  /** Sets the amount done (and an optional short note such as a row count). */
  update(done: number, note = ""): void {
    if (!this.#enabled) return;
    this.#note = note;
    const fraction = this.#total > 0 ? Math.min(1, done / this.#total) : 1;
    if (this.#tty) {
      const now = performance.now();
      if (now - this.#lastDraw < 200 && fraction < 1) return;
      this.#lastDraw = now;
      this.#write(`\r${this.#line(fraction, done)}`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile <= this.#lastDecile) return;
      this.#lastDecile = decile;
      this.#write(`${this.#line(fraction, done)}\n`);
    }
  }

  /** Draws the final state and ends the line. */
  finish(note = this.#note): void {
    if (!this.#enabled) return;
    this.#note = note;
    const line = this.#line(1, this.#total);
    this.#write(this.#tty ? `\r${line}\n` : (this.#lastDecile < 10 ? `${line}\n` : ""));
    this.#lastDecile = 10;
  }

  #line(fraction: number, done: number): string {
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    const amount = this.#unit === "bytes"
      ? `${(done / 1e6).toFixed(1)}/${(this.#total / 1e6).toFixed(1)} MB`
      : `${done}/${this.#total} ${this.#unit}`;
    const note = this.#note === "" ? "" : ` ${this.#note}`;
    return `${this.#label.padEnd(16)} [${bar}] ${
      (fraction * 100).toFixed(0).padStart(3)
    }% ${amount}${note} ${seconds}s`;
  }

  #write(text: string): void {
    try {
      Deno.stderr.writeSync(encoder.encode(text));
    } catch {
      // A closed stderr must not stop an extraction.
    }
  }
}
