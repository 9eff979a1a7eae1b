/**
 * PNG: header reading (cheap, before any pixel is inflated) and decoding of every standard
 * variant — gray, gray+alpha, RGB, RGBA and palette; 1, 2, 4, 8 and 16 bits; Adam7 interlace.
 * Inflation goes through `fflate` in bounded slices and stops as soon as the stream yields more
 * bytes than the header's dimensions allow, so a small file cannot expand into gigabytes.
 *
 * @module
 */
import { Unzlib } from "fflate";
import { ImageInputError } from "./errors.ts";
import { assertImageSize } from "./limits.ts";
import type { DecodedImage } from "./raster.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;
/** Samples per pixel by PNG colour type. */
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Allowed bit depths by PNG colour type. */
const DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
/** Compressed bytes handed to the inflater at a time (bounds the overshoot past the limit). */
const INFLATE_SLICE = 16 * 1024;

/** What the PNG header and chunk layout say, before any pixel is inflated. */
export interface PngInfo {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Bits per sample (1, 2, 4, 8 or 16). */
  bitDepth: number;
  /** PNG colour type: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
  colorType: number;
  /** 0 none, 1 Adam7. */
  interlace: number;
  /** The IDAT payloads in file order. */
  idat: Uint8Array[];
  /** The PLTE payload, when present. */
  palette?: Uint8Array;
}

/**
 * True when `bytes` start with the PNG signature.
 *
 * @example Sniff
 * ```ts
 * import { isPng } from "./png.ts";
 * if (!isPng(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]))) throw new Error();
 * ```
 */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * Walks the chunk list and reads IHDR, without inflating anything. Throws
 * {@linkcode ImageInputError}: `too_small`/`too_large` as soon as IHDR is read, `truncated` when
 * the file ends before IEND, `corrupt` for a bad header or checksum.
 *
 * @example Refuse a signature without chunks
 * ```ts
 * import { readPngInfo } from "./png.ts";
 * import { ImageInputError } from "./errors.ts";
 * try {
 *   readPngInfo(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]));
 *   throw new Error("not refused");
 * } catch (e) {
 *   if (!(e instanceof ImageInputError) || e.reason !== "truncated") throw e;
 * }
 * ```
 */
export function readPngInfo(bytes: Uint8Array): PngInfo {
  if (!isPng(bytes)) throw new ImageInputError("not_an_image", "Not a PNG file: bad signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let header: Omit<PngInfo, "idat" | "palette"> | undefined;
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | undefined;
  for (;;) {
    if (offset + 12 > bytes.length) {
      throw new ImageInputError(
        "truncated",
        `PNG file is truncated: no IEND chunk in ${bytes.length} bytes`,
      );
    }
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const end = offset + 12 + length;
    if (length > 0x7fffffff || end > bytes.length) {
      throw new ImageInputError(
        "truncated",
        `PNG file is truncated inside chunk "${type}" at byte ${offset}`,
      );
    }
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (header === undefined && type !== "IHDR") {
      throw new ImageInputError(
        "corrupt",
        `PNG file is corrupt: first chunk is "${type}", not "IHDR"`,
      );
    }
    if (type === "IHDR" || type === "PLTE") {
      if (
        crc32(bytes.subarray(offset + 4, offset + 8 + length)) !==
          view.getUint32(offset + 8 + length)
      ) {
        throw new ImageInputError("corrupt", `PNG file is corrupt: bad CRC in chunk "${type}"`);
      }
    }
    if (type === "IHDR") {
      if (length !== 13) {
        throw new ImageInputError("corrupt", "PNG file is corrupt: IHDR is not 13 bytes");
      }
      header = {
        width: view.getUint32(offset + 8),
        height: view.getUint32(offset + 12),
        bitDepth: data[8]!,
        colorType: data[9]!,
        interlace: data[12]!,
      };
      const depths = DEPTHS[header.colorType];
      if (depths === undefined || !depths.includes(header.bitDepth)) {
        throw new ImageInputError(
          "corrupt",
          `PNG file is corrupt: bit depth ${header.bitDepth} with colour type ${header.colorType}`,
        );
      }
      if (data[10] !== 0 || data[11] !== 0 || header.interlace > 1) {
        throw new ImageInputError(
          "corrupt",
          "PNG file is corrupt: unknown compression, filter or interlace method",
        );
      }
      assertImageSize("PNG", header.width, header.height);
    } else if (type === "PLTE") {
      palette = data;
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
    offset = end;
  }
  if (header === undefined) throw new ImageInputError("corrupt", "PNG file is corrupt: no IHDR");
  if (idat.length === 0) {
    throw new ImageInputError("truncated", "PNG file has no image data (IDAT)");
  }
  if (header.colorType === 3 && palette === undefined) {
    throw new ImageInputError("corrupt", "PNG file is corrupt: palette image without PLTE");
  }
  return palette === undefined ? { ...header, idat } : { ...header, idat, palette };
}

/**
 * Decodes a PNG (call {@linkcode readPngInfo} first to check the size cheaply). Palette images
 * come back as RGB; 1/2/4-bit gray is scaled to 8 bits as PIL does; 16-bit stays 16-bit.
 *
 * @example Decode a 64x64 gray PNG made with fast-png
 * ```ts
 * import { encode } from "fast-png";
 * import { decodePng, readPngInfo } from "./png.ts";
 * const data = new Uint8Array(64 * 64).fill(7);
 * const img = decodePng(readPngInfo(encode({ width: 64, height: 64, channels: 1, depth: 8, data })));
 * if (img.channels !== 1 || img.data[0] !== 7) throw new Error();
 * ```
 */
export function decodePng(info: PngInfo): DecodedImage {
  const { width, height, bitDepth, colorType } = info;
  const channels = CHANNELS[colorType]!;
  const bitsPerPixel = bitDepth * channels;
  const passes = info.interlace === 1 ? adam7Passes(width, height) : [
    { x0: 0, y0: 0, dx: 1, dy: 1, w: width, h: height },
  ];
  let expected = 0;
  for (const p of passes) {
    if (p.w > 0 && p.h > 0) expected += p.h * (1 + Math.ceil((p.w * bitsPerPixel) / 8));
  }
  const raw = inflateBounded(info.idat, expected);
  const samples = bitDepth === 16
    ? new Uint16Array(width * height * channels)
    : new Uint8Array(width * height * channels);
  const scale = colorType === 3 ? 1 : bitDepth < 8 ? 255 / ((1 << bitDepth) - 1) : 1;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  let offset = 0;
  for (const p of passes) {
    if (p.w === 0 || p.h === 0) continue;
    const lineBytes = Math.ceil((p.w * bitsPerPixel) / 8);
    let prev = new Uint8Array(lineBytes);
    let line = new Uint8Array(lineBytes);
    for (let r = 0; r < p.h; r++) {
      const filter = raw[offset]!;
      unfilter(filter, raw.subarray(offset + 1, offset + 1 + lineBytes), line, prev, bpp);
      offset += 1 + lineBytes;
      const y = p.y0 + r * p.dy;
      for (let c = 0; c < p.w; c++) {
        const base = ((y * width) + p.x0 + c * p.dx) * channels;
        for (let k = 0; k < channels; k++) {
          const s = c * channels + k;
          let v: number;
          if (bitDepth === 16) v = (line[2 * s]! << 8) | line[2 * s + 1]!;
          else if (bitDepth === 8) v = line[s]!;
          else {
            const bit = s * bitDepth;
            v = ((line[bit >> 3]! >> (8 - bitDepth - (bit & 7))) & ((1 << bitDepth) - 1)) * scale;
          }
          samples[base + k] = v;
        }
      }
      [prev, line] = [line, prev];
    }
  }
  if (colorType !== 3) {
    return {
      width,
      height,
      channels: channels as 1 | 2 | 3 | 4,
      bitDepth: bitDepth === 16 ? 16 : 8,
      data: samples,
    };
  }
  const palette = info.palette!;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < samples.length; i++) {
    const p = samples[i]! * 3;
    // An index past the palette's end is black, as PIL renders it.
    rgb[3 * i] = palette[p] ?? 0;
    rgb[3 * i + 1] = palette[p + 1] ?? 0;
    rgb[3 * i + 2] = palette[p + 2] ?? 0;
  }
  return { width, height, channels: 3, bitDepth: 8, data: rgb };
}

interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  w: number;
  h: number;
}

function adam7Passes(width: number, height: number): Pass[] {
  const spec = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  return spec.map(([x0, y0, dx, dy]) => ({
    x0: x0!,
    y0: y0!,
    dx: dx!,
    dy: dy!,
    w: Math.max(0, Math.ceil((width - x0!) / dx!)),
    h: Math.max(0, Math.ceil((height - y0!) / dy!)),
  }));
}

/** Inflates the IDAT stream, refusing one that yields more or fewer bytes than `expected`. */
function inflateBounded(idat: Uint8Array[], expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let written = 0;
  let done = false;
  const inflater = new Unzlib((chunk, final) => {
    if (written + chunk.length > expected) {
      throw new ImageInputError(
        "corrupt",
        `PNG image data inflates past the ${expected} bytes its header allows`,
      );
    }
    out.set(chunk, written);
    written += chunk.length;
    if (final) done = true;
  });
  try {
    for (let i = 0; i < idat.length; i++) {
      const part = idat[i]!;
      for (let o = 0; o < part.length; o += INFLATE_SLICE) {
        const last = i === idat.length - 1 && o + INFLATE_SLICE >= part.length;
        inflater.push(part.subarray(o, o + INFLATE_SLICE), last);
      }
    }
  } catch (error) {
    if (error instanceof ImageInputError) throw error;
    throw new ImageInputError(
      "truncated",
      `PNG image data cannot be inflated: ${String((error as Error)?.message ?? error)}`,
      {
        cause: error,
      },
    );
  }
  if (!done || written < expected) {
    throw new ImageInputError(
      "truncated",
      `PNG image data is truncated: ${written} of ${expected} bytes`,
    );
  }
  return out;
}

function unfilter(
  filter: number,
  src: Uint8Array,
  dst: Uint8Array,
  prev: Uint8Array,
  bpp: number,
): void {
  const n = dst.length;
  switch (filter) {
    case 0:
      dst.set(src);
      return;
    case 1:
      for (let i = 0; i < n; i++) dst[i] = src[i]! + (i >= bpp ? dst[i - bpp]! : 0);
      return;
    case 2:
      for (let i = 0; i < n; i++) dst[i] = src[i]! + prev[i]!;
      return;
    case 3:
      for (let i = 0; i < n; i++) {
        dst[i] = src[i]! + (((i >= bpp ? dst[i - bpp]! : 0) + prev[i]!) >> 1);
      }
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? dst[i - bpp]! : 0;
        const b = prev[i]!;
        const c = i >= bpp ? prev[i - bpp]! : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        dst[i] = src[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      return;
    default:
      throw new ImageInputError("corrupt", `PNG file is corrupt: unknown row filter ${filter}`);
  }
}

let crcTable: Uint32Array | undefined;

function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
