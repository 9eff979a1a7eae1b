/**
 * Chest X-ray preprocessing cost: one 2000x2000 hospital JPEG through each stage, and the whole
 * real-image folder (113 files) through `preprocessImage`. Skipped where `../shared/` is absent.
 *
 * ```sh
 * npx --yes deno@2.9.6 bench -A bench/image_bench.ts
 * ```
 *
 * The PIL comparison over all 113 images runs in the test suite with `FLEXCARE_IMAGE_ALL=1`:
 * `FLEXCARE_IMAGE_ALL=1 npx --yes deno@2.9.6 test -A tests/features/image_test.ts`.
 *
 * @module
 */
import { decodeImage } from "../src/features/image/decode.ts";
import {
  centerCropWindow,
  preprocessImage,
  resizedSize,
} from "../src/features/image/preprocess.ts";
import { toRaster8 } from "../src/features/image/raster.ts";
import { resizeBilinear } from "../src/features/image/resize.ts";
import { mulberry32 } from "../tests/features/image_fixtures.ts";
import { SHARED_DIR, sharedMissing } from "../tests/shared.ts";

const DIR = `${SHARED_DIR}/data/cxr-open/images`;
const missing = sharedMissing("data/cxr-open/images");
const files = missing ? [] : [...Deno.readDirSync(DIR)].map((e) => e.name).sort();
const jpeg = missing ? new Uint8Array() : Deno.readFileSync(`${DIR}/00870a9c.jpg`);
const all = files.map((f) => Deno.readFileSync(`${DIR}/${f}`));
const raster = missing ? undefined : toRaster8(decodeImage(jpeg));

Deno.bench({
  name: "preprocess 2000x2000 JPEG (serving)",
  group: "stage",
  baseline: true,
  ignore: missing,
  fn: () => void preprocessImage(jpeg),
});
Deno.bench({
  name: "decode 2000x2000 JPEG (libjpeg-turbo wasm)",
  group: "stage",
  ignore: missing,
  fn: () => void decodeImage(jpeg),
});
Deno.bench({
  name: "resize + crop window 2000x2000 -> 224x224",
  group: "stage",
  ignore: missing,
  fn: () => {
    const size = resizedSize(raster!.width, raster!.height);
    resizeBilinear(raster!, { ...size, window: centerCropWindow(size.width, size.height) });
  },
});
const rng = mulberry32(1);
Deno.bench({
  name: "preprocess 2000x2000 JPEG with augmentation",
  group: "stage",
  ignore: missing,
  fn: () => void preprocessImage(jpeg, { augment: { rng } }),
});
Deno.bench({
  name: `preprocess all ${files.length} real images`,
  group: "folder",
  baseline: true,
  ignore: missing,
  n: 3,
  warmup: 1,
  fn: () => {
    for (const bytes of all) preprocessImage(bytes);
  },
});
