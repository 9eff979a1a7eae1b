/**
 * An ONNX Runtime whose sessions live in a Worker: the same `InferenceSession.create`,
 * `session.run`, `session.release` and `Tensor` surface the callers use in-thread, so a graph
 * session or note encoder does not know where it runs. Inference then never runs on the
 * thread that answers HTTP (`/healthz`, SSE heartbeats and request parsing stay responsive
 * while a step runs), on every backend: onnxruntime-web's wasm and WebGPU run on the calling
 * thread, and onnxruntime-node's `run` is synchronous underneath its promise.
 *
 * Inputs are copied to the worker (the callers keep cached tower states); outputs are moved
 * back. The worker starts with the first session and stops when the last one is released, so
 * a process whose models are closed can exit. A worker that dies fails every pending and
 * later call with the cause, instead of leaving them waiting.
 *
 * @module
 */
import type { ResolvedBackend } from "./backend.ts";
import type { WireTensor, WorkerReply, WorkerRequest } from "./worker_protocol.ts";

/**
 * The web `Worker`, taken before any runtime loads: onnxruntime-web's Emscripten glue replaces
 * the global with Node's `worker_threads` one when it thinks it runs under Node.
 */
export const WebWorker: typeof Worker = globalThis.Worker;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A tensor as the callers build it (`new ort.Tensor(type, data, dims)`). */
class PlainTensor implements WireTensor {
  readonly type: string;
  readonly data: WireTensor["data"];
  readonly dims: readonly number[];
  constructor(type: string, data: WireTensor["data"], dims: readonly number[]) {
    this.type = type;
    this.data = data;
    this.dims = dims;
  }
  dispose(): void {}
}

/** One session in the worker. */
class WorkerSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly #owner: WorkerOrt;
  readonly #id: number;
  #released = false;

  constructor(owner: WorkerOrt, id: number, inputs: readonly string[], outputs: readonly string[]) {
    this.#owner = owner;
    this.#id = id;
    this.inputNames = inputs;
    this.outputNames = outputs;
  }

  async run(feed: Readonly<Record<string, WireTensor>>): Promise<Record<string, PlainTensor>> {
    if (this.#released) throw new Error("The inference session was released");
    const wire: Record<string, WireTensor> = {};
    for (const [name, t] of Object.entries(feed)) {
      wire[name] = { type: t.type, dims: [...t.dims], data: t.data };
    }
    const reply = await this.#owner.call({ op: "run", session: this.#id, feed: wire });
    const out: Record<string, PlainTensor> = {};
    for (const [name, t] of Object.entries(reply.outputs ?? {})) {
      out[name] = new PlainTensor(t.type, t.data, t.dims);
    }
    return out;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#owner.releaseSession(this.#id);
  }
}

/** The `ort` module surface, backed by a worker. */
export class WorkerOrt {
  readonly backend: ResolvedBackend;
  readonly Tensor = PlainTensor;
  readonly InferenceSession: {
    create(bytes: Uint8Array, options?: Record<string, unknown>): Promise<WorkerSession>;
  };
  #worker: Worker | undefined;
  #ready: Promise<string> | undefined;
  #nextId = 1;
  #nextSession = 1;
  #live = 0;
  #failure: Error | undefined;
  readonly #pending = new Map<
    number,
    { resolve: (r: WorkerReply & { ok: true }) => void; reject: (e: Error) => void }
  >();

  constructor(backend: ResolvedBackend) {
    this.backend = backend;
    this.InferenceSession = {
      create: (bytes, options = {}) => this.#create(bytes, options),
    };
  }

  /** Starts the worker (if needed) and loads the backend in it; resolves with its details. */
  start(): Promise<string> {
    if (this.#ready !== undefined) return this.#ready;
    this.#failure = undefined;
    const worker = new WebWorker(new URL("./ort_worker.ts", import.meta.url).href, {
      type: "module",
      name: `flexcare-inference-${this.backend}`,
    });
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      const waiter = this.#pending.get(reply.id);
      if (waiter === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new Error(`The inference worker (${this.backend}) failed: ${event.message}`));
    };
    this.#worker = worker;
    const ready = this.call({ op: "init", backend: this.backend }).then((r) => r.detail ?? "");
    this.#ready = ready;
    ready.catch(() => {});
    return ready;
  }

  /** Sends a request and waits for its reply. */
  call(request: DistributiveOmit<WorkerRequest, "id">): Promise<WorkerReply & { ok: true }> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const worker = this.#worker;
    if (worker === undefined) return Promise.reject(new Error("The inference worker is stopped"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id } as WorkerRequest);
    });
  }

  /** Releases a session; the worker stops with the last one. */
  async releaseSession(id: number): Promise<void> {
    try {
      await this.call({ op: "release", session: id });
    } finally {
      this.#live -= 1;
      if (this.#live === 0) this.stop();
    }
  }

  /** Stops the worker now; pending calls fail. */
  stop(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready = undefined;
    const stopped = new Error("The inference worker was stopped");
    for (const waiter of this.#pending.values()) waiter.reject(stopped);
    this.#pending.clear();
  }

  async #create(bytes: Uint8Array, options: Record<string, unknown>): Promise<WorkerSession> {
    await this.start();
    const session = this.#nextSession++;
    this.#live += 1;
    try {
      // The options that matter off-thread; execution providers are the worker's own.
      const { executionProviders: _, ...rest } = options;
      const reply = await this.call({ op: "create", session, bytes: bytes.slice(), options: rest });
      return new WorkerSession(this, session, reply.inputNames ?? [], reply.outputNames ?? []);
    } catch (error) {
      this.#live -= 1;
      if (this.#live === 0) this.stop();
      throw error;
    }
  }

  #fail(error: Error): void {
    this.#failure = error;
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
  }
}
