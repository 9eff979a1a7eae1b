/**
 * The one place that chooses the ONNX backend for note encoders: `onnxruntime-web` on its
 * WebAssembly (CPU) backend, single-threaded, with its `.wasm` files taken from the installed
 * package (never from a CDN).
 *
 * @module
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { findPackageDir } from "./package_dir.ts";

type Ort = typeof import("onnxruntime-web");

/** Options of {@linkcode loadOnnxRuntime}. */
export interface OnnxRuntimeOptions {
  /**
   * Folder (or URL prefix) of the `ort-wasm*.wasm/.mjs` files.
   * @default {"<node_modules>/onnxruntime-web/dist/"}
   */
  readonly wasmPaths?: string;
}

let loaded: Promise<Ort> | undefined;

/**
 * Imports `onnxruntime-web` on first use and configures its WebAssembly backend (local wasm
 * files, 1 thread, no proxy worker). Later calls return the same module.
 *
 * @example
 * ```ts ignore
 * import { loadOnnxRuntime } from "./onnx_runtime.ts";
 * const ort = await loadOnnxRuntime();
 * const session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"] });
 * ```
 */
export function loadOnnxRuntime(options: OnnxRuntimeOptions = {}): Promise<Ort> {
  loaded ??= (async () => {
    const ort = await import("onnxruntime-web");
    const dist = options.wasmPaths ??
      pathToFileURL(join(findPackageDir("onnxruntime-web"), "dist")).href + "/";
    ort.env.wasm.wasmPaths = dist;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    return ort;
  })();
  return loaded;
}

/** The tail of the run queue of each onnxruntime-web module (one wasm instance each). */
const queues = new WeakMap<object, Promise<unknown>>();

/**
 * Runs `task` after every earlier task queued on the same onnxruntime-web module: runs of
 * sessions that overlap in one wasm instance give corrupt results, so every `session.run` on the
 * module goes through this queue (key it on the module object `loadOnnxRuntime` returns).
 *
 * @example
 * ```ts
 * import { runExclusive } from "./onnx_runtime.ts";
 * const ort = {}; // stands for the imported onnxruntime-web module
 * const order: number[] = [];
 * await Promise.all([
 *   runExclusive(ort, async () => { await new Promise((r) => setTimeout(r, 5)); order.push(1); }),
 *   runExclusive(ort, () => { order.push(2); return Promise.resolve(); }),
 * ]);
 * if (order.join() !== "1,2") throw new Error();
 * ```
 */
export function runExclusive<T>(ort: object, task: () => Promise<T>): Promise<T> {
  const next = (queues.get(ort) ?? Promise.resolve()).then(task);
  queues.set(ort, next.catch(() => {}));
  return next;
}

/** The execution providers used for every note-encoder session. */
export const NOTE_EXECUTION_PROVIDERS: readonly string[] = Object.freeze(["wasm"]);
