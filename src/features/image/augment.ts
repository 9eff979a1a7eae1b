/**
 * Training augmentation, as torchvision's `RandomHorizontalFlip()` followed by
 * `RandomAffine(45, translate=(0.15, 0.15), scale=(0.85, 1.15))` on the resized PIL image: nearest
 * sampling, black fill, rotation about the image centre. Randomness comes only from the
 * caller's seeded generator, drawn in torchvision's order (flip, angle, translation, scale).
 *
 * @module
 */
import { AUGMENT } from "./constants.ts";
import type { Raster8 } from "./raster.ts";
import type { ResizeWindow } from "./resize.ts";

/** A draw of the augmentation parameters. */
export interface AugmentParams {
  /** Mirror left-right before the affine transform. */
  flip: boolean;
  /** Counter-clockwise rotation in degrees. */
  angle: number;
  /** Translation in whole pixels (x right, y down). */
  translate: [number, number];
  /** Isotropic scale. */
  scale: number;
}

/** Options of {@linkcode sampleAugment}. */
export interface AugmentOptions {
  /** Uniform generator on [0, 1), seeded by the caller (never `Math.random`). */
  rng: () => number;
}

/**
 * Draws flip, angle, translation and scale for an image of `width` x `height`.
 *
 * @example Deterministic with a fixed generator
 * ```ts
 * import { sampleAugment } from "./augment.ts";
 * const p = sampleAugment(256, 256, { rng: () => 0.5 });
 * if (p.flip || p.angle !== 0 || p.scale !== 1 || p.translate[0] !== 0) throw new Error();
 * ```
 */
export function sampleAugment(
  width: number,
  height: number,
  options: AugmentOptions,
): AugmentParams {
  const { rng } = options;
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rng();
  const flip = rng() < AUGMENT.flipProbability;
  const angle = uniform(-AUGMENT.maxRotationDegrees, AUGMENT.maxRotationDegrees);
  const maxDx = AUGMENT.maxTranslate * width;
  const maxDy = AUGMENT.maxTranslate * height;
  const translate: [number, number] = [
    roundHalfEven(uniform(-maxDx, maxDx)),
    roundHalfEven(uniform(-maxDy, maxDy)),
  ];
  const scale = uniform(AUGMENT.minScale, AUGMENT.maxScale);
  return { flip, angle, translate, scale };
}

/**
 * Applies `params` to `image` and returns only `window` of the result (the centre crop), as
 * PIL's `Image.transform(AFFINE, NEAREST)` with torchvision's inverse matrix would give it.
 *
 * @example The identity keeps the pixels
 * ```ts
 * import { applyAugment } from "./augment.ts";
 * const img = { width: 2, height: 1, channels: 1 as const, data: new Uint8Array([1, 2]) };
 * const p = { flip: true, angle: 0, translate: [0, 0] as [number, number], scale: 1 };
 * const out = applyAugment(img, p, { left: 0, top: 0, width: 2, height: 1 });
 * if (out.data.join() !== "2,1") throw new Error(out.data.join());
 * ```
 */
export function applyAugment(image: Raster8, params: AugmentParams, window: ResizeWindow): Raster8 {
  const { width, height, channels: ch } = image;
  const rad = (params.angle * Math.PI) / 180;
  const cx = width * 0.5;
  const cy = height * 0.5;
  const [tx, ty] = params.translate;
  // torchvision _get_inverse_affine_matrix with shear 0: output -> input coordinates.
  const m0 = Math.cos(rad) / params.scale;
  const m1 = Math.sin(rad) / params.scale;
  const m3 = -Math.sin(rad) / params.scale;
  const m4 = Math.cos(rad) / params.scale;
  const m2 = m0 * (-cx - tx) + m1 * (-cy - ty) + cx;
  const m5 = m3 * (-cx - tx) + m4 * (-cy - ty) + cy;
  const out = new Uint8Array(window.width * window.height * ch); // black fill
  for (let yi = 0; yi < window.height; yi++) {
    const y = window.top + yi + 0.5;
    for (let xi = 0; xi < window.width; xi++) {
      const x = window.left + xi + 0.5;
      const xin = m0 * x + m1 * y + m2;
      const yin = m3 * x + m4 * y + m5;
      if (xin < 0 || yin < 0) continue;
      let sx = Math.trunc(xin);
      const sy = Math.trunc(yin);
      if (sx >= width || sy >= height) continue;
      if (params.flip) sx = width - 1 - sx;
      const s = (sy * width + sx) * ch;
      const o = (yi * window.width + xi) * ch;
      for (let c = 0; c < ch; c++) out[o + c] = image.data[s + c]!;
    }
  }
  return { width: window.width, height: window.height, channels: ch, data: out };
}

/**
 * Python's `round`: halves go to the even neighbour (torchvision rounds crops and shifts so).
 *
 * @example Halves
 * ```ts
 * import { roundHalfEven } from "./augment.ts";
 * if ([0.5, 1.5, 2.5, -1.5].map(roundHalfEven).join() !== "0,2,2,-2") throw new Error();
 * ```
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return (Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}
