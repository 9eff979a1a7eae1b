/**
 * Decoded pixels, and their conversion to 8-bit RGB as PIL's `Image.convert("RGB")` does.
 *
 * @module
 */

/**
 * Pixels as decoded, interleaved row-major. Palettes are already expanded to RGB; sub-byte
 * PNG samples are already scaled to 8 bits.
 */
export interface DecodedImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** Bits per sample of `data`. */
  bitDepth: 8 | 16;
  /** `width * height * channels` samples. */
  data: Uint8Array | Uint16Array;
}

/**
 * 8-bit pixels ready for resampling: one gray plane or interleaved RGB. A gray raster stands
 * for the RGB image with three equal channels (PIL's L -> RGB conversion copies the value), so
 * resampling it once gives the same result as resampling three equal channels.
 */
export interface Raster8 {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 (gray, meaning R = G = B) or 3 (RGB). */
  channels: 1 | 3;
  /** `width * height * channels` bytes, interleaved. */
  data: Uint8Array;
}

/**
 * Converts decoded pixels to 8-bit gray or RGB: alpha is dropped (not composited, as
 * `convert("RGB")` does), and 16-bit samples keep their high byte (as PIL reads 16-bit RGB PNGs).
 *
 * @example Drop the alpha of a gray+alpha image
 * ```ts
 * import { toRaster8 } from "./raster.ts";
 * const r = toRaster8({
 *   width: 1, height: 1, channels: 2, bitDepth: 16, data: new Uint16Array([0x1234, 0xffff]),
 * });
 * if (r.channels !== 1 || r.data[0] !== 0x12) throw new Error();
 * ```
 */
export function toRaster8(image: DecodedImage): Raster8 {
  const { width, height, channels, data } = image;
  const n = width * height;
  const outChannels = channels <= 2 ? 1 : 3;
  const shift = image.bitDepth === 16 ? 8 : 0;
  if (shift === 0 && channels === outChannels && data instanceof Uint8Array) {
    return { width, height, channels: outChannels, data };
  }
  const out = new Uint8Array(n * outChannels);
  for (let i = 0, o = 0, s = 0; i < n; i++, s += channels) {
    for (let c = 0; c < outChannels; c++) out[o++] = data[s + c]! >> shift;
  }
  return { width, height, channels: outChannels, data: out };
}
