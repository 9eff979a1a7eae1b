/**
 * Stay lifecycle: `POST /v1/stays` (admit), `GET /v1/stays/:stayId`,
 * `POST /v1/stays/:stayId/discharge`.
 *
 * @module
 */
import type { StayStatics } from "../src/model/statics.ts";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AdmitBody, DischargeBody } from "./schemas.ts";
import type { OutcomeInput } from "../src/online/outcome.ts";
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

/** The statics fields of a body, or undefined when it has none. */
export function staticsOf(
  body: { unit?: string | undefined; age?: number | undefined; sex?: "F" | "M" | undefined },
): StayStatics | undefined {
  const s = {
    ...(body.unit === undefined ? {} : { unit: body.unit }),
    ...(body.age === undefined ? {} : { age: body.age }),
    ...(body.sex === undefined ? {} : { sex: body.sex }),
  };
  return Object.keys(s).length === 0 ? undefined : s;
}

/** The stay routes. */
export function stayRoutes(deps: RouteDeps): Hono {
  const app = new Hono();
  const limit = bodyLimit({ maxSize: deps.limits.json, onError: tooLarge(deps.limits.json) });

  app.post("/v1/stays", limit, async (c) => {
    const type = mediaTypeOf(c);
    if (type !== "application/json") throw unsupportedType(type, ["application/json"]);
    const body = AdmitBody.parse(await readJson(c));
    const statics = staticsOf(body);
    const state = await deps.service().admit(body.stayId, {
      ...idempotencyOf(c),
      ...(body.admittedAt === undefined ? {} : { admittedAt: body.admittedAt }),
      ...(statics === undefined ? {} : { statics }),
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
    let outcome: OutcomeInput | undefined;
    if (text.trim() !== "") {
      const type = mediaTypeOf(c);
      if (type !== "application/json") throw unsupportedType(type, ["application/json"]);
      const body = DischargeBody.parse(parseJsonText(text));
      at = body.at;
      outcome = body.outcome as OutcomeInput | undefined;
    }
    const service = deps.service();
    if (outcome !== undefined) {
      // Checked before the discharge, so a bad outcome leaves the stay as it was.
      const learner = deps.online();
      const stay = await service.get(stayId);
      learner.check(stayId, stay.admittedAt, outcome);
    }
    const state = await service.discharge(stayId, {
      ...idempotencyOf(c),
      ...(at === undefined ? {} : { at }),
    });
    if (outcome === undefined) return c.json(state);
    const result = deps.online().addOutcome(stayId, state.admittedAt, {
      ...outcome,
      dischargeTime: outcome.dischargeTime ?? state.dischargedAt ?? undefined,
    } as OutcomeInput);
    return c.json({ ...state, outcome: result.outcome, labelled: result.labelled });
  });

  return app;
}
