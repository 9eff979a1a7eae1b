/**
 * The Hono application: routes, validation and the mapping of domain errors to HTTP.
 *
 * @module
 */
import { Hono } from "hono";

/** Options for {@linkcode createApp}. */
export interface AppOptions {
  /**
   * Version string reported by `/healthz`.
   * @default {"0.1.0"}
   */
  version?: string;
}

/**
 * Builds the HTTP application.
 *
 * @example Health check in-process
 * ```ts
 * import { createApp } from "./app.ts";
 * const res = await createApp().request("/healthz");
 * if (res.status !== 200) throw new Error("unhealthy");
 * ```
 */
export function createApp(options: AppOptions = {}): Hono {
  const version = options.version ?? "0.1.0";
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok", version }));
  app.notFound((c) =>
    c.json({ error: "not_found", detail: `No route for ${c.req.method} ${c.req.path}` }, 404)
  );
  return app;
}
