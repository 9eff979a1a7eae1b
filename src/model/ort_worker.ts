/**
 * The inference worker: owns the ONNX Runtime sessions of one backend (wasm, WebGPU or
 * native) off the thread that answers HTTP. Started by {@linkcode WorkerOrt}; speaks the
 * protocol of `worker_protocol.ts`. Messages are handled one at a time, in order: the web
 * runtimes give corrupt results when runs of two sessions overlap in one wasm instance, and a
 * queue of one costs nothing on a single thread.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { loadOrtModule } from "./backend.ts";
import type { WireTensor, WorkerReply, WorkerRequest } from "./worker_protocol.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

let ort: Any;
let providers: string[] = [];
const sessions = new Map<number, Any>();
let queue: Promise<void> = Promise.resolve();

function reply(message: WorkerReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

async function handle(request: WorkerRequest): Promise<void> {
  switch (request.op) {
    case "init": {
      const loaded = await loadOrtModule(request.backend);
      ort = loaded.ort;
      providers = [...loaded.executionProviders];
      reply({ id: request.id, ok: true, detail: loaded.detail });
      return;
    }
    case "create": {
      const session = await ort.InferenceSession.create(request.bytes, {
        ...request.options,
        executionProviders: providers,
      });
      sessions.set(request.session, session);
      reply({
        id: request.id,
        ok: true,
        inputNames: [...session.inputNames],
        outputNames: [...session.outputNames],
      });
      return;
    }
    case "run": {
      const session = sessions.get(request.session);
      if (session === undefined) throw new Error(`No session ${request.session} in the worker`);
      const feed: Record<string, unknown> = {};
      for (const [name, t] of Object.entries(request.feed)) {
        feed[name] = new ort.Tensor(t.type, t.data, t.dims);
      }
      const result = await session.run(feed);
      const outputs: Record<string, WireTensor> = {};
      const transfer: Transferable[] = [];
      for (const [name, t] of Object.entries<Any>(result)) {
        // A fresh copy that owns its buffer, so it can be moved rather than cloned.
        const data = t.data.slice();
        outputs[name] = { type: t.type, dims: [...t.dims].map(Number), data };
        transfer.push(data.buffer);
        t.dispose?.();
      }
      reply({ id: request.id, ok: true, outputs }, transfer);
      return;
    }
    case "release": {
      const session = sessions.get(request.session);
      sessions.delete(request.session);
      await session?.release?.();
      reply({ id: request.id, ok: true });
      return;
    }
  }
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  queue = queue.then(() => handle(request)).catch((error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    reply({ id: request.id, ok: false, error: { name: e.name, message: e.message } });
  });
};
