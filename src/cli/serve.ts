/**
 * `flexcare serve`: the streaming ICU service.
 *
 * ```
 * deno task serve [--model DIR] [--port P] [--host H] [--data DIR] [--heads DIR]
 *                 [--backend auto|wasm|webgpu|native] [--tokens-file F]
 *                 [--log-level debug|info|warn|error] [--cors ORIGIN,...] [--rate-limit N]
 *                 [--plan FILE] [--tasks dec,los,...]
 * ```
 *
 * Online fine-tuning runs under the change control plan `--plan FILE` (default: the model
 * directory's `change_control.json`; without one every head is locked): outcomes posted to
 * `/v1/stays/:id/outcomes` label the predictions, and the plan's heads learn, in shadow first,
 * and are promoted only by its rules (see `src/online/`).
 *
 * With no flags it listens on 127.0.0.1:8787 with the default model (`models/default` of this
 * repository) and keeps its event log in `./.flexcare/`. Binding to a non-loopback address
 * needs bearer tokens (`FLEXCARE_TOKENS`, comma-separated, or `--tokens-file`, one per line);
 * with tokens every `/v1` route requires `Authorization: Bearer <token>`. The server listens at
 * once (`/healthz` answers, `/readyz` is 503) and becomes ready when the model is loaded, its
 * graphs warmed up and the stay log opened.
 *
 * Fine-tuned task heads (`deno task finetune`) are served from `--heads DIR` (default
 * `<data dir>/heads`, i.e. `.flexcare/heads`): every `<name>/head.json` trained on the loaded
 * model is loaded at start; the others are refused (logged by name and reason). Copy a new
 * head folder there and `POST /v1/models/reload` to serve it without a restart.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createApp } from "../../routes/app.ts";
import { serveHttp1 } from "../../routes/http1.ts";
import { HeadStore } from "../../routes/deps.ts";
import { createLogger, type Logger, type LogLevel } from "../../routes/logger.ts";
import type { RateLimit } from "../../routes/protect.ts";
import { BACKEND_NAMES, type BackendName } from "../model/backend.ts";
import { FlexCareModel } from "../model/flexcare_model.ts";
import {
  createStayService,
  type ManagedStayService,
  type SessionLogger,
} from "../session/service.ts";
import { UsageError } from "./usage_error.ts";
import type { OnlineLearner } from "../online/learner.ts";
import { openOnlineLearner } from "../online/open.ts";
import { integerFlag, numberFlag } from "./flags.ts";

/** The default model directory: `models/default` of this repository. */
export const DEFAULT_MODEL_DIR: string = new URL("../../models/default", import.meta.url).pathname;

/** Options for {@linkcode serve}; {@linkcode parseServeArgs} builds them from flags. */
export interface ServeOptions {
  /** @default {8787} */
  port?: number;
  /** @default {"127.0.0.1"} */
  host?: string;
  /**
   * Model directory; `null` serves without a model (health, docs and metrics only; `/v1` 503).
   * @default {DEFAULT_MODEL_DIR}
   */
  model?: string | null;
  /**
   * Folder of the stay event log.
   * @default {".flexcare"}
   */
  data?: string;
  /**
   * Folder of fine-tuned heads (`<name>/head.json`), reloaded by `POST /v1/models/reload`.
   * @default {"<data>/heads"}
   */
  heads?: string;
  /** @default {"auto"} */
  backend?: BackendName;
  /** Bearer tokens (required for non-loopback hosts). */
  tokens?: readonly string[];
  /** @default {"info"} */
  logLevel?: LogLevel;
  /** CORS origins (off when empty). */
  corsOrigins?: readonly string[];
  /** Per-client rate limit, or `false`. */
  rateLimit?: RateLimit | false;
  /**
   * A request's head must arrive within this long (of the connection opening or the previous
   * answer), else the connection closes.
   * @default {10000}
   */
  headersTimeoutMs?: number;
  /**
   * A request body must arrive within this long (chunked streams: may not pause longer).
   * @default {30000}
   */
  bodyTimeoutMs?: number;
  /** Serve HTTPS: PEM certificate chain and private key (`--cert FILE --key FILE`). */
  tls?: { readonly cert: string; readonly key: string };
  /**
   * Past this many queued model steps new writes are refused with 503 and `Retry-After`.
   * @default {64}
   */
  maxQueuedSteps?: number;
  /**
   * How long a late-data recompute waits for more of its stay's burst (see the stay service).
   * @default {1000}
   */
  recomputeDelayMs?: number;
  /**
   * The longest a late-data recompute waits for the rest of its stay's burst.
   * @default {5000}
   */
  recomputeWaitMs?: number;
  /**
   * Change control plan of online fine-tuning (default: `<model>/change_control.json`, else
   * every head locked: outcomes are recorded, nothing is learned).
   */
  plan?: string;
  /**
   * Tasks predicted at every step (the plan's tasks are added).
   * @default {["dec", "los"]}
   */
  tasks?: readonly string[];
  /**
   * Share of one core the online learner's Worker may use (1: unthrottled, e.g. for a fast
   * replay; the default keeps serving latency within a few percent while it trains).
   * @default {0.1}
   */
  learnerDuty?: number;
  /** Aborting it stops the server. */
  signal?: AbortSignal;
  /** Called with the bound port once listening. */
  onListen?: (port: number) => void;
  /** Called once the model is warmed up and the service is open. */
  onReady?: () => void;
}

/** Whether a host name or address is on the loopback interface. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
}

function sessionLogger(log: Logger): SessionLogger {
  // Structured data (ids, values) only at debug; the other levels get the message alone.
  return {
    debug: (m, data) => log.debug(data === undefined ? m : `${m} ${JSON.stringify(data)}`),
    info: (m) => log.info(`session: ${m}`),
    warn: (m) => log.warn(`session: ${m}`),
    error: (m) => log.error(`session: ${m}`),
  };
}

/** Checks that a model directory exists, with a clear message when it does not. */
export function checkModelDir(dir: string, explicit: boolean): void {
  if (existsSync(join(dir, "manifest.json"))) return;
  throw new UsageError(
    explicit
      ? `--model ${
        JSON.stringify(dir)
      } has no manifest.json: give a model directory written by \`deno task export\``
      : `No model: the default model directory ${dir} is missing (it is produced by training and \`deno task export\`); pass --model DIR to serve another model`,
  );
}

/**
 * Starts the service and resolves when it stops (the signal aborts, or startup fails after
 * listening: then it rejects with the reason).
 */
export async function serve(options: ServeOptions = {}): Promise<void> {
  const host = options.host ?? "127.0.0.1";
  const tokens = options.tokens ?? [];
  if (!isLoopback(host) && tokens.length === 0) {
    throw new UsageError(
      `Refusing to bind to non-loopback address ${
        JSON.stringify(host)
      }: set bearer tokens (FLEXCARE_TOKENS or --tokens-file)`,
    );
  }
  const modelDir = options.model === undefined ? DEFAULT_MODEL_DIR : options.model;
  if (modelDir !== null) checkModelDir(modelDir, options.model !== undefined);
  const log = createLogger(options.logLevel ?? "info");
  let model: FlexCareModel | undefined;
  let service: ManagedStayService | undefined;
  let online: OnlineLearner | undefined;
  let pruneTimer: ReturnType<typeof setInterval> | undefined;
  let ready = false;
  const dataDir = resolve(options.data ?? ".flexcare");
  const heads = new HeadStore(resolve(options.heads ?? join(dataDir, "heads")), log);
  const app = createApp({
    service: () => service,
    model: () => model,
    online: () => online,
    heads,
    ready: () => ready,
    tokens,
    log,
    ...(options.corsOrigins === undefined ? {} : { corsOrigins: options.corsOrigins }),
    ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
  });
  const stop = new AbortController();
  options.signal?.addEventListener("abort", () => stop.abort(), { once: true });
  if (options.signal?.aborted) stop.abort();
  const server = serveHttp1({
    hostname: host,
    port: options.port ?? 8787,
    signal: stop.signal,
    ...(options.headersTimeoutMs === undefined
      ? {}
      : { headersTimeoutMs: options.headersTimeoutMs }),
    ...(options.bodyTimeoutMs === undefined ? {} : { bodyTimeoutMs: options.bodyTimeoutMs }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    onError: (error) => log.debug(`connection: ${(error as Error).name}`),
    onListen: ({ hostname, port }) => {
      log.info(
        `flexcare listening on ${options.tls === undefined ? "http" : "https"}://${
          hostname.includes(":") ? `[${hostname}]` : hostname
        }:${port}`,
      );
      options.onListen?.(port);
    },
  }, app.fetch);
  let failure: unknown;
  if (modelDir !== null) {
    try {
      const started = performance.now();
      // Inference runs in a worker, never on the thread that answers requests.
      model = await FlexCareModel.load(modelDir, {
        backend: options.backend ?? "auto",
        offThread: true,
      });
      const check = model.autoCheck;
      if (check !== null && !check.kept) {
        log.warn(
          `backend auto: ${check.backend} differs from wasm by ${check.maxAbsDiff} on the probe sample; serving on wasm`,
        );
      }
      await model.warmUp();
      await heads.reload(model);
      const opened = await openOnlineLearner(model, {
        dataDir,
        ...(options.plan === undefined ? {} : { plan: options.plan }),
        ...(options.tasks === undefined ? {} : { tasks: options.tasks }),
        ...(options.learnerDuty === undefined ? {} : { duty: options.learnerDuty }),
        log: (level, m) => level === "warn" ? log.warn(`online: ${m}`) : log.info(`online: ${m}`),
      });
      online = opened.learner;
      log.info(`online: change control plan ${online.plan.source}`);
      // Retention: unlabelled samples past the retention time and labelled ones beyond the
      // plan's label windows are deleted at start and every hour.
      const learner = online;
      const prune = () => {
        try {
          learner.prune();
        } catch (error) {
          log.warn(`online: pruning failed: ${(error as Error).message}`);
        }
      };
      prune();
      const timer = setInterval(prune, 3_600_000);
      Deno.unrefTimer(timer);
      pruneTimer = timer;
      service = await createStayService({
        dataDir,
        model,
        tasks: opened.tasks,
        online,
        logger: sessionLogger(log),
        ...(options.maxQueuedSteps === undefined ? {} : { maxQueuedSteps: options.maxQueuedSteps }),
        recomputeDelayMs: options.recomputeDelayMs ?? 1000,
        recomputeWaitMs: options.recomputeWaitMs ?? 5000,
      });
      const recovered = await service.recover();
      ready = true;
      log.info(
        `ready: model ${model.name} on ${model.runtime.backend} (${model.runtime.detail}), ${recovered} active stays recovered, ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s`,
      );
      options.onReady?.();
    } catch (error) {
      failure = error;
      stop.abort();
    }
  }
  await server.finished;
  clearInterval(pruneTimer);
  await service?.close().catch((e) => log.error(`closing the stay log: ${(e as Error).message}`));
  await online?.close().catch((e) => log.error(`closing the learner: ${(e as Error).message}`));
  await model?.close().catch(() => {});
  if (failure !== undefined) throw failure;
}

function readTokens(file: string | undefined, env: string | undefined): string[] {
  const tokens: string[] = [];
  if (env !== undefined) {
    tokens.push(...env.split(",").map((t) => t.trim()).filter((t) => t !== ""));
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch (error) {
      throw new UsageError(
        `--tokens-file ${JSON.stringify(file)} cannot be read: ${(error as Error).message}`,
      );
    }
    tokens.push(
      ...text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#")),
    );
  }
  for (const t of tokens) {
    if (t.length < 16 || /\s/.test(t)) {
      throw new UsageError("Bearer tokens must be at least 16 characters without whitespace");
    }
  }
  return tokens;
}

/** Parses the flags (and `FLEXCARE_TOKENS`) once into a frozen configuration. */
export function parseServeArgs(
  args: string[],
  env: { FLEXCARE_TOKENS?: string } = {},
): Readonly<ServeOptions> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      data: { type: "string" },
      heads: { type: "string" },
      backend: { type: "string" },
      "tokens-file": { type: "string" },
      "log-level": { type: "string" },
      cors: { type: "string" },
      "rate-limit": { type: "string" },
      "header-timeout": { type: "string" },
      "body-timeout": { type: "string" },
      "max-queued-steps": { type: "string" },
      "recompute-delay": { type: "string" },
      "recompute-wait": { type: "string" },
      plan: { type: "string" },
      tasks: { type: "string" },
      "learner-duty": { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = values.port === undefined ? 8787 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be an integer 0-65535, got ${JSON.stringify(values.port)}`);
  }
  const backend = (values.backend ?? "auto") as BackendName;
  if (!BACKEND_NAMES.includes(backend)) {
    throw new UsageError(
      `--backend must be one of ${BACKEND_NAMES.join(", ")}, got ${JSON.stringify(values.backend)}`,
    );
  }
  const logLevel = (values["log-level"] ?? "info") as LogLevel;
  if (!["debug", "info", "warn", "error", "silent"].includes(logLevel)) {
    throw new UsageError(`--log-level must be debug, info, warn, error or silent`);
  }
  let rateLimit: RateLimit | false | undefined;
  if (values["rate-limit"] !== undefined) {
    const n = Number(values["rate-limit"]);
    if (!Number.isFinite(n) || n < 0) {
      throw new UsageError("--rate-limit must be requests per second >= 0 (0: off)");
    }
    rateLimit = n === 0 ? false : { burst: Math.max(1, Math.ceil(2 * n)), perSecond: n };
  }
  const seconds = (name: string, text: string | undefined) => {
    const s = numberFlag(name, text, { min: 0.001, max: 3600 });
    return s === undefined ? undefined : Math.round(s * 1000);
  };
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("--cert FILE and --key FILE go together (PEM certificate chain and key)");
  }
  let tls: { cert: string; key: string } | undefined;
  if (values.cert !== undefined && values.key !== undefined) {
    const read = (flag: string, path: string) => {
      try {
        return Deno.readTextFileSync(path);
      } catch (error) {
        throw new UsageError(`${flag} ${path}: ${(error as Error).message}`);
      }
    };
    tls = { cert: read("--cert", values.cert), key: read("--key", values.key) };
    if (!tls.cert.includes("-----BEGIN CERTIFICATE-----")) {
      throw new UsageError(`--cert ${values.cert} holds no PEM certificate`);
    }
    if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(tls.key)) {
      throw new UsageError(`--key ${values.key} holds no PEM private key`);
    }
  }
  const headersTimeoutMs = seconds("--header-timeout", values["header-timeout"]);
  const bodyTimeoutMs = seconds("--body-timeout", values["body-timeout"]);
  const recomputeDelay = numberFlag("--recompute-delay", values["recompute-delay"], {
    min: 0,
    max: 60,
  });
  const recomputeWait = numberFlag("--recompute-wait", values["recompute-wait"], {
    min: 0,
    max: 600,
  });
  const learnerDuty = numberFlag("--learner-duty", values["learner-duty"], { above: 0, max: 1 });
  const maxQueuedSteps = integerFlag("--max-queued-steps", values["max-queued-steps"], {
    min: 1,
  });
  const tokens = readTokens(values["tokens-file"], env.FLEXCARE_TOKENS);
  const tasks = values.tasks?.split(",").map((t) => t.trim()).filter(Boolean);
  if (
    tasks !== undefined && (tasks.length === 0 || tasks.some((t) => !/^[a-z0-9_]{1,32}$/.test(t)))
  ) {
    throw new UsageError("--tasks must be comma-separated task codes, e.g. dec,los,ihm");
  }
  const corsOrigins = values.cors === undefined
    ? []
    : values.cors.split(",").map((o) => o.trim()).filter(Boolean);
  return Object.freeze({
    port,
    host: values.host ?? "127.0.0.1",
    ...(values.model === undefined ? {} : { model: values.model }),
    data: values.data ?? ".flexcare",
    ...(values.heads === undefined ? {} : { heads: values.heads }),
    backend,
    tokens: Object.freeze(tokens),
    logLevel,
    corsOrigins: Object.freeze(corsOrigins),
    ...(rateLimit === undefined ? {} : { rateLimit }),
    ...(headersTimeoutMs === undefined ? {} : { headersTimeoutMs }),
    ...(tls === undefined ? {} : { tls }),
    ...(bodyTimeoutMs === undefined ? {} : { bodyTimeoutMs }),
    ...(maxQueuedSteps === undefined ? {} : { maxQueuedSteps }),
    ...(recomputeDelay === undefined
      ? {}
      : { recomputeDelayMs: Math.round(recomputeDelay * 1000) }),
    ...(recomputeWait === undefined ? {} : { recomputeWaitMs: Math.round(recomputeWait * 1000) }),
    ...(values.plan === undefined ? {} : { plan: values.plan }),
    ...(tasks === undefined ? {} : { tasks: Object.freeze(tasks) }),
    ...(learnerDuty === undefined ? {} : { learnerDuty }),
  });
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const env = Deno.env.get("FLEXCARE_TOKENS");
  const config = parseServeArgs(args, env === undefined ? {} : { FLEXCARE_TOKENS: env });
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  try {
    await serve({ ...config, signal: controller.signal });
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", stop);
  }
  return 0;
}
