/**
 * `GET /openapi.json` (OpenAPI 3.1: request bodies generated from the zod schemas with
 * `z.toJSONSchema`, responses written here) and `GET /docs` (a self-contained page that renders
 * the document; no CDN).
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  AdmitBody,
  DischargeBody,
  HeadDecisionBody,
  NoteBody,
  ObservationBatch,
  ObservationSchema,
  OutcomeBody,
  PredictBody,
} from "./schemas.ts";

type Json = Record<string, unknown>;

function schema(s: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(s, {
    io: "input",
    unrepresentable: "any",
  }) as Json;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (s: Json) => ({ "application/json": { schema: s } });
const ERRORS = [400, 401, 404, 408, 409, 413, 415, 422, 429, 503];

const ERROR_TEXT: Record<number, string> = {
  408:
    "The request body did not arrive within the body timeout (default 30 s); the connection closes",
  429: "Rate limit; `Retry-After` says when to retry",
  503:
    "Not ready yet (model loading), or `overloaded`: too many steps are queued. Nothing was stored; retry the same request (same event ids or Idempotency-Key) after `Retry-After` seconds",
};

function errors(...codes: number[]): Json {
  const out: Json = {};
  for (const code of codes.length ? codes : ERRORS) {
    out[String(code)] = {
      description: ERROR_TEXT[code] ?? "Error",
      content: json(ref("Error")),
    };
  }
  return out;
}

const STAY = {
  name: "stayId",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$" },
};
const TASK = {
  name: "task",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,32}$" },
};
const IDEMPOTENCY = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "A repeated key returns the first result and writes nothing",
  schema: { type: "string", maxLength: 200 },
};
const EVENT_ID_QUERY = {
  name: "eventId",
  in: "query",
  required: false,
  description: "Client event id; a repeated id is a duplicate delivery and is ignored",
  schema: { type: "string", maxLength: 200 },
};
const TIME_QUERY = {
  name: "time",
  in: "query",
  required: false,
  description: "Hours since admission or an ISO 8601 date-time with a zone",
  schema: { type: "string" },
};

function op(summary: string, extra: Json): Json {
  return { summary, ...extra };
}

/** Builds the OpenAPI document. */
export function openApiDocument(version: string): Json {
  const write = {
    "200": {
      description: "Stored; the predictions the write produced",
      content: json(ref("WriteResult")),
    },
    ...errors(),
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "flexcare",
      version,
      description:
        "Streaming ICU monitoring with FlexCare: per-stay sessions, decompensation and length-of-stay predictions at every step.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error", "detail"],
          properties: {
            error: { type: "string" },
            detail: { type: "string" },
            field: { type: "string" },
          },
        },
        Observation: schema(ObservationSchema),
        ObservationBatch: schema(ObservationBatch),
        AdmitBody: schema(AdmitBody),
        DischargeBody: schema(DischargeBody),
        OutcomeBody: schema(OutcomeBody),
        HeadDecisionBody: schema(HeadDecisionBody),
        NoteBody: schema(NoteBody),
        PredictBody: schema(PredictBody),
        StayState: {
          type: "object",
          properties: {
            stayId: { type: "string" },
            admittedAt: { type: "string", format: "date-time" },
            status: { enum: ["active", "discharged"] },
            dischargedAt: { type: ["string", "null"] },
            observations: { type: "integer" },
            images: { type: "integer" },
            notes: { type: "integer" },
            lastPredictionHours: { type: ["number", "null"] },
          },
        },
        Prediction: {
          type: "object",
          required: ["task", "hours", "modalities", "fusionWeights", "model", "backend"],
          properties: {
            stayId: { type: "string" },
            seq: { type: "integer" },
            task: { type: "string" },
            hours: { type: "number" },
            probability: { type: "number" },
            probabilities: { type: "array", items: { type: "number" } },
            distribution: { type: "array", items: { type: "number" } },
            labels: {
              type: "array",
              items: { type: "string" },
              description: "Fine-tuned multi-label and multi-class heads: the label names",
            },
            expectedRemainingDays: { type: "number" },
            news2: { type: "integer" },
            modalities: {
              type: "object",
              properties: {
                timeseries: { type: "boolean" },
                image: { type: "boolean" },
                note: { type: "boolean" },
              },
            },
            fusionWeights: { type: "object", additionalProperties: { type: "number" } },
            model: {
              type: "object",
              properties: { name: { type: "string" }, version: { type: "string" } },
            },
            backend: { type: "string" },
            createdAt: { type: "string", format: "date-time" },
          },
        },
        WriteResult: {
          type: "object",
          properties: {
            accepted: { type: "integer" },
            duplicates: { type: "integer" },
            skipped: { type: "integer", description: "FHIR resources skipped for their status" },
            predictions: { type: "array", items: ref("Prediction") },
            recomputing: {
              type: "array",
              items: { type: "number" },
              description:
                "Present when late data (an image, a note or an out-of-order observation) changed hours already published: those prediction times (hours since admission) are recomputed once per stay after this answer, with later writes of the same burst, and the new predictions follow on SSE and GET /predictions with higher seq. `predictions` then holds only the on-time steps.",
            },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      "/v1/stays": {
        post: op("Admit a stay", {
          parameters: [IDEMPOTENCY],
          requestBody: { required: true, content: json(ref("AdmitBody")) },
          responses: {
            "201": { description: "Admitted", content: json(ref("StayState")) },
            ...errors(),
          },
        }),
      },
      "/v1/stays/{stayId}": {
        get: op("A stay's state", {
          parameters: [STAY],
          responses: {
            "200": { description: "State", content: json(ref("StayState")) },
            ...errors(),
          },
        }),
      },
      "/v1/stays/{stayId}/discharge": {
        post: op("Discharge a stay (its data is kept for the retention time)", {
          parameters: [STAY, IDEMPOTENCY],
          requestBody: { required: false, content: json(ref("DischargeBody")) },
          responses: {
            "200": { description: "Discharged", content: json(ref("StayState")) },
            ...errors(),
          },
        }),
      },
      "/v1/stays/{stayId}/observations": {
        post: op("Add observations: JSON batch, FHIR R4 Observation/Bundle, or an NDJSON stream", {
          description:
            "application/json: {observations:[...]}, all-or-nothing. application/fhir+json: an Observation or a Bundle (LOINC codes, UCUM units). application/x-ndjson: one observation per line; the answer streams one NDJSON line per input line ({line, accepted, duplicates, predictions} or {line, status, error, detail, field?}; a refused line is not stored) and a final {done, lines, accepted, duplicates, errors}.",
          parameters: [STAY, IDEMPOTENCY],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: ref("ObservationBatch") },
              "application/fhir+json": {
                schema: { type: "object", description: "FHIR R4 Observation or Bundle" },
              },
              "application/x-ndjson": { schema: ref("Observation") },
            },
          },
          responses: {
            "200": {
              description: "Stored (JSON/FHIR) or the per-line stream (NDJSON)",
              content: {
                ...json(ref("WriteResult")),
                "application/x-ndjson": { schema: { type: "object" } },
              },
            },
            ...errors(),
          },
        }),
      },
      "/v1/stays/{stayId}/images": {
        post: op("Add a chest X-ray (at most 20 MB)", {
          parameters: [STAY, TIME_QUERY, EVENT_ID_QUERY, IDEMPOTENCY],
          requestBody: {
            required: true,
            content: {
              "image/jpeg": { schema: { type: "string", format: "binary" } },
              "image/png": { schema: { type: "string", format: "binary" } },
              "application/dicom": { schema: { type: "string", format: "binary" } },
            },
          },
          responses: write,
        }),
      },
      "/v1/stays/{stayId}/notes": {
        post: op("Add a clinical note", {
          parameters: [STAY, TIME_QUERY, EVENT_ID_QUERY, IDEMPOTENCY],
          requestBody: {
            required: true,
            content: { "text/plain": { schema: { type: "string" } }, ...json(ref("NoteBody")) },
          },
          responses: write,
        }),
      },
      "/v1/stays/{stayId}/predictions": {
        get: op("Stored predictions with seq > since", {
          parameters: [STAY, {
            name: "since",
            in: "query",
            required: false,
            schema: { type: "integer", minimum: 0 },
          }],
          responses: {
            "200": {
              description: "History",
              content: json({
                type: "object",
                properties: {
                  stayId: { type: "string" },
                  predictions: { type: "array", items: ref("Prediction") },
                },
              }),
            },
            ...errors(),
          },
        }),
      },
      "/v1/stays/{stayId}/stream": {
        get: op("Server-Sent Events: every new prediction (id = seq; Last-Event-ID resumes)", {
          parameters: [
            STAY,
            { name: "Last-Event-ID", in: "header", required: false, schema: { type: "integer" } },
            {
              name: "since",
              in: "query",
              required: false,
              schema: { type: "integer", minimum: 0 },
            },
          ],
          responses: {
            "200": {
              description: "event: ready, then event: prediction",
              content: { "text/event-stream": { schema: { type: "string" } } },
            },
            ...errors(),
          },
        }),
      },
      "/v1/predict": {
        post: op("Stateless one-shot prediction, every input in the request", {
          requestBody: { required: true, content: json(ref("PredictBody")) },
          responses: {
            "200": {
              description: "Predictions (without stayId and seq)",
              content: json({
                type: "object",
                properties: { predictions: { type: "array", items: ref("Prediction") } },
              }),
            },
            ...errors(),
          },
        }),
      },
      "/v1/models/reload": {
        post: op("Reload the fine-tuned heads folder without a restart", {
          responses: {
            "200": {
              description: "The heads now served, and those refused with the reason",
              content: json({
                type: "object",
                properties: {
                  heads: { type: "array", items: { type: "object" } },
                  refused: {
                    type: "array",
                    items: {
                      type: "object",
                      properties: { name: { type: "string" }, reason: { type: "string" } },
                    },
                  },
                },
              }),
            },
            ...errors(401, 409, 429, 503),
          },
        }),
      },
      "/v1/stays/{stayId}/outcomes": {
        post: op("Record what became known (death and its time, the stay's end, task labels)", {
          parameters: [STAY],
          requestBody: { required: true, content: json(ref("OutcomeBody")) },
          responses: {
            "201": {
              description: "Recorded; the stay's predictions labelled",
              content: json({ type: "object" }),
            },
            "200": {
              description: "A repeated eventId: the first answer",
              content: json({ type: "object" }),
            },
            ...errors(400, 401, 404, 409, 413, 415, 422, 503),
          },
        }),
        get: op("The stay's known outcome and its kept predictions with their labels", {
          parameters: [STAY],
          responses: {
            "200": { description: "Outcome", content: json({ type: "object" }) },
            ...errors(401, 404, 503),
          },
        }),
      },
      "/v1/online": {
        get: op(
          "Online fine-tuning: the change control plan, head versions, incumbents, candidates, drift",
          {
            responses: {
              "200": { description: "State", content: json({ type: "object" }) },
              ...errors(401, 503),
            },
          },
        ),
      },
      "/v1/online/changelog": {
        get: op(
          "Every candidate, promotion, refusal and rollback with its evidence (NDJSON with Accept: application/x-ndjson)",
          {
            parameters: [{
              name: "after",
              in: "query",
              required: false,
              schema: { type: "integer", minimum: 0 },
            }],
            responses: {
              "200": { description: "Change log", content: json({ type: "object" }) },
              ...errors(401, 422, 503),
            },
          },
        ),
      },
      "/v1/online/{task}/evaluations": {
        get: op(
          "The prequential log of a task: frozen base head, incumbent and candidate on each newly labelled sample",
          {
            parameters: [
              TASK,
              {
                name: "after",
                in: "query",
                required: false,
                schema: { type: "integer", minimum: 0 },
              },
              {
                name: "limit",
                in: "query",
                required: false,
                schema: { type: "integer", minimum: 1, maximum: 100000 },
              },
            ],
            responses: {
              "200": { description: "Evaluations", content: json({ type: "object" }) },
              ...errors(401, 404, 422, 503),
            },
          },
        ),
      },
      "/v1/heads/{task}/promote": {
        post: op("A person promotes a head version (default: the candidate), within the plan", {
          parameters: [TASK],
          requestBody: { required: true, content: json(ref("HeadDecisionBody")) },
          responses: {
            "200": { description: "The task's heads", content: json({ type: "object" }) },
            ...errors(401, 404, 409, 422, 503),
          },
        }),
      },
      "/v1/heads/{task}/rollback": {
        post: op("A person rolls back to the previous incumbent (or a given version)", {
          parameters: [TASK],
          requestBody: { required: true, content: json(ref("HeadDecisionBody")) },
          responses: {
            "200": { description: "The task's heads", content: json({ type: "object" }) },
            ...errors(401, 404, 409, 422, 503),
          },
        }),
      },
      "/v1/models": {
        get: op("The loaded model: tasks, backend, graphs, mask mode, hash, fine-tuned heads", {
          responses: {
            "200": { description: "Models", content: json({ type: "object" }) },
            ...errors(401, 429, 503),
          },
        }),
      },
      "/healthz": {
        get: op("Liveness", { security: [], responses: { "200": { description: "OK" } } }),
      },
      "/readyz": {
        get: op("Readiness: 503 until the model is warmed up", {
          security: [],
          responses: { "200": { description: "Ready" }, "503": { description: "Not ready" } },
        }),
      },
      "/metrics": {
        get: op("Prometheus metrics", {
          security: [],
          responses: {
            "200": {
              description: "Text exposition format",
              content: { "text/plain": { schema: { type: "string" } } },
            },
          },
        }),
      },
      "/openapi.json": {
        get: op("This document", {
          security: [],
          responses: { "200": { description: "OpenAPI 3.1" } },
        }),
      },
      "/docs": {
        get: op("API documentation page", {
          security: [],
          responses: { "200": { description: "HTML" } },
        }),
      },
    },
  };
}

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flexcare API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.2rem .8rem}
.m{display:inline-block;min-width:3.5rem;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}code,pre{font:13px ui-monospace,monospace}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:20rem}summary{cursor:pointer}
</style></head><body><h1>flexcare API</h1><p id="info">Loading /openapi.json&hellip;</p>
<div id="ops"></div><script src="/docs.js"></script></body></html>`;

const DOCS_JS = `"use strict";
(async () => {
  const doc = await (await fetch("/openapi.json")).json();
  const el = (tag, props, ...kids) => {
    const e = document.createElement(tag);
    Object.assign(e, props);
    for (const k of kids) e.append(k);
    return e;
  };
  document.getElementById("info").textContent = doc.info.title + " " + doc.info.version + ": " + doc.info.description;
  const ops = document.getElementById("ops");
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const d = el("details", { className: "op" });
      d.append(el("summary", {}, el("span", { className: "m " + method, textContent: method }), el("code", { textContent: path }), " " + op.summary));
      if (op.description) d.append(el("p", { textContent: op.description }));
      for (const p of op.parameters || []) d.append(el("div", {}, el("code", { textContent: p.name }), " (" + p.in + (p.required ? ", required" : "") + ") " + (p.description || "")));
      const body = op.requestBody && op.requestBody.content;
      for (const [type, media] of Object.entries(body || {})) {
        let s = media.schema || {};
        if (s.$ref) s = doc.components.schemas[s.$ref.split("/").pop()];
        d.append(el("div", {}, "Body ", el("code", { textContent: type })), el("pre", { textContent: JSON.stringify(s, null, 2) }));
      }
      d.append(el("div", {}, "Responses: " + Object.keys(op.responses || {}).join(", ")));
      ops.append(d);
    }
  }
})().catch((e) => { document.getElementById("info").textContent = "Cannot load /openapi.json: " + e; });
`;

/** The OpenAPI and docs routes. */
export function openApiRoutes(version: string): Hono {
  const app = new Hono();
  const doc = openApiDocument(version);
  const csp =
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'";
  app.get("/openapi.json", (c) => c.json(doc));
  app.get("/docs", (c) => {
    c.header("Content-Security-Policy", csp);
    return c.html(DOCS_HTML);
  });
  app.get("/docs.js", (c) => {
    c.header("Content-Security-Policy", csp);
    return c.body(DOCS_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" });
  });
  return app;
}
