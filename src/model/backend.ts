/**
 * The one module that chooses the ONNX backend and names execution providers.
 *
 * - `wasm`: onnxruntime-web on WebAssembly (CPU), single-threaded, `.wasm` files from the
 *   installed package (never a CDN). Works everywhere.
 * - `webgpu`: onnxruntime-web's WebGPU execution provider. `auto` picks it only when a real
 *   (non-fallback) GPU adapter exists; asking for it explicitly also accepts a software adapter
 *   (useful for correctness tests). Deno's `GPUQueue.writeBuffer` is given a plain
 *   `ArrayBuffer` copy, which the provider needs there.
 * - `native`: onnxruntime-node's bundled CPU binaries (no install script needed).
 * - `auto`: WebGPU on a real GPU, else native where onnxruntime-node loads, else wasm (see
 *   {@linkcode resolveBackend}).
 *
 * Any of them runs on the calling thread, or in a Worker with `offThread` (what the server
 * uses; see `worker_ort.ts`).
 *
 * @module
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { findPackageDir } from "../features/notes/package_dir.ts";
import { WorkerOrt } from "./worker_ort.ts";

/** A backend name as given on the command line. */
export type BackendName = "auto" | "wasm" | "webgpu" | "native";

/** The backend actually in use. */
export type ResolvedBackend = "wasm" | "webgpu" | "native";

/** The names accepted by {@linkcode resolveBackend}. */
export const BACKEND_NAMES: readonly BackendName[] = Object.freeze([
  "auto",
  "wasm",
  "webgpu",
  "native",
]);

/** A loaded runtime: the module's `InferenceSession`/`Tensor` and the execution providers. */
export interface OrtRuntime {
  readonly backend: ResolvedBackend;
  /** Execution providers passed to every session. */
  readonly executionProviders: readonly string[];
  /** Human-readable details (adapter name, threads). */
  readonly detail: string;
  // deno-lint-ignore no-explicit-any
  readonly ort: any;
  /** Whether `auto` picked the backend (the model then checks it against wasm). */
  readonly auto?: boolean;
  /** Whether the sessions run in a Worker. */
  readonly offThread?: boolean;
  /** Stops what the runtime started (the worker); sessions must be released first. */
  readonly close?: () => Promise<void>;
}

type WebOrt = typeof import("onnxruntime-web");

let webOrt: Promise<WebOrt> | undefined;
let webGpuOrt: Promise<WebOrt> | undefined;

/**
 * Imports onnxruntime-web once, with its wasm files taken from the local package, one thread
 * and no proxy worker (multi-threaded wasm needs a same-origin worker URL Deno cannot give).
 */
export function loadWebOrt(): Promise<WebOrt> {
  webOrt ??= configureWebOrt(import("onnxruntime-web"));
  return webOrt;
}

/** The WebGPU build of onnxruntime-web (its own module and wasm instance), configured alike. */
function loadWebGpuOrt(): Promise<WebOrt> {
  webGpuOrt ??= configureWebOrt(import("onnxruntime-web/webgpu") as Promise<WebOrt>);
  return webGpuOrt;
}

function configureWebOrt(module: Promise<WebOrt>): Promise<WebOrt> {
  return (async () => {
    const ort = await module;
    ort.env.wasm.wasmPaths = pathToFileURL(join(findPackageDir("onnxruntime-web"), "dist")).href +
      "/";
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = "error";
    return ort;
  })();
}

const queues = new WeakMap<object, Promise<unknown>>();

/**
 * Runs `task` after every earlier task queued on the same runtime module has settled.
 * onnxruntime-web gives corrupt results when runs (or session creations) of two sessions
 * overlap in one wasm instance, so every model graph and note encoder queues here.
 *
 * @example Two tasks in order
 * ```ts
 * import { runExclusive } from "./backend.ts";
 * const key = {};
 * const order: number[] = [];
 * await Promise.all([
 *   runExclusive(key, async () => { await new Promise((r) => setTimeout(r, 5)); order.push(1); }),
 *   runExclusive(key, async () => { order.push(2); }),
 * ]);
 * if (order.join() !== "1,2") throw new Error();
 * ```
 */
export function runExclusive<T>(key: object, task: () => Promise<T>): Promise<T> {
  const next = (queues.get(key) ?? Promise.resolve()).then(task);
  queues.set(key, next.catch(() => {}));
  return next;
}

interface GpuAdapterLike {
  info?: {
    isFallbackAdapter?: boolean;
    description?: string;
    vendor?: string;
    architecture?: string;
  };
  isFallbackAdapter?: boolean;
}

/** The WebGPU adapter, or `null` when WebGPU is unavailable. */
async function gpuAdapter(): Promise<GpuAdapterLike | null> {
  // deno-lint-ignore no-explicit-any
  const gpu = (globalThis.navigator as any)?.gpu;
  if (!gpu) return null;
  try {
    return (await gpu.requestAdapter()) ?? null;
  } catch {
    return null;
  }
}

function isFallback(adapter: GpuAdapterLike): boolean {
  return adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
}

let writeBufferPatched = false;

/** Makes `GPUQueue.writeBuffer` receive a plain `ArrayBuffer` copy of the bytes to write. */
function patchWriteBuffer(): void {
  // deno-lint-ignore no-explicit-any
  const Queue = (globalThis as any).GPUQueue;
  if (writeBufferPatched || !Queue?.prototype?.writeBuffer) return;
  const original = Queue.prototype.writeBuffer;
  Queue.prototype.writeBuffer = function (
    buffer: unknown,
    bufferOffset: number,
    data: ArrayBufferView | ArrayBufferLike,
    dataOffset?: number,
    size?: number,
  ) {
    const isView = ArrayBuffer.isView(data);
    const bytes = isView
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data as ArrayBufferLike);
    const unit = isView
      ? ((data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1)
      : 1;
    const start = (dataOffset ?? 0) * unit;
    const end = size === undefined ? bytes.length : start + size * unit;
    return original.call(this, buffer, bufferOffset, bytes.slice(start, end).buffer);
  };
  writeBufferPatched = true;
}

/** The in-thread runtime module of a backend, loaded and configured. */
export async function loadOrtModule(
  backend: ResolvedBackend,
): Promise<{ ort: unknown; executionProviders: readonly string[]; detail: string }> {
  if (backend === "native") {
    const ort = await import("onnxruntime-node");
    return { ort, executionProviders: ["cpu"], detail: "onnxruntime-node CPU" };
  }
  if (backend === "webgpu") {
    const adapter = await gpuAdapter();
    if (adapter === null) {
      throw new Error(
        "WebGPU backend requested but no WebGPU adapter is available (run Deno with --unstable-webgpu)",
      );
    }
    patchWriteBuffer();
    const ort = await loadWebGpuOrt();
    const info = adapter.info;
    const label = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(" ") ||
      "adapter";
    return {
      ort,
      executionProviders: ["webgpu"],
      detail: `WebGPU ${label}${isFallback(adapter) ? " (software fallback)" : ""}`,
    };
  }
  return {
    ort: await loadWebOrt(),
    executionProviders: ["wasm"],
    detail: "onnxruntime-web wasm, 1 thread",
  };
}

/** Options of {@linkcode resolveBackend}. */
export interface ResolveBackendOptions {
  /**
   * Run the sessions in a Worker (see `worker_ort.ts`) instead of on the calling thread: what
   * a server wants, so that inference never blocks the thread that answers requests.
   * @default {false}
   */
  offThread?: boolean;
}

/** Whether onnxruntime-node's binaries load here. */
async function nativeLoads(): Promise<boolean> {
  try {
    await import("onnxruntime-node");
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves a backend name to a loaded runtime. `auto` takes WebGPU on a real (non-fallback)
 * GPU adapter, else native where onnxruntime-node loads, else wasm; a model loaded with `auto`
 * then checks the pick against wasm on a warm-up input and falls back to wasm when they
 * disagree (`FlexCareModel.load`).
 *
 * @example The portable default
 * ```ts ignore
 * import { resolveBackend } from "./backend.ts";
 * const runtime = await resolveBackend("auto");
 * console.log(runtime.backend, runtime.executionProviders);
 * ```
 */
export async function resolveBackend(
  name: BackendName = "auto",
  options: ResolveBackendOptions = {},
): Promise<OrtRuntime> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new RangeError(
      `Unknown backend ${JSON.stringify(name)}: expected one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  let backend: ResolvedBackend;
  if (name === "auto") {
    const adapter = await gpuAdapter();
    backend = adapter !== null && !isFallback(adapter)
      ? "webgpu"
      : await nativeLoads()
      ? "native"
      : "wasm";
  } else {
    backend = name;
  }
  const auto = name === "auto";
  if (options.offThread) {
    const ort = new WorkerOrt(backend);
    const detail = await ort.start();
    return {
      backend,
      executionProviders: [],
      detail: `${detail}, in a worker`,
      ort,
      auto,
      offThread: true,
      close: () => Promise.resolve(ort.stop()),
    };
  }
  const loaded = await loadOrtModule(backend);
  return { backend, ...loaded, auto, offThread: false };
}
