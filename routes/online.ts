/**
 * Online fine-tuning over HTTP:
 *
 * - `POST /v1/stays/:stayId/outcomes`: what became known about a stay (death and its time,
 *   the end of the stay, labels of served tasks); idempotent with `eventId`; 422 naming the
 *   field for an unknown task, a label of the wrong kind or a time before admission, 409 for a
 *   value that contradicts one recorded. `GET` gives the stay's known outcome
 *   and its kept predictions (task, hour) with the label derived for each.
 * - `GET /v1/online`: the change control plan, every head's versions, incumbent, candidate,
 *   last shadow evaluation and drift.
 * - `GET /v1/online/:task/evaluations?after=&limit=`: the prequential log (frozen base head,
 *   incumbent and candidate on each newly labelled sample, before any trained on it).
 * - `GET /v1/online/changelog?after=` (`Accept: application/x-ndjson` for an export): every
 *   candidate, promotion, refusal and rollback with its evidence.
 * - `POST /v1/heads/:task/promote` and `/rollback` (`{by, version?, reason?}`): a person's
 *   override, within the plan (a promotion it forbids is 409 and logged).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { HeadDecisionBody, OutcomeBody } from "./schemas.ts";
import {
  mediaTypeOf,
  readJson,
  type RouteDeps,
  stayIdOf,
  tooLarge,
  unsupportedType,
} from "./deps.ts";
import type { OutcomeInput } from "../src/online/outcome.ts";
import { ServiceError } from "../src/session/errors.ts";

const After = z.coerce.number().int().gte(0).max(Number.MAX_SAFE_INTEGER);
const Limit = z.coerce.number().int().gte(1).max(100_000);

function taskOf(c: { req: { param(name: string): string | undefined } }): string {
  const task = c.req.param("task") ?? "";
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(task)) {
    throw new ServiceError(400, "invalid_task", "Task codes are 1-32 letters, digits, _ or -", {
      field: "task",
    });
  }
  return task;
}

function query<T>(schema: z.ZodType<T>, value: string | undefined, field: string, fallback: T): T {
  if (value === undefined) return fallback;
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new ServiceError(422, "invalid_request", `${field} must be a non-negative integer`, {
      field,
    });
  }
  return r.data;
}

/** The online fine-tuning routes. */
export function onlineRoutes(deps: RouteDeps): Hono {
  const app = new Hono();
  const limit = bodyLimit({ maxSize: deps.limits.json, onError: tooLarge(deps.limits.json) });
  // deno-lint-ignore no-explicit-any
  const json = async (c: Context<any, any, any>) => {
    const type = mediaTypeOf(c);
    if (type !== "application/json") throw unsupportedType(type, ["application/json"]);
    return await readJson(c);
  };

  app.post("/v1/stays/:stayId/outcomes", limit, async (c) => {
    const stayId = stayIdOf(c);
    const body = OutcomeBody.parse(await json(c)) as OutcomeInput;
    const learner = deps.online();
    const stay = await deps.service().get(stayId);
    const result = learner.addOutcome(stayId, stay.admittedAt, body);
    return c.json(result, result.duplicate ? 200 : 201);
  });

  app.get("/v1/stays/:stayId/outcomes", async (c) => {
    const stayId = stayIdOf(c);
    await deps.service().get(stayId);
    const learner = deps.online();
    return c.json({ stayId, outcome: learner.outcome(stayId), samples: learner.samples(stayId) });
  });

  app.get("/v1/online", (c) => c.json(deps.online().describe()));

  app.get("/v1/online/changelog", (c) => {
    const after = query(After, c.req.query("after"), "after", 0);
    const changes = deps.online().changes(after);
    if ((c.req.header("accept") ?? "").includes("application/x-ndjson")) {
      return c.body(
        changes.map((r) => JSON.stringify(r)).join("\n") + (changes.length ? "\n" : ""),
        200,
        {
          "content-type": "application/x-ndjson",
        },
      );
    }
    return c.json({ changes });
  });

  app.get("/v1/online/:task/evaluations", (c) => {
    const task = taskOf(c);
    const after = query(After, c.req.query("after"), "after", 0);
    const max = query(Limit, c.req.query("limit"), "limit", 10_000);
    return c.json({ task, evaluations: deps.online().evaluations(task, after, max) });
  });

  for (const action of ["promote", "rollback"] as const) {
    app.post(`/v1/heads/:task/${action}`, limit, async (c) => {
      const task = taskOf(c);
      const body = HeadDecisionBody.parse(await json(c));
      const learner = deps.online();
      const actor = `person:${body.by}`;
      const out = action === "promote"
        ? learner.promote(task, actor, body.version, body.reason)
        : learner.rollback(task, actor, body.version, body.reason);
      return c.json(out);
    });
  }
  return app;
}
