/**
 * `POST /v1/stays/:stayId/notes`: a clinical note as `text/plain` (with an optional `?time=`)
 * or JSON `{text, time?, eventId?}` (`?time=` and `?eventId=` work for both); at most 1 MB. The service extracts the section the model reads.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { NoteBody } from "./schemas.ts";
import { parseEventIdQuery, parseTimeQuery } from "./images.ts";
import {
  mediaTypeOf,
  readJson,
  type RouteDeps,
  stayIdOf,
  tooLarge,
  unsupportedType,
  writeOptionsOf,
} from "./deps.ts";
import { ServiceError } from "../src/session/errors.ts";

/** The note route. */
export function noteRoutes(deps: RouteDeps): Hono {
  const app = new Hono();
  app.post(
    "/v1/stays/:stayId/notes",
    bodyLimit({ maxSize: deps.limits.json, onError: tooLarge(deps.limits.json) }),
    async (c) => {
      const stayId = stayIdOf(c);
      const type = mediaTypeOf(c);
      let text: string;
      let time: number | string | undefined;
      let eventId = parseEventIdQuery(c.req.query("eventId"));
      if (type === "text/plain") {
        text = await c.req.text();
        time = parseTimeQuery(c.req.query("time"));
        if (text.trim() === "") throw new ServiceError(422, "empty_body", "The note is empty");
      } else if (type === "application/json") {
        const body = NoteBody.parse(await readJson(c));
        text = body.text;
        time = body.time ?? parseTimeQuery(c.req.query("time"));
        eventId = body.eventId ?? eventId;
      } else {
        throw unsupportedType(type, ["text/plain", "application/json"]);
      }
      const result = await deps.service().addNote(stayId, text, {
        ...writeOptionsOf(c),
        ...(time === undefined ? {} : { time }),
        ...(eventId === undefined ? {} : { eventId }),
      });
      return c.json(result);
    },
  );
  return app;
}
