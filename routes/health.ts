/**
 * `GET /healthz` (the process answers), `GET /readyz` (503 until the model is loaded and warmed
 * up) and `GET /metrics` (Prometheus text).
 *
 * @module
 */
import { Hono } from "hono";
import type { RouteDeps } from "./deps.ts";

/** The health and metrics routes. */
export function healthRoutes(
  deps: RouteDeps,
  options: { version: string; ready: () => boolean; service: () => unknown; model: () => unknown },
): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok", version: options.version }));
  app.get("/readyz", (c) => {
    const ready = options.ready();
    return c.json(
      ready
        ? { status: "ready" }
        : { error: "not_ready", detail: "The model is loading or warming up" },
      ready ? 200 : 503,
    );
  });
  app.get("/metrics", (c) => {
    const body = deps.metrics.render(
      options.service() as Parameters<typeof deps.metrics.render>[0],
      options.model() as Parameters<typeof deps.metrics.render>[1],
    );
    const online = deps.onlineIfAny()?.metricsText() ?? [];
    return c.body(online.length ? body + online.join("\n") + "\n" : body, 200, {
      "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });
  return app;
}
