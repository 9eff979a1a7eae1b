/**
 * JPEG: header reading (marker walk, before any pixel is decoded) and decoding of baseline,
 * extended and progressive 8-bit JPEGs, gray or three-component. Entropy decoding and the
 * inverse DCT come from `jpeg-js`; chroma upsampling and the YCbCr -> RGB conversion are done
 * here exactly as libjpeg-turbo (which PIL uses) does them: "fancy" triangle upsampling and
 * 16-bit fixed-point colour tables.
 *
 * @module
 */
import jpegJs from "jpeg-js";
import { ImageInputError } from "./errors.ts";
import { assertImageSize } from "./limits.ts";
import type { DecodedImage } from "./raster.ts";

/** jpeg-js's own memory cap (its default, 512 MiB, would refuse colour images near 50 MP). */
const DECODER_MEMORY_MB = 1024;

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
  /** True when three components are YCbCr (libjpeg's rule: Adobe marker, then component ids). */
  ycc: boolean;
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
  let frame: Omit<JpegInfo, "ycc"> | undefined;
  let adobeTransform: number | undefined;
  let jfif = false;
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
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (marker > 0xc2) {
        throw new ImageInputError(
          "unsupported",
          `JPEG process SOF${
            marker - 0xc0
          } (lossless, hierarchical or arithmetic) is not supported`,
        );
      }
      if (frame) {
        throw new ImageInputError("unsupported", "JPEG with more than one frame is not supported");
      }
      const precision = bytes[start]!;
      const height = (bytes[start + 1]! << 8) | bytes[start + 2]!;
      const width = (bytes[start + 3]! << 8) | bytes[start + 4]!;
      const count = bytes[start + 5]!;
      if (precision !== 8) {
        throw new ImageInputError(
          "unsupported",
          `JPEG of ${precision}-bit precision is not supported`,
        );
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
      frame = { width, height, components, progressive: marker === 0xc2 };
    } else if (
      marker === 0xe0 && length >= 7 &&
      String.fromCharCode(...bytes.subarray(start, start + 5)) === "JFIF\0"
    ) {
      jfif = true;
    } else if (
      marker === 0xee && length >= 14 &&
      String.fromCharCode(...bytes.subarray(start, start + 5)) === "Adobe"
    ) {
      adobeTransform = bytes[start + 11]!;
    }
    offset = end;
    if (marker === 0xda) {
      if (!frame) {
        throw new ImageInputError("corrupt", "JPEG file is corrupt: scan before frame header");
      }
      // Entropy-coded data runs to the next marker that is neither a stuffed 0xFF00 nor RSTn.
      while (
        offset + 1 < n &&
        !(bytes[offset] === 0xff && bytes[offset + 1] !== 0 &&
          (bytes[offset + 1]! < 0xd0 || bytes[offset + 1]! > 0xd7))
      ) {
        offset++;
      }
      if (offset + 1 >= n) throw truncated("inside its image data");
    }
  }
  if (!frame) throw new ImageInputError("corrupt", "JPEG file is corrupt: no frame header");
  let ycc = frame.components.length === 3;
  if (ycc && !jfif) {
    if (adobeTransform !== undefined) ycc = adobeTransform !== 0;
    else {ycc = !(frame.components[0]!.id === 0x52 && frame.components[1]!.id === 0x47 &&
        frame.components[2]!.id === 0x42);}
  }
  return { ...frame, ycc };
}

/**
 * Decodes a JPEG whose markers {@linkcode readJpegInfo} accepted, to 8-bit gray or RGB with
 * libjpeg-turbo's upsampling and colour conversion.
 *
 * @example Decode a gray JPEG made with jpeg-js
 * ```ts
 * import jpegJs from "jpeg-js";
 * import { decodeJpeg, readJpegInfo } from "./jpeg.ts";
 * const rgba = new Uint8Array(64 * 64 * 4).fill(200);
 * const { data } = jpegJs.encode({ width: 64, height: 64, data: rgba }, 90);
 * const bytes = new Uint8Array(data);
 * const img = decodeJpeg(bytes, readJpegInfo(bytes));
 * if (img.width !== 64 || Math.abs(img.data[0]! - 200) > 2) throw new Error();
 * ```
 */
export function decodeJpeg(bytes: Uint8Array, info: JpegInfo): DecodedImage {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpegJs.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      colorTransform: false,
      tolerantDecoding: false,
      maxMemoryUsageInMB: DECODER_MEMORY_MB,
    });
  } catch (error) {
    throw new ImageInputError(
      "corrupt",
      `JPEG file cannot be decoded: ${(error as Error)?.message ?? error}`,
      {
        cause: error,
      },
    );
  }
  const { width, height } = info;
  if (decoded.width !== width || decoded.height !== height) {
    throw new ImageInputError(
      "corrupt",
      "JPEG file is corrupt: decoded size differs from its frame header",
    );
  }
  const src = decoded.data; // 3 samples per pixel (gray is repeated)
  const area = width * height;
  if (info.components.length === 1) {
    const gray = new Uint8Array(area);
    for (let i = 0; i < area; i++) gray[i] = src[3 * i]!;
    return { width, height, channels: 1, bitDepth: 8, data: gray };
  }
  const maxH = Math.max(...info.components.map((c) => c.h));
  const maxV = Math.max(...info.components.map((c) => c.v));
  const planes = info.components.map((c, k) =>
    upsample(src, k, width, height, maxH / c.h, maxV / c.v)
  );
  const [p0, p1, p2] = planes as [Uint8Array, Uint8Array, Uint8Array];
  const rgb = new Uint8Array(area * 3);
  if (!info.ycc) {
    for (let i = 0; i < area; i++) {
      rgb[3 * i] = p0[i]!;
      rgb[3 * i + 1] = p1[i]!;
      rgb[3 * i + 2] = p2[i]!;
    }
  } else {
    const t = yccTables();
    for (let i = 0; i < area; i++) {
      const y = p0[i]!;
      const cb = p1[i]!;
      const cr = p2[i]!;
      rgb[3 * i] = clamp8(y + t.crR[cr]!);
      rgb[3 * i + 1] = clamp8(y + ((t.cbG[cb]! + t.crG[cr]!) >> 16));
      rgb[3 * i + 2] = clamp8(y + t.cbB[cb]!);
    }
  }
  return { width, height, channels: 3, bitDepth: 8, data: rgb };
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

interface YccTables {
  crR: Int32Array;
  cbB: Int32Array;
  crG: Int32Array;
  cbG: Int32Array;
}

let tables: YccTables | undefined;

/** libjpeg's jdcolor.c tables: SCALEBITS 16, FIX(x) = round(x * 65536). */
function yccTables(): YccTables {
  if (tables) return tables;
  const fix = (x: number) => Math.trunc(x * 65536 + 0.5);
  const half = 1 << 15;
  const t: YccTables = {
    crR: new Int32Array(256),
    cbB: new Int32Array(256),
    crG: new Int32Array(256),
    cbG: new Int32Array(256),
  };
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    t.crR[i] = (fix(1.402) * x + half) >> 16;
    t.cbB[i] = (fix(1.772) * x + half) >> 16;
    t.crG[i] = -fix(0.71414) * x;
    t.cbG[i] = -fix(0.34414) * x + half;
  }
  tables = t;
  return t;
}

/**
 * Recovers component `k`'s subsampled plane from jpeg-js's pixel-replicated output and upsamples
 * it as libjpeg-turbo's jdsample.c does: fancy (triangle) for 2x1, 2x2 and 1x2, replication for
 * other integral factors (which is what jpeg-js already produced).
 */
function upsample(
  src: Uint8Array,
  k: number,
  width: number,
  height: number,
  fx: number,
  fy: number,
): Uint8Array {
  const out = new Uint8Array(width * height);
  const fancy = (fx === 2 && (fy === 1 || fy === 2)) || (fx === 1 && fy === 2);
  if (!fancy) {
    for (let i = 0; i < width * height; i++) out[i] = src[3 * i + k]!;
    return out;
  }
  const cw = Math.ceil(width / fx);
  const ch = Math.ceil(height / fy);
  const sub = new Int32Array(cw * ch);
  for (let j = 0; j < ch; j++) {
    for (let i = 0; i < cw; i++) sub[j * cw + i] = src[3 * ((j * fy) * width + i * fx) + k]!;
  }
  const row = (j: number) => Math.min(Math.max(j, 0), ch - 1) * cw;
  for (let y = 0; y < height; y++) {
    const j = Math.floor(y / fy);
    const o = y * width;
    if (fy === 1) { // h2v1
      const r = row(j);
      for (let i = 0; i < cw; i++) {
        const c = sub[r + i]!;
        const left = i === 0 ? c : sub[r + i - 1]!;
        const right = i === cw - 1 ? c : sub[r + i + 1]!;
        const a = i === 0 ? c : (c * 3 + left + 1) >> 2;
        const b = i === cw - 1 ? c : (c * 3 + right + 2) >> 2;
        if (2 * i < width) out[o + 2 * i] = a;
        if (2 * i + 1 < width) out[o + 2 * i + 1] = b;
      }
      continue;
    }
    // Vertical neighbour: the row above for the upper output row, below for the lower one.
    const upper = y % 2 === 0;
    const r0 = row(j);
    const r1 = row(upper ? j - 1 : j + 1);
    if (fx === 1) { // h1v2
      const bias = upper ? 1 : 2;
      for (let i = 0; i < cw; i++) out[o + i] = (sub[r0 + i]! * 3 + sub[r1 + i]! + bias) >> 2;
      continue;
    }
    // h2v2: column sums of 3 * near row + far row, then 3:1 horizontally.
    const colsum = (i: number) => sub[r0 + i]! * 3 + sub[r1 + i]!;
    for (let i = 0; i < cw; i++) {
      const t = colsum(i);
      const a = i === 0 ? (t * 4 + 8) >> 4 : (t * 3 + colsum(i - 1) + 8) >> 4;
      const b = i === cw - 1 ? (t * 4 + 7) >> 4 : (t * 3 + colsum(i + 1) + 7) >> 4;
      if (2 * i < width) out[o + 2 * i] = a;
      if (2 * i + 1 < width) out[o + 2 * i + 1] = b;
    }
  }
  return out;
}
