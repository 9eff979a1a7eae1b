/**
 * Prediction history and live stream:
 *
 * - `GET /v1/stays/:stayId/predictions?since=N`: stored predictions with `seq > N` (all by
 *   default), oldest first.
 * - `GET /v1/stays/:stayId/stream`: Server-Sent Events. First an `event: ready` (no id) once the
 *   subscription is live; then every new prediction as `event: prediction`, `id: <seq>`,
 *   `data: <prediction JSON>`. With a `Last-Event-ID` header (a reconnecting EventSource) or
 *   `?since=N`, the stored predictions after that seq are sent first, then the live ones, with
 *   none twice. A comment line is sent every 15 s to keep proxies from closing the stream.
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { StayPrediction } from "../src/session/types.ts";
import { ServiceError } from "../src/session/errors.ts";
import { SinceQuery } from "./schemas.ts";
import { type RouteDeps, stayIdOf } from "./deps.ts";

function sinceOf(text: string | undefined, field: string): number | undefined {
  if (text === undefined || text === "") return undefined;
  const parsed = SinceQuery.safeParse(text.trim());
  if (!parsed.success) {
    throw new ServiceError(422, "invalid_request", `${field} must be an integer >= 0`, { field });
  }
  return parsed.data;
}

/** The prediction routes. */
export function predictionRoutes(deps: RouteDeps): Hono {
  const app = new Hono();

  app.get("/v1/stays/:stayId/predictions", async (c) => {
    const stayId = stayIdOf(c);
    const since = sinceOf(c.req.query("since"), "since");
    const predictions = await deps.service().predictions(
      stayId,
      since === undefined ? {} : { since },
    );
    return c.json({ stayId, predictions });
  });

  app.get("/v1/stays/:stayId/stream", async (c) => {
    const stayId = stayIdOf(c);
    const service = deps.service();
    const since = sinceOf(c.req.header("last-event-id"), "Last-Event-ID") ??
      sinceOf(c.req.query("since"), "since");
    await service.get(stayId); // 404 before the stream starts
    return streamSSE(c, async (stream) => {
      const queue: StayPrediction[] = [];
      let wake: (() => void) | undefined;
      let closed = false;
      const unsubscribe = service.subscribe(stayId, (p) => {
        queue.push(p);
        wake?.();
      });
      stream.onAbort(() => {
        closed = true;
        wake?.();
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        let sent = -1;
        await stream.writeSSE({ event: "ready", data: JSON.stringify({ stayId }) });
        if (since !== undefined) {
          sent = since;
          for (const p of await service.predictions(stayId, { since })) {
            await stream.writeSSE({
              event: "prediction",
              id: String(p.seq),
              data: JSON.stringify(p),
            });
            sent = Math.max(sent, p.seq);
          }
        }
        while (!closed && !stream.aborted) {
          while (queue.length > 0) {
            const p = queue.shift()!;
            if (p.seq <= sent) continue;
            await stream.writeSSE({
              event: "prediction",
              id: String(p.seq),
              data: JSON.stringify(p),
            });
            sent = p.seq;
          }
          const woke = await new Promise<boolean>((resolve) => {
            wake = () => resolve(true);
            timer = setTimeout(() => resolve(false), deps.keepAliveMs);
          });
          clearTimeout(timer);
          wake = undefined;
          if (!woke && !closed) await stream.write(": keep-alive\n\n");
        }
      } catch {
        // The client went away while we were writing: nothing to answer.
      } finally {
        clearTimeout(timer);
        unsubscribe();
      }
    });
  });

  return app;
}
