/**
 * The Hono application: routes, validation and the mapping of domain errors to HTTP.
 *
 * One module per feature (`stays`, `observations`, `images`, `notes`, `predictions`, `predict`,
 * `models`, `health`, `openapi`), assembled here with the cross-cutting middleware: metrics and
 * request logs (route patterns only above debug), secure headers, CORS when configured, bearer
 * authentication when tokens are configured, per-client rate limits, and one `onError`.
 *
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { StayService } from "../src/session/types.ts";
import type { FlexCareModel } from "../src/model/flexcare_model.ts";
import type { NoteEncoder } from "../src/features/notes/encoder.ts";
import { type BodyLimits, createDeps, DEFAULT_LIMITS, HeadStore } from "./deps.ts";
import { errorHandler } from "./errors.ts";
import { createLogger, type Logger } from "./logger.ts";
import { Metrics, metricsMiddleware } from "./metrics.ts";
import { bearerAuth, type RateLimit, rateLimit } from "./protect.ts";
import { stayRoutes } from "./stays.ts";
import { observationRoutes } from "./observations.ts";
import { imageRoutes } from "./images.ts";
import { noteRoutes } from "./notes.ts";
import { predictionRoutes } from "./predictions.ts";
import { predictRoutes } from "./predict.ts";
import { modelRoutes } from "./models.ts";
import { healthRoutes } from "./health.ts";
import { openApiRoutes } from "./openapi.ts";
import { onlineRoutes } from "./online.ts";
import type { OnlineLearner } from "../src/online/learner.ts";

/** A value given directly or read when needed (it may arrive after the server starts). */
export type Late<T> = T | (() => T | undefined);

/** Options for {@linkcode createApp}. */
export interface AppOptions {
  /**
   * Version string reported by `/healthz` and the OpenAPI document.
   * @default {"0.1.0"}
   */
  version?: string;
  /** The stay service; `/v1/stays/...` answer 503 without it. */
  service?: Late<StayService>;
  /** The online learner; outcomes and `/v1/online` answer 503 without it. */
  online?: Late<OnlineLearner>;
  /** The model; `/v1/predict` and `/v1/models` answer 503 without it. */
  model?: Late<FlexCareModel>;
  /** The note encoder for `/v1/predict` (default: built from the model's manifest on first use). */
  noteEncoder?: NoteEncoder;
  /**
   * Fine-tuned heads: a folder of `<name>/head.json` (loaded on first use, reloaded by
   * `POST /v1/models/reload`) or a store shared with the caller. None when absent.
   */
  heads?: string | HeadStore;
  /**
   * Readiness for `/readyz`.
   * @default {() => model present}
   */
  ready?: () => boolean;
  /** Bearer tokens; when non-empty every `/v1` route requires one (401 otherwise). */
  tokens?: readonly string[];
  /**
   * Per-client token bucket for `/v1` (per token, or per peer address without tokens); `false`
   * turns it off.
   * @default {{ burst: 600, perSecond: 300 }}
   */
  rateLimit?: RateLimit | false;
  /** Origins allowed by CORS; CORS is off when absent or empty. */
  corsOrigins?: readonly string[];
  /** Body size limits (JSON 1 MB, images 20 MB by default). */
  limits?: Partial<BodyLimits>;
  /** The logger (default: info level to stderr). */
  log?: Logger;
  /** Metrics registry (default: a new one). */
  metrics?: Metrics;
  /**
   * SSE keep-alive interval, ms.
   * @default {15000}
   */
  keepAliveMs?: number;
}

function late<T>(value: Late<T> | undefined): () => T | undefined {
  if (typeof value === "function") return value as () => T | undefined;
  return () => value;
}

/**
 * Builds the HTTP application. Options are checked here (a `TypeError` for bad ones), not per
 * request.
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
  const log = options.log ?? createLogger("info");
  const metrics = options.metrics ?? new Metrics();
  const limits: BodyLimits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 1) {
      throw new TypeError(`limits.${k} must be a positive integer`);
    }
  }
  const service = late(options.service);
  const model = late(options.model);
  const deps = createDeps({
    service,
    model,
    ...(options.noteEncoder === undefined ? {} : { noteEncoder: options.noteEncoder }),
    ...(options.heads === undefined ? {} : {
      heads: typeof options.heads === "string" ? new HeadStore(options.heads, log) : options.heads,
    }),
    limits,
    metrics,
    log,
    keepAliveMs: options.keepAliveMs ?? 15_000,
    online: late(options.online),
  });
  const app = new Hono();
  // A client that went away (499) gets its line at debug: nothing went wrong on this side.
  app.use(metricsMiddleware(metrics, (line, status) => {
    if (status === 499) log.debug(line);
    else log.info(line);
  }));
  app.use(secureHeaders({ crossOriginResourcePolicy: "same-origin" }));
  if (options.corsOrigins !== undefined && options.corsOrigins.length > 0) {
    app.use("/v1/*", cors({ origin: [...options.corsOrigins], maxAge: 600 }));
  }
  if (options.tokens !== undefined && options.tokens.length > 0) {
    app.use("/v1/*", bearerAuth(options.tokens));
  }
  const limit = options.rateLimit ?? { burst: 600, perSecond: 300 };
  if (limit !== false) app.use("/v1/*", rateLimit(limit));
  app.use("*", async (c, next) => {
    log.debug(`${c.req.method} ${c.req.path}`);
    await next();
  });

  app.route(
    "/",
    healthRoutes(deps, {
      version,
      ready: options.ready ?? (() => model() !== undefined),
      service,
      model,
    }),
  );
  app.route("/", openApiRoutes(version));
  for (
    const routes of [
      stayRoutes,
      observationRoutes,
      imageRoutes,
      noteRoutes,
      predictionRoutes,
      predictRoutes,
      modelRoutes,
      onlineRoutes,
    ]
  ) {
    app.route("/", routes(deps));
  }
  app.notFound((c) =>
    c.json({ error: "not_found", detail: `No route for ${c.req.method} ${c.req.path}` }, 404)
  );
  app.onError(errorHandler(log));
  return app;
}
