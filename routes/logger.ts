/**
 * A levelled logger. Request logs at `info` carry the route pattern, status and time only: no
 * stay ids, values or note text; those appear only at `debug`.
 *
 * @module
 */

/** Log levels, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** The logger used by the app. */
export interface Logger {
  readonly level: LogLevel;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * A logger writing lines to `sink` (stderr by default) at `level` and above.
 *
 * @example Only warnings and errors
 * ```ts
 * import { createLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = createLogger("warn", (line) => lines.push(line));
 * log.info("hidden");
 * log.warn("shown");
 * if (lines.length !== 1 || !lines[0]!.includes("shown")) throw new Error();
 * ```
 */
export function createLogger(
  level: LogLevel = "info",
  sink: (line: string) => void = (line) => console.error(line),
): Logger {
  if (!(level in ORDER)) throw new TypeError(`Unknown log level ${JSON.stringify(level)}`);
  const at = (l: LogLevel) => (message: string) => {
    if (ORDER[l] >= ORDER[level]) sink(`${new Date().toISOString()} ${l} ${message}`);
  };
  return Object.freeze({
    level,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  });
}
