/**
 * Bounded work and late data over a real socket: a write past the queue limit answers 503
 * `overloaded` with `Retry-After` and stores nothing; a late write answers with `recomputing`
 * and the recomputed predictions follow on SSE; `/metrics` counts both.
 */
import { assert, assertEquals } from "../assert.ts";
import { listen, readEvents } from "./helpers.ts";
import { createStayService } from "../../src/session/service.ts";
import { heldModel } from "../session/_fake_model.ts";

Deno.test("HTTP: 503 overloaded with Retry-After, nothing stored; late data answered with recomputing", async () => {
  const model = heldModel(10_000);
  const dataDir = await Deno.makeTempDir({ prefix: "flexcare-live-http-" });
  const service = await createStayService({
    dataDir,
    model,
    sweepIntervalMs: 0,
    maxQueuedSteps: 1,
  });
  const server = listen({ service });
  const post = (path: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const hr = (time: number) => ({ time, channel: "Heart Rate", value: 80 + time });
  try {
    for (const stayId of ["a", "b"]) {
      assertEquals((await (await post("/v1/stays", { stayId })).json()).stayId, stayId);
    }
    const held = post("/v1/stays/a/observations", { observations: [hr(0.5), hr(1.5)] });
    await new Promise((r) => setTimeout(r, 100));
    const refused = await post("/v1/stays/b/observations", { observations: [hr(0.5), hr(1.5)] });
    assertEquals(refused.status, 503);
    assert(Number(refused.headers.get("retry-after")) >= 1, "Retry-After");
    assertEquals((await refused.json()).error, "overloaded");
    assertEquals((await (await fetch(`${server.url}/v1/stays/b`)).json()).observations, 0);
    model.release();
    assertEquals((await held).status, 200);

    const stream = await fetch(`${server.url}/v1/stays/a/stream?since=0`);
    const late = await post("/v1/stays/a/observations", {
      observations: [{ time: 0.7, channel: "Respiratory rate", value: 28 }],
    });
    const answer = await late.json();
    assertEquals(answer.predictions, []);
    assertEquals(answer.recomputing, [1]);
    // The hour-1 predictions first (dec, los), then the recomputed ones with higher seq.
    const events = await readEvents(stream, 4);
    const hour1 = events.filter((e) => e.event === "prediction").map((e) => JSON.parse(e.data));
    assertEquals(hour1.map((p) => p.hours), [1, 1, 1, 1]);
    assert(hour1[2].seq > hour1[0].seq && hour1[3].seq > hour1[1].seq, "recomputed later");
    assert(
      hour1[2].probability !== hour1[0].probability ||
        hour1[3].probability !== hour1[1].probability,
      "the recompute used the late value",
    );
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert(/^flexcare_writes_refused_total 1$/m.test(metrics), metrics);
    assert(/^flexcare_recomputes_total 1$/m.test(metrics), "one recompute");
    assert(/^flexcare_queued_steps 0$/m.test(metrics), "nothing queued");
  } finally {
    model.release();
    await server.close();
    await service.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
