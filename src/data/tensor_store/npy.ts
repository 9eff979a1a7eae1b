/**
 * Streaming writer of NumPy `.npy` files (format 1.0, little-endian float32, C order): rows are
 * appended as they come and the header's shape is rewritten in place when the file is closed,
 * so a shard never has to be held in memory.
 *
 * @module
 */

/** Bytes reserved for the header (magic + length + dict, padded); enough for any 4-D shape. */
const HEADER_BYTES = 128;

function header(shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const prefix = 10; // magic (6) + version (2) + header length (2)
  dict = dict.padEnd(HEADER_BYTES - prefix - 1, " ") + "\n";
  if (prefix + dict.length !== HEADER_BYTES) {
    throw new RangeError(`Shape ${shape} does not fit an npy header`);
  }
  const out = new Uint8Array(HEADER_BYTES);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, dict.length, true);
  out.set(new TextEncoder().encode(dict), prefix);
  return out;
}

/** Writes all of `bytes` (a single write may be partial). */
async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}

/**
 * Appends float32 rows of a fixed row shape to an `.npy` file.
 *
 * @example Write two rows of three values
 * ```ts
 * import { NpyWriter } from "./npy.ts";
 * const path = await Deno.makeTempFile({ suffix: ".npy" });
 * const w = await NpyWriter.create(path, [3]);
 * await w.append(new Float32Array([1, 2, 3, 4, 5, 6]));
 * await w.close();
 * const bytes = await Deno.readFile(path);
 * if (bytes.length !== 128 + 24) throw new Error();
 * await Deno.remove(path);
 * ```
 */
export class NpyWriter {
  readonly #file: Deno.FsFile;
  readonly #rowShape: readonly number[];
  readonly #rowSize: number;
  #rows = 0;

  private constructor(file: Deno.FsFile, rowShape: readonly number[]) {
    this.#file = file;
    this.#rowShape = rowShape;
    this.#rowSize = rowShape.reduce((a, b) => a * b, 1);
  }

  /** Creates (truncates) `path` for rows of shape `rowShape`. */
  static async create(path: string, rowShape: readonly number[]): Promise<NpyWriter> {
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    await writeAll(file, header([0, ...rowShape]));
    return new NpyWriter(file, rowShape);
  }

  /** Rows written so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Bytes of data written so far (without the header). */
  get bytes(): number {
    return this.#rows * this.#rowSize * 4;
  }

  /** Appends whole rows; returns the index of the first appended row. */
  async append(values: Float32Array): Promise<number> {
    if (values.length % this.#rowSize !== 0) {
      throw new RangeError(`Cannot append ${values.length} values as rows of ${this.#rowSize}`);
    }
    const start = this.#rows;
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    await writeAll(this.#file, bytes);
    this.#rows += values.length / this.#rowSize;
    return start;
  }

  /** Rewrites the header with the final shape and closes the file. */
  async close(): Promise<void> {
    await this.#file.seek(0, Deno.SeekMode.Start);
    await writeAll(this.#file, header([this.#rows, ...this.#rowShape]));
    this.#file.close();
  }
}

/** Where appended rows landed in a sharded array. */
export interface ShardRef {
  readonly shard: number;
  readonly start: number;
}

/**
 * A float32 array split over `.npy` shards of bounded size (`<prefix>-00000.npy`, ...).
 *
 * @example Two shards
 * ```ts
 * import { ShardedNpyWriter } from "./npy.ts";
 * const dir = await Deno.makeTempDir();
 * const w = new ShardedNpyWriter(dir, "ts", [2], { maxBytes: 16 });
 * await w.append(new Float32Array(4));
 * const ref = await w.append(new Float32Array(2));
 * await w.close();
 * if (ref.shard !== 1 || ref.start !== 0 || w.files.length !== 2) throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ShardedNpyWriter {
  readonly #dir: string;
  readonly #prefix: string;
  readonly #rowShape: readonly number[];
  readonly #maxBytes: number;
  #current: NpyWriter | undefined;
  readonly files: string[] = [];

  constructor(
    dir: string,
    prefix: string,
    rowShape: readonly number[],
    options: { maxBytes?: number } = {},
  ) {
    this.#dir = dir;
    this.#prefix = prefix;
    this.#rowShape = rowShape;
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  }

  /** Appends rows (never split across shards); returns their shard and first row. */
  async append(values: Float32Array): Promise<ShardRef> {
    if (
      this.#current !== undefined && this.#current.rows > 0 &&
      this.#current.bytes + values.byteLength > this.#maxBytes
    ) {
      await this.#current.close();
      this.#current = undefined;
    }
    if (this.#current === undefined) {
      const name = `${this.#prefix}-${String(this.files.length).padStart(5, "0")}.npy`;
      this.files.push(name);
      this.#current = await NpyWriter.create(`${this.#dir}/${name}`, this.#rowShape);
    }
    const start = await this.#current.append(values);
    return { shard: this.files.length - 1, start };
  }

  /** Closes the open shard. */
  async close(): Promise<void> {
    await this.#current?.close();
    this.#current = undefined;
  }
}
