/**
 * The messages between {@linkcode WorkerOrt} (the thread that answers HTTP) and the
 * inference worker (`ort_worker.ts`). Every request carries an id; its reply carries the same.
 *
 * @module
 */
import type { ResolvedBackend } from "./backend.ts";

/** A tensor as it crosses the thread boundary. */
export interface WireTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

/** A request to the worker. */
export type WorkerRequest =
  | { readonly op: "init"; readonly id: number; readonly backend: ResolvedBackend }
  | {
    readonly op: "create";
    readonly id: number;
    readonly session: number;
    readonly bytes: Uint8Array;
    readonly options: Record<string, unknown>;
  }
  | {
    readonly op: "run";
    readonly id: number;
    readonly session: number;
    readonly feed: Readonly<Record<string, WireTensor>>;
  }
  | { readonly op: "release"; readonly id: number; readonly session: number };

/** A reply from the worker. */
export type WorkerReply =
  | {
    readonly id: number;
    readonly ok: true;
    readonly detail?: string;
    readonly inputNames?: readonly string[];
    readonly outputNames?: readonly string[];
    readonly outputs?: Readonly<Record<string, WireTensor>>;
  }
  | { readonly id: number; readonly ok: false; readonly error: { name: string; message: string } };
