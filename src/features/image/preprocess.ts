/**
 * The chest X-ray input transform: bytes -> the Float32 [3, 224, 224] tensor the model was trained
 * on, as torchvision's `Resize(256)`, `CenterCrop(224)`, `ToTensor()` and ImageNet `Normalize`
 * compute it on a PIL image converted to RGB (plus the training augmentation when asked).
 *
 * @module
 */
import { applyAugment, type AugmentOptions, roundHalfEven, sampleAugment } from "./augment.ts";
import { IMAGE_SIZE, IMAGENET_MEAN, IMAGENET_STD, RESIZE } from "./constants.ts";
import { decodeImage } from "./decode.ts";
import { type Raster8, toRaster8 } from "./raster.ts";
import { resizeBilinear, type ResizeWindow } from "./resize.ts";

/** Options of {@linkcode preprocessImage}. */
export interface PreprocessOptions {
  /**
   * Declared media type; must match the bytes when given.
   * @default {undefined}
   */
  mediaType?: string;
  /**
   * Training augmentation (random flip and affine) drawn from this seeded generator.
   * @default {undefined} (no augmentation: the serving transform)
   */
  augment?: AugmentOptions;
}

/**
 * torchvision `Resize(RESIZE)` output size: the shorter side becomes `RESIZE`, the longer one
 * `int(RESIZE * long / short)`.
 *
 * @example A landscape image
 * ```ts
 * import { resizedSize } from "./preprocess.ts";
 * const s = resizedSize(375, 277);
 * if (s.width !== 346 || s.height !== 256) throw new Error(JSON.stringify(s));
 * ```
 */
export function resizedSize(width: number, height: number): { width: number; height: number } {
  if (width <= height) return { width: RESIZE, height: Math.trunc((RESIZE * height) / width) };
  return { width: Math.trunc((RESIZE * width) / height), height: RESIZE };
}

/**
 * torchvision `CenterCrop(IMAGE_SIZE)` window: `top = int(round((h - 224) / 2))`, same for left.
 *
 * @example
 * ```ts
 * import { centerCropWindow } from "./preprocess.ts";
 * const w = centerCropWindow(341, 256);
 * if (w.left !== 58 || w.top !== 16) throw new Error(JSON.stringify(w));
 * ```
 */
export function centerCropWindow(width: number, height: number): ResizeWindow {
  return {
    left: roundHalfEven((width - IMAGE_SIZE) / 2),
    top: roundHalfEven((height - IMAGE_SIZE) / 2),
    width: IMAGE_SIZE,
    height: IMAGE_SIZE,
  };
}

let normalizeTables: Float32Array[] | undefined;

/** Per channel, byte -> `((v / 255) - mean) / std` in float32 arithmetic, as torch computes it. */
function tables(): Float32Array[] {
  if (normalizeTables) return normalizeTables;
  normalizeTables = [0, 1, 2].map((c) => {
    const mean = Math.fround(IMAGENET_MEAN[c]!);
    const std = Math.fround(IMAGENET_STD[c]!);
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      t[v] = Math.fround(Math.fround(Math.fround(v / 255) - mean) / std);
    }
    return t;
  });
  return normalizeTables;
}

/**
 * Scales a crop to [0,1] and normalizes it with the ImageNet statistics, as CHW float32 (a gray
 * crop fills the three channels alike).
 *
 * @example A black pixel
 * ```ts
 * import { normalizeCrop } from "./preprocess.ts";
 * const t = normalizeCrop({ width: 1, height: 1, channels: 1, data: new Uint8Array([0]) });
 * if (Math.abs(t[0]! + 0.485 / 0.229) > 1e-6) throw new Error();
 * ```
 */
export function normalizeCrop(crop: Raster8): Float32Array {
  const area = crop.width * crop.height;
  const out = new Float32Array(3 * area);
  const t = tables();
  for (let c = 0; c < 3; c++) {
    const lut = t[c]!;
    const plane = c * area;
    const k = crop.channels === 3 ? c : 0;
    for (let i = 0; i < area; i++) out[plane + i] = lut[crop.data[i * crop.channels + k]!]!;
  }
  return out;
}

/**
 * Bytes (JPEG, PNG or DICOM) -> Float32Array of shape [3, IMAGE_SIZE, IMAGE_SIZE] (CHW), the
 * model's image input. Throws `ImageInputError` for refused input, before decoding pixels when
 * the header alone is enough.
 *
 * @example Preprocess a synthetic PNG
 * ```ts
 * import { encode } from "fast-png";
 * import { preprocessImage } from "./preprocess.ts";
 * const png = encode({ width: 300, height: 400, channels: 1, depth: 8, data: new Uint8Array(300 * 400).fill(255) });
 * const x = preprocessImage(png);
 * if (x.length !== 3 * 224 * 224 || Math.abs(x[0]! - (1 - 0.485) / 0.229) > 1e-6) throw new Error();
 * ```
 */
export function preprocessImage(bytes: Uint8Array, options: PreprocessOptions = {}): Float32Array {
  const decoded = decodeImage(
    bytes,
    options.mediaType === undefined ? {} : { mediaType: options.mediaType },
  );
  const raster = toRaster8(decoded);
  const size = resizedSize(raster.width, raster.height);
  const window = centerCropWindow(size.width, size.height);
  if (options.augment === undefined) {
    return normalizeCrop(resizeBilinear(raster, { ...size, window }));
  }
  const resized = resizeBilinear(raster, size);
  const params = sampleAugment(size.width, size.height, options.augment);
  return normalizeCrop(applyAugment(resized, params, window));
}
