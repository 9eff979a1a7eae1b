/**
 * `Idempotency-Key` handling: a key is scoped to one stay; its first successful response is
 * stored with a SHA-256 fingerprint of the operation and request (image bytes included) in the
 * same transaction as the write's events. A repeated key with the same request returns the
 * stored response and writes nothing; with a different request it is refused (422, as the IETF
 * `Idempotency-Key` draft advises). Refused requests store nothing, so a retry is validated
 * again.
 *
 * @module
 */
import { ServiceError } from "./errors.ts";
import type { AppendBatch, EventStore, StayRow } from "./store.ts";
import type { WriteOptions } from "./types.ts";

/** The idempotency state of one request. */
export interface Idempotency {
  /** The response stored for this key, when the request was already served. */
  readonly stored: unknown;
  /** The `idempotency` field of the write's append batch (empty without a key). */
  record(response: (row: StayRow) => unknown): Pick<AppendBatch, "idempotency">;
  /** Stores a response for a request that appended nothing (duplicates only). */
  remember(response: unknown): void;
}

const NONE: Idempotency = { stored: undefined, record: () => ({}), remember: () => {} };

/**
 * Looks a request's key up. Throws 400 for a malformed key and 422 when the key was used for a
 * different request.
 */
export async function idempotency(
  store: EventStore,
  clock: () => Date,
  stayId: string,
  operation: string,
  options: WriteOptions,
  request: unknown,
  bytes?: Uint8Array,
): Promise<Idempotency> {
  const key = options.idempotencyKey;
  if (key === undefined) return NONE;
  if (typeof key !== "string" || key.length === 0 || key.length > 255) {
    throw new ServiceError(
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1-255 characters",
      { field: "Idempotency-Key" },
    );
  }
  const fingerprint = await fingerprintOf(operation, request, bytes);
  const stored = store.idempotency(stayId, key);
  if (stored !== undefined) {
    if (stored.operation !== operation || stored.fingerprint !== fingerprint) {
      throw new ServiceError(
        422,
        "idempotency_key_reused",
        "This Idempotency-Key was already used for a different request",
        { field: "Idempotency-Key" },
      );
    }
    return { ...NONE, stored: stored.response };
  }
  return {
    stored: undefined,
    record: (response) => ({ idempotency: { key, operation, fingerprint, response } }),
    remember: (response) =>
      store.remember(
        stayId,
        { key, operation, fingerprint, response },
        clock().toISOString(),
      ),
  };
}

/**
 * Hex SHA-256 of an operation name, its JSON request and optional bytes.
 *
 * @example Different bytes, different fingerprints
 * ```ts
 * import { fingerprintOf } from "./idempotency.ts";
 * const a = await fingerprintOf("image", {}, new Uint8Array([1]));
 * const b = await fingerprintOf("image", {}, new Uint8Array([2]));
 * if (a === b || a.length !== 64) throw new Error();
 * ```
 */
export async function fingerprintOf(
  operation: string,
  request: unknown,
  bytes?: Uint8Array,
): Promise<string> {
  let json: string;
  try {
    json = JSON.stringify([operation, request]);
  } catch {
    throw new ServiceError(400, "invalid_body", "The request cannot be serialized");
  }
  const text = new TextEncoder().encode(json);
  let data = text;
  if (bytes !== undefined) {
    data = new Uint8Array(text.length + 1 + bytes.length);
    data.set(text);
    data.set(bytes, text.length + 1);
  }
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
