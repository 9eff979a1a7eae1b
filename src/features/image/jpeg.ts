/**
 * JPEG: header reading (a marker walk, before any pixel is decoded) and decoding of baseline,
 * extended and progressive 8-bit JPEGs, gray or three-component, with libjpeg-turbo (see
 * `jpeg_codec.ts`), so pixels equal PIL's.
 *
 * @module
 */
import { ImageInputError } from "./errors.ts";
import { decodeJpegPixels, type JpegPixels } from "./jpeg_codec.ts";
import { assertImageSize } from "./limits.ts";
import type { DecodedImage } from "./raster.ts";

/** One component of a JPEG frame. */
export interface JpegComponent {
  /** Component identifier from the frame header. */
  id: number;
  /** Horizontal sampling factor. */
  h: number;
  /** Vertical sampling factor. */
  v: number;
}

/** What the JPEG markers say, before any pixel is decoded. */
export interface JpegInfo {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Frame components in order (1 gray, 3 colour). */
  components: JpegComponent[];
  /** True for a progressive (SOF2) frame. */
  progressive: boolean;
}

/**
 * True when `bytes` start with a JPEG SOI marker.
 *
 * @example Sniff
 * ```ts
 * import { isJpeg } from "./jpeg.ts";
 * if (!isJpeg(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))) throw new Error();
 * ```
 */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** SOFn markers that are not DHT (C4), JPG (C8) or DAC (CC). */
function isFrameMarker(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
    marker !== 0xcc;
}

/** Index of the first marker after entropy-coded data (skips stuffed 0xFF00 and RSTn). */
function skipEntropyData(bytes: Uint8Array, offset: number): number {
  const n = bytes.length;
  for (let i = offset; i + 1 < n; i++) {
    if (bytes[i] !== 0xff) continue;
    const next = bytes[i + 1]!;
    if (next !== 0 && (next < 0xd0 || next > 0xd7)) return i;
  }
  return n;
}

/**
 * Walks the markers: reads the frame header (size checked at once), refuses variants that are not
 * decoded (lossless, hierarchical, arithmetic, 12-bit, CMYK), and follows every scan to the EOI
 * marker, so a truncated file is refused before decoding.
 *
 * @example Refuse a file cut after its start marker
 * ```ts
 * import { readJpegInfo } from "./jpeg.ts";
 * import { ImageInputError } from "./errors.ts";
 * try {
 *   readJpegInfo(new Uint8Array([0xff, 0xd8, 0xff]));
 *   throw new Error("not refused");
 * } catch (e) {
 *   if (!(e instanceof ImageInputError) || e.reason !== "truncated") throw e;
 * }
 * ```
 */
export function readJpegInfo(bytes: Uint8Array): JpegInfo {
  if (!isJpeg(bytes)) throw new ImageInputError("not_an_image", "Not a JPEG file: no SOI marker");
  const n = bytes.length;
  const truncated = (where: string) =>
    new ImageInputError("truncated", `JPEG file is truncated: it ends ${where} after ${n} bytes`);
  let offset = 2;
  let frame: JpegInfo | undefined;
  for (;;) {
    if (offset + 2 > n) {
      throw truncated(frame ? "before its EOI marker" : "before its frame header");
    }
    if (bytes[offset] !== 0xff) {
      throw new ImageInputError("corrupt", `JPEG file is corrupt: no marker at byte ${offset}`);
    }
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) { // fill byte
      offset += 1;
      continue;
    }
    if (marker === 0xd9) break; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // TEM, stray RSTn
      offset += 2;
      continue;
    }
    if (offset + 4 > n) throw truncated("inside a marker");
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    const start = offset + 4;
    const end = offset + 2 + length;
    if (length < 2) {
      throw new ImageInputError("corrupt", `JPEG file is corrupt: marker length ${length}`);
    }
    if (end > n) throw truncated("inside a marker segment");
    if (isFrameMarker(marker)) {
      if (frame) {
        throw new ImageInputError("unsupported", "JPEG with more than one frame is not supported");
      }
      frame = readFrame(bytes, marker, start, length);
    }
    offset = end;
    if (marker === 0xda) {
      if (!frame) {
        throw new ImageInputError("corrupt", "JPEG file is corrupt: scan before frame header");
      }
      offset = skipEntropyData(bytes, offset);
      if (offset >= n) throw truncated("inside its image data");
    }
  }
  if (!frame) throw new ImageInputError("corrupt", "JPEG file is corrupt: no frame header");
  return frame;
}

function readFrame(bytes: Uint8Array, marker: number, start: number, length: number): JpegInfo {
  if (marker > 0xc2) {
    throw new ImageInputError(
      "unsupported",
      `JPEG process SOF${marker - 0xc0} (lossless, hierarchical or arithmetic) is not supported`,
    );
  }
  const precision = bytes[start]!;
  const height = (bytes[start + 1]! << 8) | bytes[start + 2]!;
  const width = (bytes[start + 3]! << 8) | bytes[start + 4]!;
  const count = bytes[start + 5]!;
  if (precision !== 8) {
    throw new ImageInputError("unsupported", `JPEG of ${precision}-bit precision is not supported`);
  }
  if (height === 0) {
    throw new ImageInputError(
      "unsupported",
      "JPEG with its height in a DNL marker is not supported",
    );
  }
  assertImageSize("JPEG", width, height);
  if (count !== 1 && count !== 3) {
    throw new ImageInputError(
      "unsupported",
      `JPEG with ${count} components (e.g. CMYK) is not supported`,
    );
  }
  if (length < 8 + 3 * count) {
    throw new ImageInputError("corrupt", "JPEG file is corrupt: short frame header");
  }
  const components: JpegComponent[] = [];
  for (let c = 0; c < count; c++) {
    const at = start + 6 + 3 * c;
    const h = bytes[at + 1]! >> 4;
    const v = bytes[at + 1]! & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) {
      throw new ImageInputError("corrupt", `JPEG file is corrupt: sampling factors ${h}x${v}`);
    }
    components.push({ id: bytes[at]!, h, v });
  }
  return { width, height, components, progressive: marker === 0xc2 };
}

/**
 * Decodes a JPEG whose markers {@linkcode readJpegInfo} accepted, to 8-bit gray or RGB, exactly
 * as PIL's `Image.open(...)` does (libjpeg-turbo; EXIF orientation not applied).
 *
 * @example Decode a gray JPEG made with jpeg-js
 * ```ts
 * import jpegJs from "jpeg-js";
 * import { decodeJpeg, readJpegInfo } from "./jpeg.ts";
 * const rgba = new Uint8Array(64 * 64 * 4).fill(200);
 * const bytes = new Uint8Array(jpegJs.encode({ width: 64, height: 64, data: rgba }, 90).data);
 * const img = decodeJpeg(bytes, readJpegInfo(bytes));
 * if (img.width !== 64 || Math.abs(img.data[0]! - 200) > 2) throw new Error();
 * ```
 */
export function decodeJpeg(bytes: Uint8Array, info: JpegInfo): DecodedImage {
  let pixels: JpegPixels;
  try {
    pixels = decodeJpegPixels(bytes);
  } catch (error) {
    throw new ImageInputError(
      "corrupt",
      `JPEG file cannot be decoded: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const { width, height } = info;
  if (pixels.width !== width || pixels.height !== height) {
    throw new ImageInputError(
      "corrupt",
      "JPEG file is corrupt: decoded size differs from its frame header",
    );
  }
  const rgba = pixels.rgba;
  const area = width * height;
  if (info.components.length === 1) {
    const gray = new Uint8Array(area);
    for (let i = 0; i < area; i++) gray[i] = rgba[4 * i]!;
    return { width, height, channels: 1, bitDepth: 8, data: gray };
  }
  const rgb = new Uint8Array(area * 3);
  for (let i = 0, o = 0; i < area; i++, o += 3) {
    rgb[o] = rgba[4 * i]!;
    rgb[o + 1] = rgba[4 * i + 1]!;
    rgb[o + 2] = rgba[4 * i + 2]!;
  }
  return { width, height, channels: 3, bitDepth: 8, data: rgb };
}
