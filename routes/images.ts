/**
 * `POST /v1/stays/:stayId/images`: a chest X-ray as the raw body (`image/jpeg`, `image/png` or
 * `application/dicom`, at most 20 MB), with an optional `?time=` (hours since admission or an
 * ISO timestamp; default: the stay's latest observation time) and `?eventId=` (a repeated id is a
 * duplicate delivery and is ignored).
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { EventId, Time } from "./schemas.ts";
import {
  mediaTypeOf,
  type RouteDeps,
  stayIdOf,
  tooLarge,
  unsupportedType,
  writeOptionsOf,
} from "./deps.ts";
import { ServiceError } from "../src/session/errors.ts";
import { probeImage } from "../src/features/image/probe.ts";

/** Media types accepted for images. */
export const IMAGE_TYPES: readonly string[] = Object.freeze([
  "image/jpeg",
  "image/png",
  "application/dicom",
]);

/** Parses a `time` query value: a number of hours or an ISO timestamp (422 otherwise). */
export function parseTimeQuery(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const asNumber = /^[+-]?(\d+\.?\d*|\.\d+)$/.test(text.trim()) ? Number(text) : text;
  const parsed = Time.safeParse(asNumber);
  if (!parsed.success) {
    throw new ServiceError(
      422,
      "invalid_request",
      "time must be hours since admission (> -1) or an ISO 8601 date-time with a time zone",
      { field: "time" },
    );
  }
  return parsed.data;
}

/** Parses an `eventId` query value (400 when malformed). */
export function parseEventIdQuery(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const parsed = EventId.safeParse(text);
  if (!parsed.success) {
    throw new ServiceError(
      422,
      "invalid_request",
      "eventId must be 1-200 printable ASCII characters",
      { field: "eventId" },
    );
  }
  return parsed.data;
}

/** The image route. */
export function imageRoutes(deps: RouteDeps): Hono {
  const app = new Hono();
  app.post(
    "/v1/stays/:stayId/images",
    bodyLimit({ maxSize: deps.limits.image, onError: tooLarge(deps.limits.image) }),
    async (c) => {
      const stayId = stayIdOf(c);
      const type = mediaTypeOf(c);
      if (!IMAGE_TYPES.includes(type)) throw unsupportedType(type, IMAGE_TYPES);
      const time = parseTimeQuery(c.req.query("time"));
      const eventId = parseEventIdQuery(c.req.query("eventId"));
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      if (bytes.byteLength === 0) {
        throw new ServiceError(422, "empty_body", "The image body is empty");
      }
      // Refuse non-images and mismatched types from the header before anything is stored.
      probeImage(bytes, { mediaType: type });
      const result = await deps.service().addImage(stayId, bytes, {
        ...writeOptionsOf(c),
        mediaType: type,
        ...(time === undefined ? {} : { time }),
        ...(eventId === undefined ? {} : { eventId }),
      });
      return c.json(result);
    },
  );
  return app;
}
