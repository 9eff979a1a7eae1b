/**
 * Bilinear resampling bit-exact with PIL's `Image.resize(size, Image.BILINEAR)` on 8-bit images
 * (Pillow's Resample.c), which is what torchvision's `Resize` runs on PIL images: a separable
 * triangle filter whose support widens with the downscale factor (antialiasing), coefficients
 * normalized per output pixel and rounded to 22-bit fixed point, a horizontal pass rounded to
 * 8 bits, then a vertical pass.
 *
 * @module
 */
import type { Raster8 } from "./raster.ts";

/** Fixed-point precision of PIL's 8-bit resampling (`32 - 8 - 2`). */
const PRECISION_BITS = 22;

/** A window of the resized image, to compute only the pixels a crop keeps. */
export interface ResizeWindow {
  /** First column. */
  left: number;
  /** First row. */
  top: number;
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
}

/** Options of {@linkcode resizeBilinear}. */
export interface ResizeOptions {
  /** Output width of the whole resized image. */
  width: number;
  /** Output height of the whole resized image. */
  height: number;
  /**
   * Compute only this window of the resized image (the result is exactly that crop of the full
   * result, as each output pixel depends only on its own filter taps).
   * @default {the whole image}
   */
  window?: ResizeWindow;
}

interface Coefficients {
  /** First source index per output index. */
  start: Int32Array;
  /** Tap count per output index. */
  count: Int32Array;
  /** `ksize` fixed-point weights per output index. */
  weights: Int32Array;
  ksize: number;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear filter (support 1). */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // bilinear support 1.0, widened when downscaling
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x]! / ww : k[x]!;
      weights[xx * ksize + x] = w < 0
        ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS))
        : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { start, count, weights, ksize };
}

function clip8(ss: number): number {
  if (ss >= 1 << (PRECISION_BITS + 8)) return 255;
  if (ss <= 0) return 0;
  return ss >> PRECISION_BITS;
}

/**
 * Resizes with PIL's antialiased bilinear filter; with `window`, returns only that window.
 *
 * @example Halve a gradient
 * ```ts
 * import { resizeBilinear } from "./resize.ts";
 * const src = { width: 4, height: 1, channels: 1 as const, data: new Uint8Array([0, 100, 200, 250]) };
 * const out = resizeBilinear(src, { width: 2, height: 1 });
 * // Same as PIL: Image.frombytes("L", (4, 1), bytes([0, 100, 200, 250])).resize((2, 1), Image.BILINEAR)
 * if (out.data.join() !== "71,207") throw new Error(out.data.join());
 * ```
 */
export function resizeBilinear(image: Raster8, options: ResizeOptions): Raster8 {
  const { width, height } = options;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`Cannot resize to ${width}x${height}: sizes must be positive integers`);
  }
  const win = options.window ?? { left: 0, top: 0, width, height };
  if (
    win.left < 0 || win.top < 0 || win.left + win.width > width || win.top + win.height > height
  ) {
    throw new RangeError(
      `Cannot resize: window ${JSON.stringify(win)} is outside ${width}x${height}`,
    );
  }
  const ch = image.channels;
  const needH = width !== image.width;
  const needV = height !== image.height;
  const half = 1 << (PRECISION_BITS - 1);

  // Source rows the window's output rows read.
  const vert = needV ? coefficients(image.height, height) : undefined;
  const rowFirst = vert ? vert.start[win.top]! : win.top;
  const rowLast = vert
    ? vert.start[win.top + win.height - 1]! + vert.count[win.top + win.height - 1]!
    : win.top + win.height;

  // Horizontal pass over those rows, window columns only, rounded to 8 bits as PIL does.
  const tempRows = rowLast - rowFirst;
  const temp = new Uint8Array(tempRows * win.width * ch);
  if (needH) {
    const hc = coefficients(image.width, width);
    for (let r = 0; r < tempRows; r++) {
      const srcRow = (rowFirst + r) * image.width * ch;
      const outRow = r * win.width * ch;
      for (let xi = 0; xi < win.width; xi++) {
        const xx = win.left + xi;
        const s0 = hc.start[xx]!;
        const n = hc.count[xx]!;
        const kOff = xx * hc.ksize;
        for (let c = 0; c < ch; c++) {
          let ss = half;
          for (let x = 0; x < n; x++) {
            ss += image.data[srcRow + (s0 + x) * ch + c]! * hc.weights[kOff + x]!;
          }
          temp[outRow + xi * ch + c] = clip8(ss);
        }
      }
    }
  } else {
    for (let r = 0; r < tempRows; r++) {
      const from = ((rowFirst + r) * image.width + win.left) * ch;
      temp.set(image.data.subarray(from, from + win.width * ch), r * win.width * ch);
    }
  }
  if (!vert) return { width: win.width, height: win.height, channels: ch, data: temp };

  // Vertical pass.
  const out = new Uint8Array(win.width * win.height * ch);
  const rowLen = win.width * ch;
  for (let yi = 0; yi < win.height; yi++) {
    const yy = win.top + yi;
    const s0 = vert.start[yy]! - rowFirst;
    const n = vert.count[yy]!;
    const kOff = yy * vert.ksize;
    for (let i = 0; i < rowLen; i++) {
      let ss = half;
      for (let y = 0; y < n; y++) ss += temp[(s0 + y) * rowLen + i]! * vert.weights[kOff + y]!;
      out[yi * rowLen + i] = clip8(ss);
    }
  }
  return { width: win.width, height: win.height, channels: ch, data: out };
}
