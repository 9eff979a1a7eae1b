/**
 * Helpers of the real-socket route tests: an app on a free loopback port, an SSE reader.
 *
 * @module
 */
import { serve, type ServeOptions } from "../../src/cli/serve.ts";
import { type AppOptions, createApp } from "../../routes/app.ts";
import { createLogger } from "../../routes/logger.ts";
import { serveHttp1 } from "../../routes/http1.ts";

const quiet = createLogger("silent");

/** Starts an app on a free loopback port. */
export function listen(options: AppOptions): { url: string; close: () => Promise<void> } {
  const app = createApp({ log: quiet, rateLimit: false, ...options });
  const controller = new AbortController();
  const server = serveHttp1(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal },
    app.fetch,
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: async () => {
      controller.abort();
      await server.finished;
    },
  };
}

/** Reads SSE events from a response until `count` prediction events arrived. */
export async function readEvents(
  res: Response,
  count: number,
  onReady?: () => Promise<void>,
): Promise<{ event: string; id?: string; data: string }[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; id?: string; data: string }[] = [];
  let buffer = "";
  let predictions = 0;
  while (predictions < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(":")) continue;
      const e: { event: string; id?: string; data: string } = { event: "message", data: "" };
      for (const line of block.split("\n")) {
        const [k, ...rest] = line.split(": ");
        const v = rest.join(": ");
        if (k === "event") e.event = v;
        else if (k === "id") e.id = v;
        else if (k === "data") e.data += v;
      }
      events.push(e);
      if (e.event === "ready") await onReady?.();
      if (e.event === "prediction") predictions++;
    }
  }
  await reader.cancel();
  return events;
}

/** A `serve()` on port 0 (wasm, silent, no rate limit): its port, readiness and a stop. */
export async function serveOnLoopback(
  options: ServeOptions,
): Promise<{ port: number; ready: Promise<void>; stop: () => Promise<void> }> {
  const controller = new AbortController();
  const { promise: listening, resolve: onListen } = Promise.withResolvers<number>();
  const { promise: ready, resolve: onReady } = Promise.withResolvers<void>();
  const done = serve({
    port: 0,
    backend: "wasm",
    logLevel: "silent",
    rateLimit: false,
    ...options,
    signal: controller.signal,
    onListen,
    onReady,
  });
  const port = await Promise.race([listening, done.then(() => -1)]);
  if (port < 0) throw new Error("serve() ended before it listened");
  return { port, ready, stop: () => (controller.abort(), done) };
}
