/**
 * The one domain error the HTTP layer maps to a status code.
 *
 * @module
 */

/** Status codes domain code may ask for. */
export type ServiceStatus = 400 | 401 | 404 | 409 | 413 | 415 | 422 | 429 | 499 | 503;

/**
 * A request-time failure with an HTTP status, a short code, a message and optionally the
 * offending field (`observations[3].value`).
 *
 * @example Not found
 * ```ts
 * import { ServiceError } from "./errors.ts";
 * const e = new ServiceError(404, "stay_not_found", 'Stay "s1" does not exist');
 * if (e.status !== 404) throw new Error();
 * ```
 */
export class ServiceError extends Error {
  readonly status: ServiceStatus;
  readonly code: string;
  readonly field: string | undefined;
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  readonly retryAfter: number | undefined;

  constructor(
    status: ServiceStatus,
    code: string,
    message: string,
    options: { field?: string; cause?: unknown; retryAfter?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ServiceError";
    this.status = status;
    this.code = code;
    this.field = options.field;
    this.retryAfter = options.retryAfter;
  }
}
