/**
 * The size check every format runs as soon as its header gives the dimensions, before any pixel
 * is decoded (a decompression bomb is refused from its header alone).
 *
 * @module
 */
import { MAX_IMAGE_PIXELS, MIN_IMAGE_SIDE } from "./constants.ts";
import { ImageInputError } from "./errors.ts";

/**
 * Throws {@linkcode ImageInputError} (`too_small` or `too_large`) unless both sides are at least
 * {@linkcode MIN_IMAGE_SIDE} and the area is at most {@linkcode MAX_IMAGE_PIXELS}.
 *
 * @example Refuse a thumbnail
 * ```ts
 * import { assertImageSize } from "./limits.ts";
 * import { ImageInputError } from "./errors.ts";
 * assertImageSize("PNG", 2000, 2000);
 * try {
 *   assertImageSize("PNG", 32, 32);
 *   throw new Error("not refused");
 * } catch (e) {
 *   if (!(e instanceof ImageInputError) || e.reason !== "too_small") throw e;
 * }
 * ```
 */
export function assertImageSize(format: string, width: number, height: number): void {
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE) {
    throw new ImageInputError(
      "too_small",
      `${format} image of ${width}x${height} is too small: each side must be at least ${MIN_IMAGE_SIDE} pixels`,
    );
  }
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ImageInputError(
      "too_large",
      `${format} image of ${width}x${height} is too large: at most ${MAX_IMAGE_PIXELS} pixels are accepted`,
    );
  }
}
