/**
 * The one mapping of failures to HTTP: every error a route, a middleware or the domain code
 * throws becomes JSON `{error, detail, field?}` with its status here (`app.onError`).
 *
 * - {@linkcode ServiceError}: its status, code, message and field;
 * - zod errors: 422 `invalid_request`, `field` the path of the first issue (`observations[3].value`);
 * - `FeatureInputError`: 422 with its problem as the code, `field` the channel;
 * - `ImageInputError`: 415 for media-type problems, 413 for too-large images, 422 otherwise;
 * - `FhirInputError`: 422 `invalid_fhir` with the FHIR path;
 * - Hono's `HTTPException` (body limits): its status;
 * - anything else: 500 `internal`, logged with its route and class only (details at debug).
 *
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { routePath } from "hono/route";
import { z } from "zod";
import { ServiceError } from "../src/session/errors.ts";
import { FeatureInputError } from "../src/features/errors.ts";
import { ImageInputError } from "../src/features/image/errors.ts";
import { FhirInputError } from "../src/features/fhir.ts";
import type { Logger } from "./logger.ts";
import { RequestBodyTimeout } from "./http1.ts";

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: string;
  detail: string;
  field?: string;
}

/** A zod issue path as `a[0].b`. */
export function fieldPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Status, code, message and field of any thrown value. */
export function describeError(
  error: unknown,
): { status: number; body: ErrorBody } {
  if (error instanceof ServiceError) {
    return {
      status: error.status,
      body: {
        error: error.code,
        detail: error.message,
        ...(error.field === undefined ? {} : { field: error.field }),
      },
    };
  }
  if (error instanceof z.ZodError) {
    const issue = error.issues[0]!;
    const field = fieldPath(issue.path);
    const keys = issue.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")})` : "";
    return {
      status: 422,
      body: {
        error: "invalid_request",
        detail: `${field === "" ? "Body" : field}: ${issue.message}${keys}`,
        ...(field === "" ? {} : { field }),
      },
    };
  }
  if (error instanceof FeatureInputError) {
    return {
      status: 422,
      body: { error: error.problem, detail: error.message, field: error.channel },
    };
  }
  if (error instanceof ImageInputError) {
    const status = error.reason === "media_type" || error.reason === "not_an_image" ||
        error.reason === "unsupported"
      ? 415
      : error.reason === "too_large"
      ? 413
      : 422;
    return { status, body: { error: `image_${error.reason}`, detail: error.message } };
  }
  if (error instanceof FhirInputError) {
    return {
      status: 422,
      body: { error: "invalid_fhir", detail: error.message, field: error.field },
    };
  }
  if (error instanceof RequestBodyTimeout) {
    return { status: 408, body: { error: "request_timeout", detail: error.message } };
  }
  if (error instanceof HTTPException) {
    return {
      status: error.status,
      body: {
        error: error.status === 413 ? "payload_too_large" : "http_error",
        detail: error.message || "Request refused",
      },
    };
  }
  return { status: 500, body: { error: "internal", detail: "Internal server error" } };
}

/** The `app.onError` handler. */
export function errorHandler(log: Logger): (error: Error, c: Context) => Response {
  return (error, c) => {
    const { status, body } = describeError(error);
    if (status >= 500 && status !== 503) {
      // The message may quote request data: only its class above debug.
      log.error(`${c.req.method} ${routePath(c)} failed with ${error.name}`);
      log.debug(String(error.stack ?? error.message));
    }
    if (error instanceof ServiceError && error.retryAfter !== undefined) {
      c.header("Retry-After", String(error.retryAfter));
    }
    return c.json(body, status as 400);
  };
}

/** A 400 for a body that is not valid JSON. */
export function badJson(error: unknown): ServiceError {
  return new ServiceError(
    400,
    "invalid_json",
    `The body is not valid JSON: ${(error as Error).message}`,
  );
}
