/**
 * Event times as the API gives them — hours since admission or an ISO 8601 timestamp with a
 * zone — converted to hours since admission.
 *
 * @module
 */
import { ServiceError } from "./errors.ts";

/** ISO 8601 date-time with seconds optional and a zone required (no local-time guessing). */
const ISO_TIMESTAMP =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Milliseconds since the epoch of an ISO timestamp, or `undefined` when `text` is not one.
 *
 * @example
 * ```ts
 * import { parseIsoTimestamp } from "./time.ts";
 * if (parseIsoTimestamp("2024-01-01T01:00:00Z") !== Date.UTC(2024, 0, 1, 1)) throw new Error();
 * if (parseIsoTimestamp("2024-01-01 01:00") !== undefined) throw new Error(); // no zone
 * ```
 */
export function parseIsoTimestamp(text: string): number | undefined {
  if (!ISO_TIMESTAMP.test(text)) return undefined;
  const ms = Date.parse(text.replace(" ", "T"));
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Hours since admission of an event time (a finite number of hours, or an ISO timestamp).
 * Throws a 422 {@linkcode ServiceError} naming `field` otherwise.
 *
 * @example Both forms
 * ```ts
 * import { hoursSinceAdmission } from "./time.ts";
 * const admitted = Date.UTC(2024, 0, 1);
 * if (hoursSinceAdmission(2.5, admitted, "time") !== 2.5) throw new Error();
 * if (hoursSinceAdmission("2024-01-01T03:30:00Z", admitted, "time") !== 3.5) throw new Error();
 * ```
 */
export function hoursSinceAdmission(
  time: unknown,
  admittedAtMs: number,
  field: string,
): number {
  if (typeof time === "number") {
    if (Number.isFinite(time)) return time;
  } else if (typeof time === "string") {
    const ms = parseIsoTimestamp(time);
    if (ms !== undefined) return (ms - admittedAtMs) / 3_600_000;
  }
  throw new ServiceError(
    422,
    "invalid_time",
    `Time ${
      typeof time === "string" ? JSON.stringify(time) : String(time)
    } is neither a finite number of hours since admission nor an ISO 8601 timestamp with a zone`,
    { field },
  );
}
