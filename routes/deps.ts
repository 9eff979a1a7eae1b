/**
 * What the route modules need from the outside, resolved once by `createApp`: the stay service,
 * the model, the note encoder, limits, metrics and the logger. The service and the model may
 * arrive after the server starts (loading, warm-up), so they are read through functions; a
 * request that needs one that is not there yet gets 503.
 *
 * @module
 */
import type { Context } from "hono";
import { ServiceError } from "../src/session/errors.ts";
import type { StayService } from "../src/session/types.ts";
import type { FlexCareModel } from "../src/model/flexcare_model.ts";
import type { NoteEncoder } from "../src/features/notes/encoder.ts";
import { HeadRegistry, type HeadSummary } from "../src/finetune/head_registry.ts";
import { createNoteEncoder } from "../src/features/notes/create_encoder.ts";
import { badJson } from "./errors.ts";
import { isStayId } from "./schemas.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { OnlineLearner } from "../src/online/learner.ts";

/** Body size limits in bytes. */
export interface BodyLimits {
  /** JSON bodies (and FHIR, notes). */
  readonly json: number;
  /** Image bodies. */
  readonly image: number;
  /** A whole NDJSON stream. */
  readonly ndjson: number;
  /** One NDJSON line. */
  readonly ndjsonLine: number;
}

/** The default limits: JSON 1 MB, images 20 MB, NDJSON 64 MB in lines of at most 64 KB. */
export const DEFAULT_LIMITS: BodyLimits = Object.freeze({
  json: 1_000_000,
  image: 20_000_000,
  ndjson: 64_000_000,
  ndjsonLine: 65_536,
});

/** A head that is not served, and why (for `/v1/models` and the reload answer). */
export interface RefusedHeadInfo {
  readonly name: string;
  readonly reason: string;
}

/** The heads a request sees: one registry, read once per request. */
export interface HeadsView {
  /** The loaded registry (`null` without a heads folder). */
  readonly registry: HeadRegistry | null;
  /** The served heads (those of the registry whose name is not a built-in task). */
  readonly heads: readonly HeadSummary[];
  /** Heads not served: another base model, unreadable, or named like a built-in task. */
  readonly refused: readonly RefusedHeadInfo[];
}

/**
 * The fine-tuned heads of a folder (`serve --heads DIR`), for the loaded model. A registry is
 * immutable; {@linkcode HeadStore.reload} loads a new one and swaps it in at once, so a request
 * that already read the old one finishes with it. Reloads run one after another (the last one
 * wins). A head named like one of the model's built-in tasks is not served (the built-in task
 * answers for that name); it is listed as refused.
 */
export class HeadStore {
  /** The heads folder, or `null` (no heads). */
  readonly dir: string | null;
  readonly #log: Logger | undefined;
  #current: HeadRegistry | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string | null, log?: Logger) {
    this.dir = dir;
    this.#log = log;
  }

  /** The current registry for this model, loaded on first use (`null` without a folder). */
  current(model: FlexCareModel): Promise<HeadRegistry | null> {
    if (this.dir === null) return Promise.resolve(null);
    const now = this.#current;
    if (now !== undefined && now.modelHash === model.hash) return Promise.resolve(now);
    return this.reload(model);
  }

  /** Loads the folder again and swaps the new registry in (`null` without a folder). */
  reload(model: FlexCareModel): Promise<HeadRegistry | null> {
    const dir = this.dir;
    if (dir === null) return Promise.resolve(null);
    const next = this.#queue.then(async () => {
      const registry = await HeadRegistry.load(dir, { modelHash: model.hash });
      this.#current = registry;
      const view = headsView(model, registry);
      this.#log?.info(
        `heads: ${view.heads.length} loaded from ${dir}${
          view.heads.length ? ` (${view.heads.map((h) => h.task).join(", ")})` : ""
        }`,
      );
      for (const r of view.refused) this.#log?.info(`heads: refused ${r.name}: ${r.reason}`);
      return registry;
    });
    this.#queue = next.catch(() => {});
    return next;
  }
}

/** The served and refused heads of a registry for a model. */
export function headsView(model: FlexCareModel, registry: HeadRegistry | null): HeadsView {
  if (registry === null) return { registry, heads: [], refused: [] };
  const builtIn = new Set(model.manifest.tasks.map((t) => t.code));
  const refused: RefusedHeadInfo[] = registry.refused.map((r) => ({
    name: r.name,
    reason: r.error.message,
  }));
  for (const name of registry.names()) {
    if (builtIn.has(name)) {
      refused.push({
        name,
        reason: `Head "${name}" has the name of a built-in task of the model, which answers for ${
          JSON.stringify(name)
        }: fine-tune it under another name (--task ${name}_local --listfile-dir ${name})`,
      });
    }
  }
  refused.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    registry,
    heads: registry.describe().filter((h) => !builtIn.has(h.task)),
    refused,
  };
}

/** Dependencies of the route modules. */
export interface RouteDeps {
  /** The stay service (503 when not available yet). */
  service(): StayService;
  /** The model (503 while loading). */
  model(): FlexCareModel;
  /** The model's note encoder, built on first use. */
  noteEncoder(): Promise<NoteEncoder>;
  /** The fine-tuned heads a request sees (read once per request). */
  heads(model: FlexCareModel): Promise<HeadsView>;
  /** Reloads the heads folder (409 without one). */
  reloadHeads(model: FlexCareModel): Promise<HeadsView>;
  readonly limits: BodyLimits;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Interval of SSE keep-alive comments, ms. */
  readonly keepAliveMs: number;
  /** The online learner (503 when the service runs without one). */
  online(): OnlineLearner;
  /** The online learner, or undefined when the service runs without one. */
  onlineIfAny(): OnlineLearner | undefined;
}

/** Builds the dependency object from possibly late values. */
export function createDeps(options: {
  service: () => StayService | undefined;
  model: () => FlexCareModel | undefined;
  noteEncoder?: NoteEncoder;
  heads?: HeadStore;
  limits: BodyLimits;
  metrics: Metrics;
  log: Logger;
  keepAliveMs: number;
  online?: () => OnlineLearner | undefined;
}): RouteDeps {
  const store = options.heads ?? new HeadStore(null);
  let encoder: Promise<NoteEncoder> | undefined = options.noteEncoder === undefined
    ? undefined
    : Promise.resolve(options.noteEncoder);
  let encoderFor: FlexCareModel | undefined;
  const model = (): FlexCareModel => {
    const m = options.model();
    if (m === undefined) {
      throw new ServiceError(503, "model_unavailable", "The model is not loaded yet");
    }
    return m;
  };
  return Object.freeze({
    service: () => {
      const s = options.service();
      if (s === undefined) {
        throw new ServiceError(503, "service_unavailable", "The stay service is not running");
      }
      return s;
    },
    model,
    online: () => {
      const learner = options.online?.();
      if (learner === undefined) {
        throw new ServiceError(503, "online_unavailable", "Online fine-tuning is not running");
      }
      return learner;
    },
    onlineIfAny: () => options.online?.(),
    noteEncoder: () => {
      const m = model();
      if (options.noteEncoder === undefined && encoderFor !== m) {
        encoderFor = m;
        encoder = createNoteEncoder(m.manifest.note_encoder, { baseDir: m.dir });
      }
      return encoder!;
    },
    heads: async (m: FlexCareModel) => headsView(m, await store.current(m)),
    reloadHeads: async (m: FlexCareModel) => {
      if (store.dir === null) {
        throw new ServiceError(
          409,
          "no_heads_folder",
          "The service has no heads folder to reload (start it with serve --heads DIR)",
        );
      }
      return headsView(m, await store.reload(m));
    },
    limits: options.limits,
    metrics: options.metrics,
    log: options.log,
    keepAliveMs: options.keepAliveMs,
  });
}

/** The `:stayId` parameter, validated (400 for ids that could never exist). */
export function stayIdOf(c: Context): string {
  const id = c.req.param("stayId") ?? "";
  if (!isStayId(id)) {
    throw new ServiceError(
      400,
      "invalid_stay_id",
      "Stay ids are 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit",
      { field: "stayId" },
    );
  }
  return id;
}

/** The media type of a request without parameters, lower case ("" when absent). */
export function mediaTypeOf(c: Context): string {
  return (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/** A 415 naming the accepted types. */
export function unsupportedType(got: string, accepted: readonly string[]): ServiceError {
  return new ServiceError(
    415,
    "unsupported_media_type",
    `Content-Type ${JSON.stringify(got)} is not accepted here: use ${accepted.join(", ")}`,
  );
}

/** Parses JSON text (400 when malformed). */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badJson(error);
  }
}

/** Reads the body as JSON (400 when malformed). */
export async function readJson(c: Context): Promise<unknown> {
  return parseJsonText(await c.req.text());
}

/** The `onError` of `bodyLimit`: a 413 naming the limit. */
export function tooLarge(maxBytes: number): () => never {
  return () => {
    throw new ServiceError(
      413,
      "payload_too_large",
      `The body is larger than the limit of ${maxBytes} bytes for this route`,
    );
  };
}

/** The `Idempotency-Key` header, validated, as write options. */
/**
 * The write options of a request: its `Idempotency-Key` and its signal, which aborts when the
 * client goes away before the answer (the service then drops a write that has not started).
 */
export function writeOptionsOf(c: Context): { idempotencyKey?: string; signal: AbortSignal } {
  return { ...idempotencyOf(c), signal: c.req.raw.signal };
}

export function idempotencyOf(c: Context): { idempotencyKey?: string } {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return {};
  if (key.length < 1 || key.length > 200 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new ServiceError(
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1-200 printable ASCII characters",
      { field: "Idempotency-Key" },
    );
  }
  return { idempotencyKey: key };
}
