/**
 * A resumable on-disk cache of one vector per sample (representations, summary features): a
 * JSON-lines file whose first line records the key it was made for, then one line per sample
 * `{"id": ..., "v": base64 float32}`. A file made for another key (another model, token, feature
 * set or sample list) is ignored and rewritten; a run that stops part-way keeps what it wrote.
 *
 * @module
 */
import { decodeBase64, encodeBase64 } from "./base64.ts";

/** Lower-case hex sha256 of a string. */
export async function sha256Text(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A cache file opened for one key. */
export class VectorCache {
  readonly path: string;
  readonly key: string;
  readonly #vectors = new Map<string, Float32Array>();
  #pending: string[] = [];
  #file: Deno.FsFile | null = null;

  private constructor(path: string, key: string) {
    this.path = path;
    this.key = key;
  }

  /**
   * Opens (or starts) the cache file for `key`, loading the vectors a previous run wrote.
   *
   * @example Write, reopen, read
   * ```ts
   * import { VectorCache } from "./vector_cache.ts";
   * const dir = await Deno.makeTempDir();
   * const a = await VectorCache.open(`${dir}/c.jsonl`, "k1");
   * await a.put("s1", new Float32Array([1, 2]));
   * await a.close();
   * const b = await VectorCache.open(`${dir}/c.jsonl`, "k1");
   * if (b.get("s1")?.[1] !== 2 || b.size !== 1) throw new Error();
   * await b.close();
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  static async open(path: string, key: string): Promise<VectorCache> {
    const cache = new VectorCache(path, key);
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const lines = text.split("\n");
    let valid = false;
    try {
      valid = JSON.parse(lines[0] ?? "null")?.key === key;
    } catch {
      valid = false;
    }
    if (valid) {
      for (const line of lines.slice(1)) {
        if (line === "") continue;
        try {
          const { id, v } = JSON.parse(line) as { id: string; v: string };
          const bytes = decodeBase64(v);
          cache.#vectors.set(
            id,
            new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4),
          );
        } catch {
          break; // a line cut by an interrupted run: keep what precedes it
        }
      }
      // rewrite cleanly (drops a cut last line) on the first put
    }
    cache.#file = await Deno.open(path, { write: true, create: true, truncate: true });
    const head = JSON.stringify({ key }) + "\n";
    const body = [...cache.#vectors].map(([id, v]) => VectorCache.#line(id, v)).join("");
    await cache.#write(head + body);
    return cache;
  }

  static #line(id: string, v: Float32Array): string {
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    return JSON.stringify({ id, v: encodeBase64(bytes) }) + "\n";
  }

  async #write(text: string): Promise<void> {
    const bytes = new TextEncoder().encode(text);
    let offset = 0;
    while (offset < bytes.length) offset += await this.#file!.write(bytes.subarray(offset));
  }

  /** Number of cached vectors. */
  get size(): number {
    return this.#vectors.size;
  }

  /** The vector of a sample id, if cached. */
  get(id: string): Float32Array | undefined {
    return this.#vectors.get(id);
  }

  /** Caches a vector (written to disk every 64 puts and on close). */
  async put(id: string, vector: Float32Array): Promise<void> {
    const copy = Float32Array.from(vector);
    this.#vectors.set(id, copy);
    this.#pending.push(VectorCache.#line(id, copy));
    if (this.#pending.length >= 64) await this.flush();
  }

  /** Writes pending vectors. */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("");
    this.#pending = [];
    await this.#write(text);
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    await this.flush();
    this.#file?.close();
    this.#file = null;
  }
}
