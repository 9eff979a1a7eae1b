/**
 * Test helpers for the image pipeline: a seeded generator, a minimal PNG writer for the variants
 * encoders rarely emit (sub-byte gray, palette), a hand-written DICOM Part-10 writer, and access
 * to the system Python's PIL for reference results.
 *
 * @module
 */
import { zlibSync } from "fflate";

/** The project's seeded generator, under the name these tests use. */
export { seededRandom as mulberry32 } from "../../src/data/random.ts";

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A PNG header (IHDR) alone, or with `idat` and IEND; for bomb and truncation tests. */
export function pngFromRows(options: {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  /** Packed samples of each row, without the filter byte. */
  rows?: Uint8Array[];
  palette?: Uint8Array;
  /** Raw zlib stream instead of one built from `rows`. */
  idat?: Uint8Array;
  end?: boolean;
}): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, options.width);
  view.setUint32(4, options.height);
  ihdr.set([options.bitDepth, options.colorType, 0, 0, 0], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]), chunk("IHDR", ihdr)];
  if (options.palette) parts.push(chunk("PLTE", options.palette));
  const idat = options.idat ??
    (options.rows
      ? zlibSync(concat(options.rows.flatMap((r) => [new Uint8Array([0]), r])))
      : undefined);
  if (idat) parts.push(chunk("IDAT", idat));
  if (options.end ?? true) parts.push(chunk("IEND", new Uint8Array(0)));
  return concat(parts);
}

/** Packs samples of `bitDepth` bits (1, 2, 4) MSB first. */
export function packBits(samples: number[], bitDepth: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((samples.length * bitDepth) / 8));
  samples.forEach((s, i) => {
    const bit = i * bitDepth;
    out[bit >> 3]! |= s << (8 - bitDepth - (bit & 7));
  });
  return out;
}

/** Fields of a hand-written DICOM file. */
export interface DicomSpec {
  rows: number;
  columns: number;
  /** Stored values, row-major. */
  pixels: number[];
  bitsAllocated?: 8 | 16;
  bitsStored?: number;
  signed?: boolean;
  photometric?: string;
  windowCenter?: number;
  windowWidth?: number;
  slope?: number;
  intercept?: number;
  transferSyntax?: string;
  /** Explicit (default) or implicit VR for the data set. */
  implicit?: boolean;
}

/**
 * A minimal valid DICOM Part-10 file: 128-byte preamble, "DICM", the file meta group (explicit
 * VR little endian), then the image pixel module in little endian.
 */
export function writeDicom(spec: DicomSpec): Uint8Array {
  const enc = new TextEncoder();
  const bits = spec.bitsAllocated ?? 16;
  const even = (b: Uint8Array, pad: number) =>
    b.length % 2 ? concat([b, new Uint8Array([pad])]) : b;
  const str = (s: string, pad = 0x20) => even(enc.encode(s), pad);
  const us = (v: number) => new Uint8Array(new Uint16Array([v]).buffer);
  const ul = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
  const element = (
    group: number,
    elem: number,
    vr: string,
    value: Uint8Array,
    implicit: boolean,
  ) => {
    const head = new DataView(new ArrayBuffer(12));
    head.setUint16(0, group, true);
    head.setUint16(2, elem, true);
    if (implicit) {
      head.setUint32(4, value.length, true);
      return concat([new Uint8Array(head.buffer, 0, 8), value]);
    }
    const vrBytes = enc.encode(vr);
    new Uint8Array(head.buffer).set(vrBytes, 4);
    if (["OB", "OW", "UN", "SQ", "UT"].includes(vr)) {
      head.setUint16(6, 0, true);
      head.setUint32(8, value.length, true);
      return concat([new Uint8Array(head.buffer, 0, 12), value]);
    }
    head.setUint16(6, value.length, true);
    return concat([new Uint8Array(head.buffer, 0, 8), value]);
  };
  const ts = spec.transferSyntax ?? (spec.implicit ? "1.2.840.10008.1.2" : "1.2.840.10008.1.2.1");
  const metaBody = concat([
    element(0x0002, 0x0001, "OB", new Uint8Array([0, 1]), false),
    element(0x0002, 0x0002, "UI", str("1.2.840.10008.5.1.4.1.1.1.1", 0), false),
    element(0x0002, 0x0003, "UI", str("1.2.3.4.5.6.7", 0), false),
    element(0x0002, 0x0010, "UI", str(ts, 0), false),
  ]);
  const meta = concat([element(0x0002, 0x0000, "UL", ul(metaBody.length), false), metaBody]);
  const im = spec.implicit ?? false;
  const ds: Uint8Array[] = [
    element(0x0028, 0x0002, "US", us(1), im),
    element(0x0028, 0x0004, "CS", str(spec.photometric ?? "MONOCHROME2"), im),
    element(0x0028, 0x0010, "US", us(spec.rows), im),
    element(0x0028, 0x0011, "US", us(spec.columns), im),
    element(0x0028, 0x0100, "US", us(bits), im),
    element(0x0028, 0x0101, "US", us(spec.bitsStored ?? bits), im),
    element(0x0028, 0x0102, "US", us((spec.bitsStored ?? bits) - 1), im),
    element(0x0028, 0x0103, "US", us(spec.signed ? 1 : 0), im),
  ];
  if (spec.windowCenter !== undefined) {
    ds.push(element(0x0028, 0x1050, "DS", str(String(spec.windowCenter)), im));
  }
  if (spec.windowWidth !== undefined) {
    ds.push(element(0x0028, 0x1051, "DS", str(String(spec.windowWidth)), im));
  }
  if (spec.intercept !== undefined) {
    ds.push(element(0x0028, 0x1052, "DS", str(String(spec.intercept)), im));
  }
  if (spec.slope !== undefined) ds.push(element(0x0028, 0x1053, "DS", str(String(spec.slope)), im));
  const pixels = bits === 8
    ? even(Uint8Array.from(spec.pixels, (v) => v & 0xff), 0)
    : new Uint8Array(Uint16Array.from(spec.pixels, (v) => v & 0xffff).buffer);
  ds.push(element(0x7fe0, 0x0010, bits === 8 ? "OB" : "OW", pixels, im));
  const preamble = new Uint8Array(132);
  preamble.set(enc.encode("DICM"), 128);
  return concat([preamble, meta, ...ds]);
}

const PYTHON_ENV = { PYENV_VERSION: "system" };

let pil: boolean | undefined;

/** True when the system interpreter (`PYENV_VERSION=system python3`) imports PIL and numpy. */
export function pilAvailable(): boolean {
  if (pil !== undefined) return pil;
  try {
    const r = new Deno.Command("python3", {
      args: ["-c", "import PIL, numpy"],
      env: PYTHON_ENV,
      stdout: "null",
      stderr: "null",
    }).outputSync();
    pil = r.success;
  } catch {
    pil = false;
  }
  if (!pil) console.warn("ignored: the system python3 has no PIL/numpy");
  return pil;
}

/** Runs the system `python3` with `args`; returns stdout, throws with stderr on failure. */
export async function runPython(args: string[]): Promise<string> {
  const r = await new Deno.Command("python3", { args, env: PYTHON_ENV }).output();
  const dec = new TextDecoder();
  if (!r.success) {
    throw new Error(`python3 ${args[0]} failed: ${dec.decode(r.stderr).slice(-2000)}`);
  }
  return dec.decode(r.stdout);
}

/** Mean and max absolute difference of two equal-length arrays. */
export function absDiff(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}
