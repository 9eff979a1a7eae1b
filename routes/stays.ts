/**
 * Stay lifecycle: `POST /v1/stays` (admit), `GET /v1/stays/:stayId`,
 * `POST /v1/stays/:stayId/discharge`.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AdmitBody, DischargeBody } from "./schemas.ts";
import {
  idempotencyOf,
  mediaTypeOf,
  parseJsonText,
  readJson,
  type RouteDeps,
  stayIdOf,
  tooLarge,
  unsupportedType,
} from "./deps.ts";

/** The stay routes. */
export function stayRoutes(deps: RouteDeps): Hono {
  const app = new Hono();
  const limit = bodyLimit({ maxSize: deps.limits.json, onError: tooLarge(deps.limits.json) });

  app.post("/v1/stays", limit, async (c) => {
    const type = mediaTypeOf(c);
    if (type !== "application/json") throw unsupportedType(type, ["application/json"]);
    const body = AdmitBody.parse(await readJson(c));
    const state = await deps.service().admit(body.stayId, {
      ...idempotencyOf(c),
      ...(body.admittedAt === undefined ? {} : { admittedAt: body.admittedAt }),
    });
    c.header("Location", `/v1/stays/${encodeURIComponent(state.stayId)}`);
    return c.json(state, 201);
  });

  app.get("/v1/stays/:stayId", async (c) => {
    return c.json(await deps.service().get(stayIdOf(c)));
  });

  app.post("/v1/stays/:stayId/discharge", limit, async (c) => {
    const stayId = stayIdOf(c);
    const text = await c.req.text();
    let at: string | undefined;
    if (text.trim() !== "") {
      const type = mediaTypeOf(c);
      if (type !== "application/json") throw unsupportedType(type, ["application/json"]);
      at = DischargeBody.parse(parseJsonText(text)).at;
    }
    const state = await deps.service().discharge(stayId, {
      ...idempotencyOf(c),
      ...(at === undefined ? {} : { at }),
    });
    return c.json(state);
  });

  return app;
}
