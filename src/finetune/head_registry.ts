/**
 * The fine-tuned heads a service runs: every `<dir>/<name>/head.json` whose base model is the
 * loaded model. A head trained on another model is refused with a {@linkcode HeadMismatchError}
 * (listed in `refused`, or thrown with `strict`). Load a new registry to pick up new heads
 * (e.g. on `POST /v1/models/reload`); a registry itself never changes.
 *
 * Serving a head: run the backbone with the head's token ({@linkcode HeadRegistry.tokens} as
 * `FlexCareModel.predict`/`step` `options.tokens`), then apply the head to the returned
 * `representation` ({@linkcode HeadRegistry.apply}); {@linkcode HeadRegistry.predict} and
 * {@linkcode HeadRegistry.step} do both.
 *
 * @module
 */
import type {
  FlexCareModel,
  SampleInputs,
  StagedInputs,
  TaskOutput,
  TaskToken,
} from "../model/flexcare_model.ts";
import { type FineTunedHead, HeadMismatchError, readHead } from "./head_artifact.ts";
import { applyLinearHead, type HeadOutput } from "./linear_head.ts";

/** Options for {@linkcode HeadRegistry.load}. */
export interface HeadRegistryOptions {
  /** `FlexCareModel.hash` of the loaded model. */
  modelHash: string;
  /**
   * Throw on the first head that cannot be used instead of listing it in `refused`.
   * @default {false}
   */
  strict?: boolean;
}

/** A head folder that was not loaded, and why. */
export interface RefusedHead {
  readonly name: string;
  readonly path: string;
  readonly reason: string;
  readonly error: Error;
}

/** A head as listed by {@linkcode HeadRegistry.describe}. */
export interface HeadSummary {
  readonly task: string;
  readonly kind: FineTunedHead["kind"];
  readonly outputs: number;
  readonly labels: readonly string[];
  readonly activation: "sigmoid" | "softmax";
  readonly tokenInit: string;
  readonly baseModel: string;
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

/** A head's prediction for one sample. */
export interface HeadPrediction extends HeadOutput {
  readonly head: FineTunedHead;
  /** The backbone's output for the head's token (s_p in `representation`). */
  readonly backbone: TaskOutput;
}

/** The loaded heads of a folder. */
export class HeadRegistry {
  readonly dir: string;
  readonly modelHash: string;
  readonly heads: ReadonlyMap<string, FineTunedHead>;
  readonly refused: readonly RefusedHead[];

  private constructor(
    dir: string,
    modelHash: string,
    heads: Map<string, FineTunedHead>,
    refused: RefusedHead[],
  ) {
    this.dir = dir;
    this.modelHash = modelHash;
    this.heads = heads;
    this.refused = refused;
  }

  /**
   * Loads every `<dir>/<name>/head.json` (a missing folder gives an empty registry).
   *
   * @example Load the heads of a model
   * ```ts ignore
   * import { HeadRegistry } from "./head_registry.ts";
   * const heads = await HeadRegistry.load("heads", { modelHash: model.hash });
   * const [drg] = await heads.predict(model, inputs, ["drg"]);
   * console.log(drg.probs, heads.refused.map((r) => r.reason));
   * ```
   */
  static async load(dir: string, options: HeadRegistryOptions): Promise<HeadRegistry> {
    if (!/^[0-9a-f]{64}$/.test(options.modelHash)) {
      throw new TypeError(`Model hash ${JSON.stringify(options.modelHash)} is not a sha256`);
    }
    const heads = new Map<string, FineTunedHead>();
    const refused: RefusedHead[] = [];
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(dir)) if (e.isDirectory) names.push(e.name);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    for (const name of names.sort()) {
      const path = `${dir}/${name}/head.json`;
      try {
        const head = await readHead(path, { modelHash: options.modelHash });
        if (head.task !== name) {
          throw new TypeError(`Head file "${path}" is for task "${head.task}", not "${name}"`);
        }
        heads.set(name, head);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue; // not a head folder
        if (options.strict) throw error;
        const e = error as Error;
        refused.push({
          name,
          path,
          reason: e instanceof HeadMismatchError ? "base model differs" : e.message,
          error: e,
        });
      }
    }
    return new HeadRegistry(dir, options.modelHash, heads, refused);
  }

  /** Head names, sorted. */
  names(): string[] {
    return [...this.heads.keys()];
  }

  /** A head by name; throws a `RangeError` naming the loaded heads when absent. */
  get(name: string): FineTunedHead {
    const head = this.heads.get(name);
    if (head === undefined) {
      throw new RangeError(
        `No fine-tuned head ${JSON.stringify(name)}: loaded heads are ${
          this.names().join(", ") || "none"
        }`,
      );
    }
    return head;
  }

  /** One line per head for listings (`/v1/models`): no weights. */
  describe(): HeadSummary[] {
    return [...this.heads.values()].map((h) => ({
      task: h.task,
      kind: h.kind,
      outputs: h.head.outputs,
      labels: h.labels,
      activation: h.kind === "multiclass" ? "softmax" : "sigmoid",
      tokenInit: h.token.init,
      baseModel: h.baseModel.hash,
      metrics: h.metrics,
      createdAt: h.createdAt,
    }));
  }

  /** The task tokens of some heads, for `FlexCareModel.predict`/`step` `options.tokens`. */
  tokens(names: readonly string[]): TaskToken[] {
    return names.map((n) => ({ code: n, vector: this.get(n).token.vector }));
  }

  /** A head's output on a representation s_p computed with its token. */
  apply(name: string, representation: ArrayLike<number>): HeadOutput {
    return applyLinearHead(this.get(name).head, representation);
  }

  #check(model: FlexCareModel, names: readonly string[]): void {
    if (model.hash !== this.modelHash) {
      throw new HeadMismatchError(names.join(", "), this.modelHash, model.hash, this.dir);
    }
  }

  #finish(names: readonly string[], out: TaskOutput[]): HeadPrediction[] {
    return names.map((name, k) => {
      const backbone = out[k]!;
      return { head: this.get(name), backbone, ...this.apply(name, backbone.representation) };
    });
  }

  /** Runs the one graph with the heads' tokens and applies the heads. */
  async predict(
    model: FlexCareModel,
    inputs: SampleInputs,
    names: readonly string[],
  ): Promise<HeadPrediction[]> {
    this.#check(model, names);
    return this.#finish(names, await model.predict(inputs, [], { tokens: this.tokens(names) }));
  }

  /** Runs the step graph (cached tower states) with the heads' tokens and applies the heads. */
  async step(
    model: FlexCareModel,
    inputs: StagedInputs,
    names: readonly string[],
  ): Promise<HeadPrediction[]> {
    this.#check(model, names);
    return this.#finish(names, await model.step(inputs, [], { tokens: this.tokens(names) }));
  }
}
