/**
 * `POST /v1/stays/:stayId/observations` in three forms, chosen by `Content-Type`:
 *
 * - `application/json`: a batch `{observations: [{time, channel, value, eventId?}]}`, stored
 *   all-or-nothing; the answer is the write result `{accepted, duplicates, predictions}`.
 *   A JSON body with a `resourceType` is read as FHIR.
 * - `application/fhir+json`: a FHIR R4 `Observation` or `Bundle` (see `src/features/fhir.ts`),
 *   stored all-or-nothing; the answer adds `skipped` (entered-in-error / cancelled resources).
 * - `application/x-ndjson`: one observation per line, processed as the lines arrive; the answer
 *   is a stream of one NDJSON line per input line, in order: `{line, accepted, duplicates,
 *   predictions}` for a stored line, `{line, status, error, detail, field?}` for a refused one
 *   (not stored; later lines still are), and a last `{done: true, lines, accepted, duplicates,
 *   errors}`. Blank lines are skipped. With an `Idempotency-Key` header K, line n is written
 *   with the key `K#n`, so a retried stream stores nothing twice.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { ServiceError } from "../src/session/errors.ts";
import type { ObservationInput } from "../src/session/types.ts";
import { REFERENCE_CONFIG } from "../src/features/discretizer_config.ts";
import { FeatureInputError } from "../src/features/errors.ts";
import { encodeObservation } from "../src/features/observation.ts";
import { fhirToObservations } from "../src/features/fhir.ts";
import { ObservationBatch, ObservationSchema } from "./schemas.ts";
import { describeError } from "./errors.ts";
import {
  idempotencyOf,
  mediaTypeOf,
  parseJsonText,
  type RouteDeps,
  stayIdOf,
  tooLarge,
  unsupportedType,
  writeOptionsOf,
} from "./deps.ts";

const ACCEPTED = ["application/json", "application/fhir+json", "application/x-ndjson"];

/**
 * Checks each observation's value against its channel with the discretizer's own encoder, so
 * a bad value is refused with its index before anything is stored.
 */
export function checkValues(observations: readonly ObservationInput[], prefix: string): void {
  observations.forEach((o, i) => {
    try {
      encodeObservation(REFERENCE_CONFIG, {
        hours: typeof o.time === "number" ? o.time : 0,
        channel: o.channel,
        value: o.value,
      });
    } catch (error) {
      if (!(error instanceof FeatureInputError)) throw error;
      const part = error.problem === "time_out_of_range"
        ? "time"
        : error.problem === "unknown_channel"
        ? "channel"
        : "value";
      throw new ServiceError(422, error.problem, error.message, {
        field: `${prefix}[${i}].${part}`,
        cause: error,
      });
    }
  });
}

function stripUndefined(o: z.infer<typeof ObservationSchema>): ObservationInput {
  return o.eventId === undefined
    ? { time: o.time, channel: o.channel, value: o.value }
    : { time: o.time, channel: o.channel, value: o.value, eventId: o.eventId };
}

/** Splits a byte stream into lines, enforcing a line and a total size limit. */
async function* readLines(
  body: ReadableStream<Uint8Array>,
  maxLine: number,
  maxTotal: number,
): AsyncGenerator<{ line: number; text: string | null; tooLarge?: "line" | "stream" }> {
  const decoder = new TextDecoder();
  let buffer = "";
  let line = 0;
  let total = 0;
  let skipping = false;
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (!done) {
        total += value.byteLength;
        if (total > maxTotal) {
          yield { line: line + 1, text: null, tooLarge: "stream" };
          return;
        }
      }
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (skipping) {
          skipping = false;
          continue;
        }
        line++;
        yield text.length > maxLine ? { line, text: null, tooLarge: "line" } : { line, text };
      }
      if (!skipping && buffer.length > maxLine) {
        line++;
        skipping = true;
        buffer = "";
        yield { line, text: null, tooLarge: "line" };
      } else if (skipping) {
        buffer = "";
      }
      if (done) {
        if (buffer !== "" && !skipping) yield { line: line + 1, text: buffer };
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function ndjsonStream(c: Context, deps: RouteDeps, stayId: string): Response {
  const body = c.req.raw.body;
  const { idempotencyKey } = idempotencyOf(c);
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const send = (o: unknown) => writer.write(encoder.encode(JSON.stringify(o) + "\n"));
  (async () => {
    let lines = 0, accepted = 0, duplicates = 0, errors = 0;
    try {
      if (body === null) return;
      for await (const item of readLines(body, deps.limits.ndjsonLine, deps.limits.ndjson)) {
        if (item.text !== null && item.text.trim() === "") continue;
        lines++;
        try {
          if (item.tooLarge === "stream") {
            throw new ServiceError(
              413,
              "payload_too_large",
              `The stream is larger than ${deps.limits.ndjson} bytes; stopped`,
            );
          }
          if (item.text === null) {
            throw new ServiceError(
              413,
              "line_too_large",
              `Line ${item.line} is longer than ${deps.limits.ndjsonLine} characters`,
            );
          }
          const obs = stripUndefined(ObservationSchema.parse(parseJsonText(item.text)));
          checkValues([obs], "observations");
          const result = await deps.service().addObservations(stayId, [obs], {
            signal: c.req.raw.signal,
            ...(idempotencyKey === undefined
              ? {}
              : { idempotencyKey: `${idempotencyKey}#${item.line}` }),
          });
          accepted += result.accepted;
          duplicates += result.duplicates;
          await send({ line: item.line, ...result });
        } catch (error) {
          errors++;
          const { status, body: e } = describeError(error);
          if (e.field?.startsWith("observations[0]")) {
            e.field = e.field.slice("observations[0].".length);
          }
          if (status >= 500 && status !== 503) {
            deps.log.error(`NDJSON line failed: ${(error as Error).name}`);
          }
          await send({ line: item.line, status, ...e });
          if (item.tooLarge === "stream") break;
        }
      }
      await send({ done: true, lines, accepted, duplicates, errors });
    } catch (error) {
      deps.log.warn(`NDJSON stream ended early: ${(error as Error).name}`);
    } finally {
      await writer.close().catch(() => {});
      await body?.cancel().catch(() => {});
    }
  })();
  return c.body(readable, 200, {
    "Content-Type": "application/x-ndjson; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
  });
}

/** The observation routes. */
export function observationRoutes(deps: RouteDeps): Hono {
  const app = new Hono();
  const limit = bodyLimit({ maxSize: deps.limits.json, onError: tooLarge(deps.limits.json) });

  app.post("/v1/stays/:stayId/observations", async (c, next) => {
    // NDJSON streams are limited line by line; JSON bodies as a whole.
    if (mediaTypeOf(c) === "application/x-ndjson") return await next();
    return await limit(c, next);
  }, async (c) => {
    const stayId = stayIdOf(c);
    const type = mediaTypeOf(c);
    if (!ACCEPTED.includes(type)) throw unsupportedType(type, ACCEPTED);
    const service = deps.service();
    if (type === "application/x-ndjson") {
      const length = Number(c.req.header("content-length") ?? 0);
      if (length > deps.limits.ndjson) tooLarge(deps.limits.ndjson)();
      await service.get(stayId); // 404 before the stream starts
      return ndjsonStream(c, deps, stayId);
    }
    const json = parseJsonText(await c.req.text());
    const isFhir = type === "application/fhir+json" ||
      (typeof json === "object" && json !== null && "resourceType" in json);
    if (isFhir) {
      const { observations, skipped } = fhirToObservations(json);
      const batch = z.array(ObservationSchema).max(10_000).parse(observations).map(stripUndefined);
      checkValues(batch, "observations");
      if (batch.length === 0) {
        await service.get(stayId);
        return c.json({ accepted: 0, duplicates: 0, skipped, predictions: [] });
      }
      const result = await service.addObservations(stayId, batch, writeOptionsOf(c));
      return c.json({ ...result, skipped });
    }
    const batch = ObservationBatch.parse(json).observations.map(stripUndefined);
    checkValues(batch, "observations");
    return c.json(await service.addObservations(stayId, batch, writeOptionsOf(c)));
  });

  return app;
}
