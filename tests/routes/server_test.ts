/**
 * Real servers on loopback (`serveHttp1` on port 0): NDJSON streaming, Server-Sent Events,
 * authentication, and `serve()` itself — against the real stay service and the tiny model when
 * torch is available, and the streaming plumbing against the fake service always.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { listen, readEvents, serveOnLoopback } from "./helpers.ts";
import { FakeStayService } from "./fake_service.ts";
import { tinyModel } from "../model/tiny_model.ts";
import { FlexCareModel } from "../../src/model/flexcare_model.ts";
import { createStayService } from "../../src/session/service.ts";
import { parseServeArgs, serve } from "../../src/cli/serve.ts";
import { UsageError } from "../../src/cli/usage_error.ts";

function ndjsonBody(lines: string[], delayMs = 0): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      if (i >= lines.length) return controller.close();
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      controller.enqueue(encoder.encode(lines[i++] + "\n"));
    },
  });
}

async function postNdjson(
  url: string,
  lines: string[],
  headers: Record<string, string> = {},
  delayMs = 0,
) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson", ...headers },
    body: ndjsonBody(lines, delayMs),
    // @ts-ignore: streaming request bodies need half duplex
    duplex: "half",
  });
  const text = await res.text();
  return { status: res.status, lines: text.trim().split("\n").map((l) => JSON.parse(l)) };
}

const obsLine = (time: number, value: unknown, channel = "Heart Rate") =>
  JSON.stringify({ time, channel, value });

Deno.test("NDJSON: line-by-line answers, bad lines named and not stored (fake service)", async () => {
  const service = new FakeStayService();
  const server = listen({ service, limits: { ndjsonLine: 200 } });
  try {
    await service.admit("s1");
    const r = await postNdjson(`${server.url}/v1/stays/s1/observations`, [
      obsLine(0.5, 80),
      "{not json",
      "",
      obsLine(1.5, "fast"),
      JSON.stringify({ time: 2, channel: "Heart rate", value: 1 }),
      "x".repeat(500),
      obsLine(2.5, 82),
    ]);
    assertEquals(r.status, 200);
    const byLine = new Map(r.lines.filter((l) => "line" in l).map((l) => [l.line, l]));
    assertEquals(byLine.get(1).accepted, 1);
    assertEquals([byLine.get(2).status, byLine.get(2).error], [400, "invalid_json"]);
    assertEquals(byLine.has(3), false); // blank line skipped
    assertEquals([byLine.get(4).status, byLine.get(4).field], [422, "value"]);
    assertEquals([byLine.get(5).status, byLine.get(5).field], [422, "channel"]);
    assertEquals([byLine.get(6).status, byLine.get(6).error], [413, "line_too_large"]);
    assertEquals(byLine.get(7).accepted, 1);
    assertEquals(r.lines.at(-1), { done: true, lines: 6, accepted: 2, duplicates: 0, errors: 4 });
    assertEquals(service.stays.get("s1")!.state.observations, 2);
    const missing = await fetch(`${server.url}/v1/stays/zz/observations`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: obsLine(1, 1),
    });
    assertEquals(missing.status, 404);
    await missing.body?.cancel();
    const small = listen({ service, limits: { ndjson: 1000 } });
    try {
      const declared = await fetch(`${small.url}/v1/stays/s1/observations`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: (obsLine(1, 1) + "\n").repeat(60), // a string body: Content-Length is sent
      });
      assertEquals([declared.status, (await declared.json()).error], [413, "payload_too_large"]);
      const streamed = await postNdjson(
        `${small.url}/v1/stays/s1/observations`,
        Array(60).fill(obsLine(1, 1)),
      );
      assertEquals(streamed.status, 200);
      assertEquals(streamed.lines.at(-2).error, "payload_too_large"); // stopped when the limit was passed
      assertEquals(streamed.lines.at(-1).done, true);
    } finally {
      await small.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("SSE: ready, live predictions, Last-Event-ID replay (fake service)", async () => {
  const service = new FakeStayService();
  const server = listen({ service, keepAliveMs: 50 });
  try {
    await service.admit("s1");
    await service.addObservations("s1", [{ time: 1, channel: "Heart Rate", value: 80 }]);
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/stays/s1/stream`, { signal: controller.signal });
    assertEquals(res.headers.get("content-type"), "text/event-stream");
    const events = await readEvents(res, 2, async () => {
      await service.addObservations("s1", [{ time: 2, channel: "Heart Rate", value: 81 }]);
      await service.addObservations("s1", [{ time: 3, channel: "Heart Rate", value: 82 }]);
    });
    controller.abort();
    assertEquals(events.filter((e) => e.event === "prediction").map((e) => e.id), ["2", "3"]);
    assertEquals(JSON.parse(events.at(-1)!.data).hours, 3);
    // Reconnect with Last-Event-ID: the stored ones after it first, then live ones.
    const again = await fetch(`${server.url}/v1/stays/s1/stream`, {
      headers: { "last-event-id": "1" },
    });
    const replay = await readEvents(again, 3, async () => {
      await service.addObservations("s1", [{ time: 4, channel: "Heart Rate", value: 83 }]);
    });
    assertEquals(replay.filter((e) => e.event === "prediction").map((e) => e.id), ["2", "3", "4"]);
    // Subscriptions end with the connection.
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(service.stays.get("s1")!.listeners.size, 0);
  } finally {
    await server.close();
  }
});

Deno.test("auth on a real socket: 401 without the token, 200 with it", async () => {
  const token = "server-test-token-0123456789";
  const server = listen({ service: new FakeStayService(), tokens: [token] });
  try {
    const no = await fetch(`${server.url}/v1/stays/s1`);
    assertEquals(no.status, 401);
    await no.body?.cancel();
    const yes = await fetch(`${server.url}/v1/stays`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ stayId: "s1" }),
    });
    assertEquals(yes.status, 201);
    await yes.body?.cancel();
    const health = await fetch(`${server.url}/healthz`);
    assertEquals(health.status, 200);
    await health.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("serve: flags, refusing non-loopback without tokens, a missing model", async () => {
  const config = parseServeArgs(["--port", "0", "--backend", "wasm"], { FLEXCARE_TOKENS: "" });
  assert(Object.isFrozen(config));
  assertEquals([config.port, config.host, config.backend, config.data], [
    0,
    "127.0.0.1",
    "wasm",
    ".flexcare",
  ]);
  assertEquals(
    parseServeArgs([], { FLEXCARE_TOKENS: "a-token-of-16-chars,b-token-of-16-chars" }).tokens!
      .length,
    2,
  );
  const timing = parseServeArgs([
    "--header-timeout",
    "2.5",
    "--body-timeout",
    "20",
    "--max-queued-steps",
    "16",
    "--recompute-delay",
    "0",
    "--recompute-wait",
    "3",
  ]);
  assertEquals(
    [
      timing.headersTimeoutMs,
      timing.bodyTimeoutMs,
      timing.maxQueuedSteps,
      timing.recomputeDelayMs,
      timing.recomputeWaitMs,
    ],
    [2500, 20000, 16, 0, 3000],
  );
  for (
    const bad of [
      ["--port", "x"],
      ["--backend", "cuda"],
      ["--rate-limit=-1"],
      ["--log-level", "loud"],
      ["--header-timeout", "0"],
      ["--body-timeout", "soon"],
      ["--max-queued-steps", "0"],
      ["--recompute-delay=-1"],
    ]
  ) {
    let failed = false;
    try {
      parseServeArgs(bad);
    } catch (e) {
      failed = e instanceof UsageError;
    }
    assert(failed, bad.join(" "));
  }
  await assertRejects(
    () => serve({ host: "0.0.0.0", model: null, port: 0 }),
    UsageError,
    "non-loopback",
  );
  await assertRejects(
    () => serve({ model: "/nonexistent/model", port: 0 }),
    UsageError,
    "manifest.json",
  );
});

Deno.test({
  name: "real service on loopback: NDJSON steps, SSE, restart keeps predictions",
  async fn() {
    const dir = await tinyModel();
    const data = await Deno.makeTempDir({ prefix: "flexcare-serve-" });
    const model = await FlexCareModel.load(dir, { backend: "wasm", offThread: true });
    const service = await createStayService({ dataDir: data, model, sweepIntervalMs: 0 });
    const server = listen({ service, model, keepAliveMs: 200 });
    try {
      const admit = await fetch(`${server.url}/v1/stays`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ stayId: "icu-1", admittedAt: "2024-05-01T08:00:00Z" }),
      });
      assertEquals(admit.status, 201);
      await admit.body?.cancel();
      const controller = new AbortController();
      const sse = await fetch(`${server.url}/v1/stays/icu-1/stream`, { signal: controller.signal });
      const ndjson = [0.5, 1.5, 2.5, 3.5].map((t) => obsLine(t, 80 + t));
      ndjson.splice(2, 0, obsLine(2, "NaN"));
      let streamed: Awaited<ReturnType<typeof postNdjson>> | undefined;
      const events = await readEvents(sse, 6, async () => {
        streamed = await postNdjson(`${server.url}/v1/stays/icu-1/observations`, ndjson, {
          "idempotency-key": "replay-1",
        }, 5);
      });
      controller.abort();
      const lines = streamed!.lines;
      assertEquals(lines.at(-1), { done: true, lines: 5, accepted: 4, duplicates: 0, errors: 1 });
      assertEquals([lines[2].status, lines[2].field], [422, "value"]);
      const predicted = lines.flatMap((l) => l.predictions ?? []);
      // Hours 1, 2, 3 are complete: DEC and LOS at each.
      assertEquals(predicted.map((p: { task: string; hours: number }) => `${p.task}@${p.hours}`), [
        "dec@1",
        "los@1",
        "dec@2",
        "los@2",
        "dec@3",
        "los@3",
      ]);
      const sseSeqs = events.filter((e) => e.event === "prediction").map((e) => Number(e.id));
      assertEquals(sseSeqs, predicted.map((p: { seq: number }) => p.seq));
      // Retrying the whole stream with the same key stores nothing new.
      const retry = await postNdjson(`${server.url}/v1/stays/icu-1/observations`, ndjson, {
        "idempotency-key": "replay-1",
      });
      assertEquals(retry.lines.flatMap((l) => l.predictions ?? []).length, 6); // first answers again
      const state = await (await fetch(`${server.url}/v1/stays/icu-1`)).json();
      assertEquals(state.observations, 4);
      const history = await (await fetch(`${server.url}/v1/stays/icu-1/predictions?since=2`))
        .json();
      assertEquals(history.predictions.length, 4);
    } finally {
      await server.close();
      await service.close();
    }
    // A restarted service over the same log gives the same history.
    const reopened = await createStayService({ dataDir: data, model, sweepIntervalMs: 0 });
    const server2 = listen({ service: reopened, model });
    try {
      const history = await (await fetch(`${server2.url}/v1/stays/icu-1/predictions`)).json();
      assertEquals(history.predictions.length, 6);
    } finally {
      await server2.close();
      await reopened.close();
      await model.close();
      await Deno.remove(data, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "serve(): ready after warm-up, concurrent writes over HTTP, stays recovered after a restart",
  async fn() {
    const model = await tinyModel();
    const data = await Deno.makeTempDir({ prefix: "flexcare-serve-e2e-" });
    const start = async () => {
      const server = await serveOnLoopback({ model, data });
      return { url: `http://127.0.0.1:${server.port}`, ready: server.ready, stop: server.stop };
    };
    const first = await start();
    try {
      await first.ready;
      const models = await (await fetch(`${first.url}/v1/models`)).json();
      assertEquals(models.models[0].backend, "wasm");
      const post = (path: string, body: unknown) =>
        fetch(`${first.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      // Many stays at once.
      const ids = Array.from({ length: 8 }, (_, i) => `conc-${i}`);
      const admitted = await Promise.all(ids.map((stayId) => post("/v1/stays", { stayId })));
      assertEquals(admitted.map((r) => r.status), ids.map(() => 201));
      await Promise.all(admitted.map((r) => r.body?.cancel()));
      // Concurrent writes to one stay: serialized, every one stored, seqs unique and contiguous.
      const writes = await Promise.all(
        Array.from({ length: 12 }, (_, h) =>
          post("/v1/stays/conc-0/observations", {
            observations: [{
              time: h + 0.5,
              channel: "Heart Rate",
              value: 70 + h,
              eventId: `hr-${h}`,
            }],
          })),
      );
      assertEquals(writes.map((r) => r.status), writes.map(() => 200));
      await Promise.all(writes.map((r) => r.json()));
      const state = await (await fetch(`${first.url}/v1/stays/conc-0`)).json();
      assertEquals(state.observations, 12);
      const history = (await (await fetch(`${first.url}/v1/stays/conc-0/predictions`)).json())
        .predictions as { seq: number }[];
      assertEquals(history.map((p) => p.seq), history.map((_, i) => i + 1));
      assert(history.length >= 2);
      // Duplicate deliveries by event id are ignored.
      const dup = await (await post("/v1/stays/conc-0/observations", {
        observations: [{ time: 0.5, channel: "Heart Rate", value: 70, eventId: "hr-0" }],
      })).json();
      assertEquals([dup.accepted, dup.duplicates], [0, 1]);
      // The same event id with another value is a conflict: 409 naming it, nothing stored.
      const conflict = await post("/v1/stays/conc-0/observations", {
        observations: [
          { time: 5.5, channel: "Heart Rate", value: 71 },
          { time: 0.5, channel: "Heart Rate", value: 75, eventId: "hr-0" },
        ],
      });
      const body = await conflict.json();
      assertEquals([conflict.status, body.error, body.field], [
        409,
        "event_conflict",
        "observations[1].eventId",
      ]);
      assert(body.detail.includes("hr-0"), body.detail);
      assertEquals((await (await fetch(`${first.url}/v1/stays/conc-0`)).json()).observations, 12);
    } finally {
      await first.stop();
    }
    const second = await start();
    try {
      const early = await fetch(`${second.url}/healthz`);
      assertEquals(early.status, 200);
      await early.body?.cancel();
      await second.ready;
      const state = await (await fetch(`${second.url}/v1/stays/conc-0`)).json();
      assertEquals([state.status, state.observations], ["active", 12]);
      const ready = await fetch(`${second.url}/readyz`);
      assertEquals(ready.status, 200);
      await ready.body?.cancel();
    } finally {
      await second.stop();
      await Deno.remove(data, { recursive: true });
    }
  },
});
