/**
 * In-process route tests (`app.request`): validation and error mapping of every route, against
 * a fake stay service; the one-shot prediction and the model routes against the tiny model.
 */
import { encode as encodePng } from "fast-png";
import { assert, assertEquals } from "../assert.ts";
import { createApp } from "../../routes/app.ts";
import { createLogger } from "../../routes/logger.ts";
import { FakeStayService } from "./fake_service.ts";
import { tinyModel } from "../model/tiny_model.ts";
import { FlexCareModel } from "../../src/model/flexcare_model.ts";

const quiet = createLogger("silent");

function setup(extra: Parameters<typeof createApp>[0] = {}) {
  const service = new FakeStayService();
  const app = createApp({ service, log: quiet, rateLimit: false, ...extra });
  const call = async (
    method: string,
    path: string,
    body?: BodyInit | null,
    type?: string,
    headers: Record<string, string> = {},
  ) => {
    const res = await app.request(path, {
      method,
      ...(body === undefined ? {} : { body }),
      headers: { ...(type === undefined ? {} : { "content-type": type }), ...headers },
    });
    const text = await res.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text);
    } catch { /* not JSON */ }
    // deno-lint-ignore no-explicit-any
    return { status: res.status, json: json as Record<string, any>, text, headers: res.headers };
  };
  const post = (path: string, body: unknown, type = "application/json", headers = {}) =>
    call(
      "POST",
      path,
      typeof body === "string" || body instanceof Uint8Array
        ? body as BodyInit
        : JSON.stringify(body),
      type,
      headers,
    );
  return { app, service, call, post };
}

const HR = (time: number | string, value: unknown = 80) => ({ time, channel: "Heart Rate", value });

Deno.test("stays: admit, get, discharge and their errors", async () => {
  const { call, post } = setup();
  const admitted = await post("/v1/stays", { stayId: "s1", admittedAt: "2024-05-01T08:00:00Z" });
  assertEquals(admitted.status, 201);
  assertEquals(admitted.json.stayId, "s1");
  assertEquals(admitted.headers.get("location"), "/v1/stays/s1");
  assertEquals((await post("/v1/stays", { stayId: "s1" })).status, 409);
  assertEquals((await call("GET", "/v1/stays/s1")).json.status, "active");
  assertEquals((await call("GET", "/v1/stays/nope")).status, 404);
  const bad = await post("/v1/stays", { stayId: "../etc/passwd" });
  assertEquals([bad.status, bad.json.field], [422, "stayId"]);
  const extra = await post("/v1/stays", { stayId: "s2", admittedAt: "yesterday" });
  assertEquals([extra.status, extra.json.field], [422, "admittedAt"]);
  const unknownKey = await post("/v1/stays", { stayId: "s2", ward: "3B" });
  assertEquals(unknownKey.status, 422);
  assert(unknownKey.json.detail.includes("ward"));
  assertEquals((await post("/v1/stays", "{not json")).status, 400);
  assertEquals((await post("/v1/stays", { stayId: "s2" }, "text/plain")).status, 415);
  assertEquals(
    (await post("/v1/stays", JSON.stringify({ stayId: "x".repeat(2_000_000) }))).status,
    413,
  );
  assertEquals((await call("GET", "/v1/stays/..%2F..%2Fetc")).status, 400);
  const discharged = await post("/v1/stays/s1/discharge", { at: "2024-05-03T08:00:00Z" });
  assertEquals([discharged.status, discharged.json.status], [200, "discharged"]);
  assertEquals((await call("POST", "/v1/stays/s1/discharge")).status, 200); // empty body
  assertEquals((await post("/v1/stays/s1/discharge", { at: 5 })).status, 422);
  assertEquals((await post("/v1/stays/s1/observations", { observations: [HR(1)] })).status, 409);
});

Deno.test("observations: JSON batch validation names the field", async () => {
  const { post, service } = setup();
  await post("/v1/stays", { stayId: "s1" });
  const ok = await post("/v1/stays/s1/observations", {
    observations: [HR(0.5), {
      time: "2024-05-01T09:00:00+00:00",
      channel: "Glascow coma scale total",
      value: 15,
      eventId: "e1",
    }],
  });
  assertEquals([ok.status, ok.json.accepted, ok.json.predictions.length], [200, 2, 1]);
  const cases: [unknown, string][] = [
    [
      { observations: [HR(1), { time: 1, channel: "Heart rate", value: 1 }] },
      "observations[1].channel",
    ],
    [
      { observations: [{ time: 1, channel: "Glascow coma scale total", value: 16 }] },
      "observations[0].value",
    ],
    [
      { observations: [{ time: 1, channel: "Capillary refill rate", value: "slow" }] },
      "observations[0].value",
    ],
    [{ observations: [HR(1, "NaN")] }, "observations[0].value"],
    [{ observations: [HR(1, "fast")] }, "observations[0].value"],
    [{ observations: [HR(1, true)] }, "observations[0].value"],
    [{ observations: [HR(-5)] }, "observations[0].time"],
    [{ observations: [HR("2024-05-01 09:00")] }, "observations[0].time"],
    [{ observations: [HR(1e9)] }, "observations[0].time"],
    [{ observations: [] }, "observations"],
    [{ observations: [{ ...HR(1), extra: 1 }] }, "observations[0]"],
    [{ observations: [{ ...HR(1), eventId: "has space" }] }, "observations[0].eventId"],
    [{ obs: [] }, "observations"],
  ];
  for (const [body, field] of cases) {
    const r = await post("/v1/stays/s1/observations", body);
    assertEquals([r.status, r.json.field], [422, field], JSON.stringify(body));
    assertEquals(typeof r.json.detail, "string");
  }
  assertEquals((await post("/v1/stays/s1/observations", "[1,2")).status, 400);
  assertEquals((await post("/v1/stays/s1/observations", "1,2", "text/csv")).status, 415);
  assertEquals((await post("/v1/stays/zz/observations", { observations: [HR(1)] })).status, 404);
  // Nothing refused reached the service.
  assertEquals(service.calls.filter((c) => c.startsWith("observations")), [
    "observations s1 2",
    "observations zz 1",
  ]);
  assertEquals(
    (await post("/v1/stays/s1/observations", { observations: [HR(1)] }, "application/json", {
      "Idempotency-Key": "bad key",
    })).status,
    400,
  );
});

Deno.test("observations: FHIR bodies are mapped, refused with the FHIR path", async () => {
  const { post } = setup();
  await post("/v1/stays", { stayId: "s1" });
  const observation = (code: string, valueQuantity: unknown) => ({
    resourceType: "Observation",
    id: `o-${code}`,
    status: "final",
    code: { coding: [{ system: "http://loinc.org", code }] },
    effectiveDateTime: "2024-05-01T09:00:00Z",
    valueQuantity,
  });
  const bundle = {
    resourceType: "Bundle",
    type: "collection",
    entry: [
      { resource: observation("8867-4", { value: 90, code: "/min" }) },
      { resource: observation("8310-5", { value: 100.4, code: "[degF]" }) },
      {
        resource: {
          ...observation("8867-4", { value: 1, code: "/min" }),
          status: "entered-in-error",
        },
      },
    ],
  };
  const ok = await post("/v1/stays/s1/observations", bundle, "application/fhir+json");
  assertEquals([ok.status, ok.json.accepted, ok.json.skipped], [200, 2, 1]);
  // Detected from resourceType under application/json too.
  assertEquals(
    (await post("/v1/stays/s1/observations", observation("9279-1", { value: 20, code: "/min" })))
      .status,
    200,
  );
  const bad = await post("/v1/stays/s1/observations", {
    ...bundle,
    entry: [...bundle.entry, { resource: observation("0000-0", { value: 1, code: "/min" }) }],
  }, "application/fhir+json");
  assertEquals([bad.status, bad.json.error, bad.json.field], [
    422,
    "invalid_fhir",
    "entry[3].resource.code",
  ]);
  const unit = await post(
    "/v1/stays/s1/observations",
    observation("8867-4", { value: 1, code: "Hz" }),
    "application/fhir+json",
  );
  assertEquals([unit.status, unit.json.field], [422, "valueQuantity.code"]);
  assertEquals(
    (await post("/v1/stays/s1/observations", "<Observation/>", "application/fhir+json")).status,
    400,
  );
});

Deno.test("images and notes: media types, limits and time", async () => {
  const { post, call } = setup({ limits: { image: 50_000 } });
  await post("/v1/stays", { stayId: "s1" });
  const png = encodePng({
    width: 64,
    height: 64,
    channels: 1,
    depth: 8,
    data: new Uint8Array(64 * 64).fill(128),
  });
  const ok = await post("/v1/stays/s1/images?time=2.5", png, "image/png");
  assertEquals([ok.status, ok.json.accepted], [200, 1]);
  assertEquals((await post("/v1/stays/s1/images", png, "image/jpeg")).status, 415); // mismatch
  assertEquals((await post("/v1/stays/s1/images", png, "image/gif")).status, 415);
  assertEquals(
    (await post("/v1/stays/s1/images", new Uint8Array([1, 2, 3, 4]), "image/png")).status,
    415,
  );
  assertEquals((await post("/v1/stays/s1/images", new Uint8Array(0), "image/png")).status, 422);
  assertEquals(
    (await post("/v1/stays/s1/images", new Uint8Array(60_000), "image/png")).status,
    413,
  );
  assertEquals((await post("/v1/stays/s1/images?eventId=img-1", png, "image/png")).status, 200);
  const badId = await post("/v1/stays/s1/images?eventId=a%20b", png, "image/png");
  assertEquals([badId.status, badId.json.field], [422, "eventId"]);
  const badTime = await post("/v1/stays/s1/images?time=soon", png, "image/png");
  assertEquals([badTime.status, badTime.json.field], [422, "time"]);
  assertEquals(
    (await post("/v1/stays/s1/notes", "Past Medical History: COPD", "text/plain")).status,
    200,
  );
  assertEquals(
    (await post("/v1/stays/s1/notes", { text: "HTN", time: 3, eventId: "n1" })).status,
    200,
  );
  assertEquals((await post("/v1/stays/s1/notes", "   ", "text/plain")).status, 422);
  assertEquals((await post("/v1/stays/s1/notes", { text: "" })).json.field, "text");
  assertEquals((await post("/v1/stays/s1/notes", "x", "application/pdf")).status, 415);
  assertEquals((await post("/v1/stays/s1/notes", "x".repeat(1_100_000), "text/plain")).status, 413);
  const state = await call("GET", "/v1/stays/s1");
  assertEquals([state.json.images, state.json.notes], [2, 2]);
});

Deno.test("predictions history, auth, rate limits, CORS, headers, 404s", async () => {
  const { post, call } = setup();
  await post("/v1/stays", { stayId: "s1" });
  for (let t = 1; t <= 3; t++) await post("/v1/stays/s1/observations", { observations: [HR(t)] });
  assertEquals((await call("GET", "/v1/stays/s1/predictions")).json.predictions.length, 3);
  assertEquals(
    (await call("GET", "/v1/stays/s1/predictions?since=2")).json.predictions.map((
      p: { seq: number },
    ) => p.seq),
    [3],
  );
  assertEquals((await call("GET", "/v1/stays/s1/predictions?since=-1")).status, 422);
  assertEquals((await call("GET", "/v1/stays/s1/predictions?since=abc")).json.field, "since");
  assertEquals((await call("GET", "/v1/stays/s1/stream?since=x")).status, 422);
  assertEquals((await call("GET", "/v1/stays/zz/stream")).status, 404);
  const nf = await call("GET", "/v2/whatever");
  assertEquals([nf.status, nf.json.error], [404, "not_found"]);
  assertEquals(nf.headers.get("x-content-type-options"), "nosniff");
  assertEquals(nf.headers.get("access-control-allow-origin"), null);

  const token = "t0ken-for-tests-0123456789";
  const authed = setup({ tokens: [token], corsOrigins: ["https://ward.example"] });
  const noAuth = await authed.call("GET", "/v1/stays/s1");
  assertEquals([noAuth.status, noAuth.json.error], [401, "unauthorized"]);
  assert(noAuth.headers.get("www-authenticate")?.startsWith("Bearer"));
  assertEquals(
    (await authed.call("GET", "/v1/stays/s1", undefined, undefined, {
      authorization: "Bearer wrong-token-0123456789",
    })).status,
    401,
  );
  assertEquals(
    (await authed.call("GET", "/v1/stays/s1", undefined, undefined, {
      authorization: `Bearer ${token}`,
    })).status,
    404,
  );
  assertEquals((await authed.call("GET", "/healthz")).status, 200);
  const preflight = await authed.app.request("/v1/stays", {
    method: "OPTIONS",
    headers: { origin: "https://ward.example", "access-control-request-method": "POST" },
  });
  assertEquals(preflight.headers.get("access-control-allow-origin"), "https://ward.example");

  const limited = setup({ rateLimit: { burst: 3, perSecond: 0.01 } });
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push((await limited.call("GET", "/v1/stays/x")).status);
  assertEquals(statuses, [404, 404, 404, 429, 429]);
  const r = await limited.call("GET", "/v1/stays/x");
  assertEquals(r.json.error, "rate_limited");
  assert(Number(r.headers.get("retry-after")) >= 1);
  assertEquals((await limited.call("GET", "/healthz")).status, 200);
});

Deno.test("health, readiness, metrics, OpenAPI and docs", async () => {
  const { call, post } = setup();
  assertEquals((await call("GET", "/healthz")).json.status, "ok");
  assertEquals((await call("GET", "/readyz")).status, 503);
  assertEquals((await call("GET", "/v1/models")).status, 503);
  assertEquals((await post("/v1/predict", { observations: [HR(1)] })).status, 503);
  await post("/v1/stays", { stayId: "s1" });
  const metrics = await call("GET", "/metrics");
  assertEquals(metrics.status, 200);
  assert(metrics.headers.get("content-type")!.startsWith("text/plain"));
  assert(
    metrics.text.includes(
      'flexcare_http_requests_total{method="POST",route="/v1/stays",status="201"} 1',
    ),
    metrics.text,
  );
  assert(
    metrics.text.includes(
      'flexcare_http_requests_total{method="GET",route="/v1/models",status="503"} 1',
    ),
  );
  assert(metrics.text.includes("flexcare_http_request_duration_seconds_bucket"));
  assert(metrics.text.includes("flexcare_active_stays 1"));
  assert(!metrics.text.includes("s1"), "no stay ids in metrics");
  const doc = (await call("GET", "/openapi.json")).json;
  assertEquals(doc.openapi, "3.1.0");
  for (
    const path of [
      "/v1/stays",
      "/v1/stays/{stayId}",
      "/v1/stays/{stayId}/discharge",
      "/v1/stays/{stayId}/observations",
      "/v1/stays/{stayId}/images",
      "/v1/stays/{stayId}/notes",
      "/v1/stays/{stayId}/predictions",
      "/v1/stays/{stayId}/stream",
      "/v1/predict",
      "/v1/models",
      "/healthz",
      "/readyz",
      "/metrics",
    ]
  ) assert(path in doc.paths, path);
  assert(doc.components.schemas.Observation.properties.channel.enum.includes("Heart Rate"));
  // Every $ref resolves; every operation has a summary and responses.
  const refs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === "object" && v !== null) {
      for (const [k, x] of Object.entries(v)) k === "$ref" ? refs.push(x as string) : walk(x);
    }
  };
  walk(doc);
  assert(refs.length > 20);
  for (const ref of refs) assert(ref.split("/").pop()! in doc.components.schemas, ref);
  for (
    const item of Object.values(doc.paths) as Record<
      string,
      { summary: string; responses: object }
    >[]
  ) {
    for (const op of Object.values(item)) {
      assert(op.summary && Object.keys(op.responses).length > 0);
    }
  }
  const docs = await call("GET", "/docs");
  assertEquals(docs.status, 200);
  assert(docs.text.includes('<script src="/docs.js">') && !docs.text.includes("http"));
  assert(docs.headers.get("content-security-policy")!.includes("default-src 'none'"));
  assertEquals((await call("GET", "/docs.js")).status, 200);
});

Deno.test("logs above debug carry no stay ids, values or note text", async () => {
  const lines: string[] = [];
  const { post } = setup({ log: createLogger("info", (l) => lines.push(l)) });
  await post("/v1/stays", { stayId: "secret-stay-42" });
  await post(
    "/v1/stays/secret-stay-42/notes",
    "Past Medical History: confidential-word",
    "text/plain",
  );
  await post("/v1/stays/secret-stay-42/observations", { observations: [HR(1, 123.456)] });
  assert(lines.length >= 3);
  const all = lines.join("\n");
  for (const secret of ["secret-stay-42", "confidential", "123.456"]) {
    assert(!all.includes(secret), all);
  }
  assert(all.includes("/v1/stays/:stayId/notes"));
});

Deno.test({
  name: "POST /v1/predict and GET /v1/models on the tiny model",
  async fn() {
    const model = await FlexCareModel.load(await tinyModel(), { backend: "wasm", offThread: true });
    try {
      const { post, call } = setup({ model });
      assertEquals((await call("GET", "/readyz")).status, 200);
      const models = (await call("GET", "/v1/models")).json.models[0];
      assertEquals(models.backend, "wasm");
      assert(models.tasks.some((t: { code: string }) => t.code === "dec"));
      assert(models.graphs.some((g: { name: string }) => g.name === "flexcare"));
      assertEquals(models.hash, model.hash);
      const png = encodePng({
        width: 64,
        height: 64,
        channels: 3,
        depth: 8,
        data: new Uint8Array(64 * 64 * 3).fill(90),
      });
      const res = await post("/v1/predict", {
        tasks: ["dec", "los"],
        hours: 5,
        observations: [HR(0.5, 120), { time: 2, channel: "Respiratory rate", value: 26 }, {
          time: 3,
          channel: "Glascow coma scale eye opening",
          value: "4 Spontaneously",
        }],
        image: { data: btoa(String.fromCharCode(...png)), mediaType: "image/png" },
        note: "Past Medical History: COPD on home oxygen. Social History: none",
      });
      assertEquals(res.status, 200, res.text);
      const [dec, los] = res.json.predictions;
      assertEquals([dec.task, los.task, dec.hours], ["dec", "los", 5]);
      assert(dec.probability > 0 && dec.probability < 1);
      assertEquals(dec.modalities, { timeseries: true, image: true, note: true });
      assert(dec.news2 >= 3);
      assertEquals(los.distribution.length, 10);
      assert(los.expectedRemainingDays > 0);
      assertEquals(Object.keys(dec.fusionWeights).length, 7);
      assertEquals(dec.backend, "wasm");
      const noteOnly = await post("/v1/predict", { tasks: ["ihm"], note: "pneumonia" });
      assertEquals(noteOnly.status, 200, noteOnly.text);
      assertEquals(noteOnly.json.predictions[0].modalities, {
        timeseries: false,
        image: false,
        note: true,
      });
      const bad = [
        [{ tasks: ["nope"], note: "x" }, "tasks[0]"],
        [{}, undefined],
        [{ observations: [HR("2024-05-01T09:00:00Z")] }, "observations[0].time"],
        [{ image: { data: "***", mediaType: "image/png" } }, "image.data"],
      ] as const;
      for (const [body, field] of bad) {
        const r = await post("/v1/predict", body);
        assertEquals([r.status, r.json.field], [422, field], JSON.stringify(body));
      }
      assertEquals(
        (await post("/v1/predict", {
          image: { data: btoa("hello world!"), mediaType: "image/png" },
        })).status,
        415,
      );
      const metrics = (await call("GET", "/metrics")).text;
      assert(metrics.includes('flexcare_backend_info{backend="wasm"'));
      assert(/flexcare_inference_runs_total\{graph="flexcare"\} [1-9]/.test(metrics), metrics);
    } finally {
      await model.close();
    }
  },
});

Deno.test("an unexpected failure is a 500 without details, logged without request data", async () => {
  const lines: string[] = [];
  const service = new FakeStayService();
  service.get = () => Promise.reject(new Error("boom with patient value 123.456"));
  const app = createApp({
    service,
    log: createLogger("info", (l) => lines.push(l)),
    rateLimit: false,
  });
  const res = await app.request("/v1/stays/s1");
  assertEquals(res.status, 500);
  assertEquals(await res.json(), { error: "internal", detail: "Internal server error" });
  assert(
    lines.some((l) => l.includes("GET /v1/stays/:stayId failed with Error")),
    lines.join("\n"),
  );
  assert(!lines.join("\n").includes("123.456"));
});
