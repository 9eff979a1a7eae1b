import { assertEquals } from "../assert.ts";
import { createApp } from "../../routes/app.ts";
import { isLoopback, serve } from "../../src/cli/serve.ts";

Deno.test("GET /healthz in-process", async () => {
  const res = await createApp({ version: "9.9.9" }).request("/healthz");
  assertEquals(res.status, 200);
  assertEquals(await res.json(), { status: "ok", version: "9.9.9" });
  const missing = await createApp().request("/nope");
  assertEquals(missing.status, 404);
  assertEquals((await missing.json()).error, "not_found");
});

Deno.test("serve listens on loopback and answers /healthz over a real socket", async () => {
  const controller = new AbortController();
  const { promise: listening, resolve } = Promise.withResolvers<number>();
  const done = serve({ port: 0, model: null, signal: controller.signal, onListen: resolve });
  const port = await listening;
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  assertEquals(res.status, 200);
  assertEquals((await res.json()).status, "ok");
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  assertEquals(ready.status, 503); // no model
  await ready.body?.cancel();
  controller.abort();
  await done;
});

Deno.test("non-loopback hosts are recognised", () => {
  assertEquals(["127.0.0.1", "localhost", "::1", "127.1.2.3"].map(isLoopback), [
    true,
    true,
    true,
    true,
  ]);
  assertEquals(["0.0.0.0", "10.0.0.1", "example.org"].map(isLoopback), [false, false, false]);
});
