/**
 * One ONNX graph in an inference session, with its feed checked against the graph's inputs
 * before every run (every missing or unexpected input listed at once) and run times recorded.
 *
 * @module
 */
import { type OrtRuntime, runExclusive } from "./backend.ts";
import type { GraphSpec } from "./manifest.ts";

/** A named tensor as plain data. */
export interface HostTensor {
  readonly dims: readonly number[];
  readonly dtype: "float32" | "int64";
  readonly data: Float32Array | BigInt64Array;
}

/** Statistics of a graph's runs. */
export interface GraphStats {
  runs: number;
  totalMs: number;
  lastMs: number;
}

/** A loaded graph. */
export class GraphSession {
  readonly name: string;
  readonly spec: GraphSpec;
  readonly stats: GraphStats = { runs: 0, totalMs: 0, lastMs: 0 };
  readonly #runtime: OrtRuntime;
  // deno-lint-ignore no-explicit-any
  readonly #session: any;

  // deno-lint-ignore no-explicit-any
  private constructor(name: string, spec: GraphSpec, runtime: OrtRuntime, session: any) {
    this.name = name;
    this.spec = spec;
    this.#runtime = runtime;
    this.#session = session;
  }

  /** Creates a session and checks its input and output names against the manifest. */
  static async create(
    name: string,
    spec: GraphSpec,
    bytes: Uint8Array,
    runtime: OrtRuntime,
  ): Promise<GraphSession> {
    const session = await runtime.ort.InferenceSession.create(bytes, {
      executionProviders: [...runtime.executionProviders],
      graphOptimizationLevel: "all",
    });
    const names = (list: readonly { name: string }[]) => list.map((t) => t.name).sort().join(",");
    const declaredIn = names(spec.inputs);
    const actualIn = [...session.inputNames].sort().join(",");
    const declaredOut = names(spec.outputs);
    const actualOut = [...session.outputNames].sort().join(",");
    if (declaredIn !== actualIn || declaredOut !== actualOut) {
      throw new TypeError(
        `Graph ${name} does not match its manifest: inputs [${actualIn}] vs [${declaredIn}], outputs [${actualOut}] vs [${declaredOut}]`,
      );
    }
    return new GraphSession(name, spec, runtime, session);
  }

  /**
   * Runs the graph. Runs are serialized per web runtime (onnxruntime-web cannot overlap runs
   * of different sessions) and per session on the native backend.
   */
  run(feed: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    const missing = this.spec.inputs.map((i) => i.name).filter((n) => !(n in feed));
    const extra = Object.keys(feed).filter((n) => !this.spec.inputs.some((i) => i.name === n));
    if (missing.length > 0 || extra.length > 0) {
      throw new TypeError(
        `Graph ${this.name}: missing inputs [${missing.join(", ")}], unexpected inputs [${
          extra.join(", ")
        }]`,
      );
    }
    // onnxruntime-web gives corrupt results when runs of two sessions overlap in one wasm
    // instance, so every run on a web runtime goes through that runtime's single queue.
    const key = this.#runtime.backend === "native" ? this : this.#runtime.ort;
    return runExclusive(key, () => this.#run(feed));
  }

  async #run(feed: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    const { Tensor } = this.#runtime.ort;
    const ortFeed: Record<string, unknown> = {};
    for (const spec of this.spec.inputs) {
      const t = feed[spec.name]!;
      if (t.dtype !== spec.dtype) {
        throw new TypeError(
          `Graph ${this.name}: input ${spec.name} must be ${spec.dtype}, got ${t.dtype}`,
        );
      }
      ortFeed[spec.name] = new Tensor(t.dtype, t.data, [...t.dims]);
    }
    const started = performance.now();
    const result = await this.#session.run(ortFeed);
    const ms = performance.now() - started;
    this.stats.runs++;
    this.stats.totalMs += ms;
    this.stats.lastMs = ms;
    const out: Record<string, HostTensor> = {};
    for (const spec of this.spec.outputs) {
      const t = result[spec.name];
      out[spec.name] = { dims: [...t.dims].map(Number), dtype: t.type, data: t.data };
      t.dispose?.();
    }
    return out;
  }

  /** Releases the session. */
  async close(): Promise<void> {
    await this.#session.release?.();
  }
}
