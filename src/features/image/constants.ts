/**
 * Every size and statistic of the chest X-ray input, in one place, so that serving, the tensor
 * writer and the PyTorch trainer cannot drift apart.
 *
 * @module
 */

/** Side of the square crop the model sees (torchvision `CenterCrop(224)`; 14x14 patches of 16).
 *
 * @example Read it
 * ```ts
 * import { IMAGE_SIZE } from "./constants.ts";
 * if (IMAGE_SIZE % 16 !== 0) throw new Error("patches must tile the crop");
 * ```
 */
export const IMAGE_SIZE = 224;

/** Length the shorter side is resized to before the crop (torchvision `Resize(256)`).
 *
 * @example Read it
 * ```ts
 * import { IMAGE_SIZE, RESIZE } from "./constants.ts";
 * if (RESIZE < IMAGE_SIZE) throw new Error();
 * ```
 */
export const RESIZE = 256;

/** ImageNet channel means (R, G, B) on the [0,1] scale, as the pretrained recipe normalizes.
 *
 * @example Read it
 * ```ts
 * import { IMAGENET_MEAN } from "./constants.ts";
 * if (IMAGENET_MEAN.length !== 3) throw new Error();
 * ```
 */
export const IMAGENET_MEAN: readonly [number, number, number] = Object.freeze([
  0.485,
  0.456,
  0.406,
]) as readonly [number, number, number];

/** ImageNet channel standard deviations (R, G, B) on the [0,1] scale.
 *
 * @example Read it
 * ```ts
 * import { IMAGENET_STD } from "./constants.ts";
 * if (IMAGENET_STD.some((s) => s <= 0)) throw new Error();
 * ```
 */
export const IMAGENET_STD: readonly [number, number, number] = Object.freeze([
  0.229,
  0.224,
  0.225,
]) as readonly [number, number, number];

/** Smallest accepted side in pixels: anything smaller is an icon or a thumbnail, not a radiograph.
 *
 * @example Read it
 * ```ts
 * import { MIN_IMAGE_SIDE } from "./constants.ts";
 * if (MIN_IMAGE_SIDE !== 64) throw new Error();
 * ```
 */
export const MIN_IMAGE_SIDE = 64;

/** Largest accepted image area in pixels (50 megapixels), checked from the header before decoding.
 *
 * @example Read it
 * ```ts
 * import { MAX_IMAGE_PIXELS } from "./constants.ts";
 * if (2000 * 2000 > MAX_IMAGE_PIXELS) throw new Error();
 * ```
 */
export const MAX_IMAGE_PIXELS = 50_000_000;

/** Training augmentation ranges (torchvision `RandomAffine(45, (0.15, 0.15), (0.85, 1.15))`).
 *
 * @example Read it
 * ```ts
 * import { AUGMENT } from "./constants.ts";
 * if (AUGMENT.minScale >= AUGMENT.maxScale) throw new Error();
 * ```
 */
export const AUGMENT = Object.freeze({
  /** Probability of a horizontal flip. */
  flipProbability: 0.5,
  /** Largest rotation in degrees, either direction. */
  maxRotationDegrees: 45,
  /** Largest translation as a fraction of the width (x) and the height (y). */
  maxTranslate: 0.15,
  /** Smallest isotropic scale. */
  minScale: 0.85,
  /** Largest isotropic scale. */
  maxScale: 1.15,
});
