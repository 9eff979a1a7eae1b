/**
 * Chest X-ray preprocessing: decoders (PNG, JPEG, DICOM), refusals, the PIL-exact resize, the
 * augmentation, and the comparison with PIL on synthetic and real images.
 */
import { encode as encodePng } from "fast-png";
import jpegJs from "jpeg-js";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { SHARED_DIR, sharedMissing } from "../shared.ts";
import {
  absDiff,
  mulberry32,
  packBits,
  pilAvailable,
  pngFromRows,
  runPython,
  writeDicom,
} from "./image_fixtures.ts";
import { applyAugment, sampleAugment } from "../../src/features/image/augment.ts";
import { IMAGE_SIZE, IMAGENET_MEAN, IMAGENET_STD } from "../../src/features/image/constants.ts";
import { decodeImage } from "../../src/features/image/decode.ts";
import { ImageInputError, type ImageInputReason } from "../../src/features/image/errors.ts";
import {
  centerCropWindow,
  normalizeCrop,
  preprocessImage,
  resizedSize,
} from "../../src/features/image/preprocess.ts";
import { probeImage } from "../../src/features/image/probe.ts";
import { toRaster8 } from "../../src/features/image/raster.ts";
import { resizeBilinear } from "../../src/features/image/resize.ts";

const TENSOR_LENGTH = 3 * IMAGE_SIZE * IMAGE_SIZE;
const PIL_SCRIPT = decodeURIComponent(
  new URL("../reference/pil_preprocess.py", import.meta.url).pathname,
);
const CXR_DIR = "data/cxr-open/images";

function refused(fn: () => unknown, reason: ImageInputReason, includes?: string): ImageInputError {
  const e = assertThrows(fn, ImageInputError, includes);
  assertEquals(e.reason, reason, `reason of: ${e.message}`);
  return e;
}

function pattern(n: number, seed: number, max = 255): number[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor(rng() * (max + 1)));
}

Deno.test("image: PNG variants decode to the samples written", () => {
  const w = 70, h = 65, n = w * h;
  const cases = [
    { channels: 1, depth: 8 },
    { channels: 1, depth: 16 },
    { channels: 2, depth: 8 },
    { channels: 3, depth: 8 },
    { channels: 3, depth: 16 },
    { channels: 4, depth: 8 },
    { channels: 4, depth: 16 },
  ] as const;
  for (const { channels, depth } of cases) {
    const values = pattern(n * channels, channels * 100 + depth, depth === 16 ? 65535 : 255);
    const data = depth === 16 ? Uint16Array.from(values) : Uint8Array.from(values);
    for (const interlace of ["null", "Adam7"] as const) {
      const png = encodePng({ width: w, height: h, channels, depth, data }, { interlace });
      const img = decodeImage(png);
      assertEquals([img.width, img.height, img.channels, img.bitDepth], [w, h, channels, depth]);
      assertEquals(Array.from(img.data), values, `${channels}ch ${depth}-bit ${interlace}`);
    }
  }
});

Deno.test("image: sub-byte gray and palette PNGs expand as PIL does", () => {
  const w = 67, h = 64;
  for (const depth of [1, 2, 4]) {
    const max = (1 << depth) - 1;
    const rows = Array.from({ length: h }, (_, y) => pattern(w, y + depth, max));
    const img = decodeImage(pngFromRows({
      width: w,
      height: h,
      bitDepth: depth,
      colorType: 0,
      rows: rows.map((r) => packBits(r, depth)),
    }));
    assertEquals(img.channels, 1);
    assertEquals(
      Array.from(img.data),
      rows.flat().map((v) => (v * 255) / max),
      `${depth}-bit gray`,
    );
  }
  const palette = Uint8Array.from({ length: 16 * 3 }, (_, i) => (i * 37) % 256);
  for (const depth of [2, 4, 8]) {
    const rows = Array.from({ length: h }, (_, y) => pattern(w, y, (1 << Math.min(depth, 4)) - 1));
    const packed = rows.map((r) => depth === 8 ? Uint8Array.from(r) : packBits(r, depth));
    const img = decodeImage(
      pngFromRows({ width: w, height: h, bitDepth: depth, colorType: 3, rows: packed, palette }),
    );
    assertEquals([img.channels, img.bitDepth], [3, 8]);
    assertEquals(
      Array.from(img.data),
      rows.flat().flatMap((i) => [palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]]),
    );
  }
});

Deno.test("image: a jpeg-js JPEG decodes close to its source, gray and colour", () => {
  const w = 96, h = 80;
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = 4 * (y * w + x);
      rgba.set([x * 2, y * 3, 128 + ((x - y) >> 1), 255], o);
    }
  }
  const bytes = new Uint8Array(jpegJs.encode({ width: w, height: h, data: rgba }, 95).data);
  assertEquals(probeImage(bytes, { mediaType: "image/jpeg" }), {
    format: "jpeg",
    width: w,
    height: h,
  });
  const img = decodeImage(bytes);
  assertEquals([img.channels, img.bitDepth], [3, 8]);
  const rgb = Array.from({ length: w * h * 3 }, (_, i) => rgba[4 * Math.floor(i / 3) + (i % 3)]!);
  assert(absDiff(img.data, rgb).mean < 2, `mean ${absDiff(img.data, rgb).mean}`);
});

Deno.test("image: DICOM MONOCHROME2 with window, rescale, MONOCHROME1, min-max, implicit VR", () => {
  const rows = 64, columns = 64, n = rows * columns;
  const pixels = Array.from({ length: n }, (_, i) => (i * 7) % 4096);
  const windowed = decodeImage(
    writeDicom({ rows, columns, pixels, bitsStored: 12, windowCenter: 2048, windowWidth: 1024 }),
    {
      mediaType: "application/dicom",
    },
  );
  assertEquals([windowed.width, windowed.height, windowed.channels, windowed.bitDepth], [
    columns,
    rows,
    1,
    8,
  ]);
  const voi = (x: number, c: number, w: number) =>
    x <= c - 0.5 - (w - 1) / 2
      ? 0
      : x > c - 0.5 + (w - 1) / 2
      ? 255
      : Math.round(((x - (c - 0.5)) / (w - 1) + 0.5) * 255);
  assertEquals(Array.from(windowed.data), pixels.map((x) => voi(x, 2048, 1024)));

  const rescaled = decodeImage(writeDicom({
    rows,
    columns,
    pixels,
    windowCenter: 40,
    windowWidth: 400,
    slope: 1,
    intercept: -1024,
    photometric: "MONOCHROME1",
  }));
  assertEquals(Array.from(rescaled.data), pixels.map((x) => 255 - voi(x - 1024, 40, 400)));

  const minMax = decodeImage(writeDicom({ rows, columns, pixels, implicit: true }));
  assertEquals(minMax.data[0], 0);
  assertEquals(Math.max(...minMax.data), 255);
  assertEquals(minMax.data[100], Math.round((pixels[100]! / 4095) * 255));

  const signed = decodeImage(
    writeDicom({
      rows,
      columns,
      pixels: pixels.map((v) => v - 2048),
      signed: true,
      bitsAllocated: 16,
    }),
  );
  assertEquals(Array.from(signed.data), Array.from(minMax.data));

  const eight = decodeImage(
    writeDicom({ rows, columns, pixels: pixels.map((v) => v >> 4), bitsAllocated: 8 }),
  );
  assertEquals(eight.data[100], Math.round(((pixels[100]! >> 4) / 255) * 255));

  const tensor = preprocessImage(
    writeDicom({ rows, columns, pixels, windowCenter: 2048, windowWidth: 1024 }),
  );
  assertEquals(tensor.length, TENSOR_LENGTH);
});

Deno.test("image: DICOM refusals name the problem", () => {
  const base = { rows: 64, columns: 64, pixels: new Array(64 * 64).fill(100) };
  refused(
    () => decodeImage(writeDicom({ ...base, transferSyntax: "1.2.840.10008.1.2.4.50" })),
    "unsupported",
    "1.2.840.10008.1.2.4.50",
  );
  const full = writeDicom(base);
  refused(() => decodeImage(full.subarray(0, full.length - 100)), "truncated");
  refused(
    () => decodeImage(writeDicom({ rows: 32, columns: 64, pixels: new Array(32 * 64).fill(1) })),
    "too_small",
  );
  refused(
    () => decodeImage(writeDicom({ ...base, photometric: "YBR_FULL" })),
    "unsupported",
    "YBR_FULL",
  );
});

Deno.test("image: refusals happen before decoding, with a reason", () => {
  refused(() => probeImage(Uint8Array.from(pattern(5000, 1))), "not_an_image");
  refused(() => preprocessImage(new Uint8Array(0)), "not_an_image");

  const png = encodePng({
    width: 80,
    height: 90,
    channels: 1,
    depth: 8,
    data: Uint8Array.from(pattern(80 * 90, 2)),
  });
  for (const cut of [8, 20, 40, png.length - 20, png.length - 5]) {
    refused(() => decodeImage(png.subarray(0, cut)), "truncated");
  }
  const jpeg = new Uint8Array(
    jpegJs.encode({ width: 80, height: 90, data: new Uint8Array(80 * 90 * 4).fill(90) }, 90).data,
  );
  for (const cut of [3, 30, 200, jpeg.length - 2]) {
    refused(() => decodeImage(jpeg.subarray(0, cut)), "truncated");
  }

  refused(
    () =>
      probeImage(
        encodePng({ width: 32, height: 32, channels: 1, depth: 8, data: new Uint8Array(1024) }),
      ),
    "too_small",
  );
  refused(
    () =>
      probeImage(
        encodePng({
          width: 640,
          height: 63,
          channels: 1,
          depth: 8,
          data: new Uint8Array(640 * 63),
        }),
      ),
    "too_small",
  );

  // A 10000x10000 header (100 MP) with a few bytes of data, and one with nothing after IHDR:
  // both refused from the header, not reported as truncated and never inflated.
  const bomb = pngFromRows({
    width: 10000,
    height: 10000,
    bitDepth: 8,
    colorType: 0,
    rows: [new Uint8Array(10000)],
  });
  const started = performance.now();
  refused(() => probeImage(bomb), "too_large", "10000x10000");
  refused(() => preprocessImage(bomb), "too_large");
  refused(
    () =>
      decodeImage(
        pngFromRows({ width: 10000, height: 10000, bitDepth: 16, colorType: 6, end: false }),
      ),
    "too_large",
  );
  assert(performance.now() - started < 200, "the bomb was not refused cheaply");

  // A JPEG frame header claiming 10000x10000.
  const sof = jpeg.slice();
  for (let i = 2; i < sof.length; i++) {
    if (sof[i] === 0xff && sof[i + 1] === 0xc0) {
      sof.set([0x27, 0x10, 0x27, 0x10], i + 5);
      break;
    }
  }
  refused(() => decodeImage(sof), "too_large");

  // Broken entropy data in a complete JPEG: libjpeg stops, the decoder recovers for the next file.
  const smooth = new Uint8Array(96 * 96 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i >> 5) & 255));
  const good = new Uint8Array(jpegJs.encode({ width: 96, height: 96, data: smooth }, 90).data);
  const broken = good.slice();
  const sos = broken.findIndex((b, i) => b === 0xff && broken[i + 1] === 0xda);
  broken[sos + 5] = 0x77; // the scan names a component the frame does not have
  refused(() => decodeImage(broken), "corrupt", "libjpeg");
  assertEquals(decodeImage(good).width, 96);

  // A small PNG whose stream inflates far past what its header allows.
  const overlong = pngFromRows({
    width: 64,
    height: 64,
    bitDepth: 8,
    colorType: 0,
    rows: Array.from({ length: 4096 }, () => new Uint8Array(64)),
  });
  refused(() => decodeImage(overlong), "corrupt", "inflates past");

  const badCrc = png.slice();
  badCrc[20]! ^= 1;
  refused(() => decodeImage(badCrc), "corrupt", "CRC");

  refused(() => probeImage(png, { mediaType: "image/jpeg" }), "media_type", "PNG");
  refused(() => probeImage(png, { mediaType: "image/gif" }), "media_type", "image/gif");
  assertEquals(probeImage(png, { mediaType: "image/png; charset=binary" }).format, "png");
  assertEquals(probeImage(png, { mediaType: "application/octet-stream" }).format, "png");
});

Deno.test("image: resize size, crop window and normalization follow torchvision", () => {
  assertEquals(resizedSize(2000, 2000), { width: 256, height: 256 });
  assertEquals(resizedSize(333, 517), { width: 256, height: 397 });
  assertEquals(resizedSize(80, 100), { width: 256, height: 320 });
  assertEquals(centerCropWindow(256, 397), { left: 16, top: 86, width: 224, height: 224 });
  assertEquals(centerCropWindow(256, 341).top, 58); // round(58.5) = 58, banker's rounding
  assertEquals(centerCropWindow(256, 343).top, 60); // round(59.5) = 60

  const white = encodePng({
    width: 300,
    height: 200,
    channels: 3,
    depth: 8,
    data: new Uint8Array(300 * 200 * 3).fill(255),
  });
  const x = preprocessImage(white);
  assertEquals(x.length, TENSOR_LENGTH);
  for (let c = 0; c < 3; c++) {
    const v = Math.fround((1 - Math.fround(IMAGENET_MEAN[c]!)) / Math.fround(IMAGENET_STD[c]!));
    assert(Math.abs(x[c * IMAGE_SIZE * IMAGE_SIZE + 1000]! - v) < 1e-6);
  }

  // The windowed resize equals the crop of the full resize.
  const src = toRaster8({
    width: 150,
    height: 97,
    channels: 3,
    bitDepth: 8,
    data: Uint8Array.from(pattern(150 * 97 * 3, 5)),
  });
  const full = resizeBilinear(src, { width: 395, height: 256 });
  const win = { left: 86, top: 16, width: 224, height: 224 };
  const part = resizeBilinear(src, { width: 395, height: 256, window: win });
  for (let y = 0; y < 224; y += 17) {
    for (let xx = 0; xx < 224; xx += 13) {
      for (let c = 0; c < 3; c++) {
        assertEquals(
          part.data[(y * 224 + xx) * 3 + c],
          full.data[((y + 16) * 395 + xx + 86) * 3 + c],
        );
      }
    }
  }
});

Deno.test("image: augmentation is seeded, and its identity is the serving transform", () => {
  const w = 300, h = 420;
  const png = encodePng({
    width: w,
    height: h,
    channels: 1,
    depth: 8,
    data: Uint8Array.from(pattern(w * h, 9)),
  });
  const a = preprocessImage(png, { augment: { rng: mulberry32(1) } });
  const b = preprocessImage(png, { augment: { rng: mulberry32(1) } });
  const c = preprocessImage(png, { augment: { rng: mulberry32(2) } });
  assertEquals(a, b);
  assert(absDiff(a, c).mean > 0.01);

  // Parameter ranges over many draws.
  const rng = mulberry32(3);
  let flips = 0;
  for (let i = 0; i < 2000; i++) {
    const p = sampleAugment(256, 358, { rng });
    if (p.flip) flips++;
    assert(Math.abs(p.angle) <= 45 && p.scale >= 0.85 && p.scale <= 1.15);
    assert(
      Math.abs(p.translate[0]) <= 38 && Math.abs(p.translate[1]) <= 54 &&
        Number.isInteger(p.translate[0]),
    );
  }
  assert(flips > 900 && flips < 1100, `flips ${flips}`);

  // Identity parameters reproduce the plain transform; a flip mirrors the resized image.
  const raster = toRaster8(decodeImage(png));
  const size = resizedSize(w, h);
  const resized = resizeBilinear(raster, size);
  const window = centerCropWindow(size.width, size.height);
  const identity = normalizeCrop(
    applyAugment(resized, { flip: false, angle: 0, translate: [0, 0], scale: 1 }, window),
  );
  assertEquals(identity, preprocessImage(png));
  const flipped = applyAugment(resized, { flip: true, angle: 0, translate: [0, 0], scale: 1 }, {
    left: 0,
    top: 0,
    width: size.width,
    height: size.height,
  });
  assertEquals(flipped.data[5 * size.width], resized.data[5 * size.width + size.width - 1]);
  // A 90-degree rotation moves the top-left corner content off-window: corners fill with black.
  const rotated = applyAugment(
    resized,
    { flip: false, angle: 45, translate: [0, 0], scale: 0.85 },
    { left: 0, top: 0, width: size.width, height: size.height },
  );
  assertEquals(rotated.data[0], 0);
});

async function compareWithPil(
  paths: string[],
): Promise<{ means: number[]; maxes: number[]; msPerImage: number; pilSeconds: number }> {
  const out = await Deno.makeTempDir({ prefix: "flexcare_pil_" });
  try {
    const report = JSON.parse(await runPython([PIL_SCRIPT, out, ...paths]));
    const means: number[] = [];
    const maxes: number[] = [];
    let ms = 0;
    for (let i = 0; i < paths.length; i++) {
      const ref = new Float32Array((await Deno.readFile(`${out}/${i}.f32`)).buffer);
      const bytes = await Deno.readFile(paths[i]!);
      const t0 = performance.now();
      const x = preprocessImage(bytes);
      ms += performance.now() - t0;
      const d = absDiff(x, ref);
      means.push(d.mean);
      maxes.push(d.max);
    }
    return { means, maxes, msPerImage: ms / paths.length, pilSeconds: report.seconds };
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test({
  name: "image: synthetic PNG and JPEG variants match PIL (PNG exactly)",
  ignore: !pilAvailable(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "flexcare_synth_" });
    try {
      const names: string[] = JSON.parse(await runPython([PIL_SCRIPT, "--synth", dir]));
      const { means, maxes } = await compareWithPil(names.map((n) => `${dir}/${n}`));
      names.forEach((name, i) => {
        if (name.endsWith(".png")) assert(maxes[i]! < 1e-6, `${name}: max difference ${maxes[i]}`);
        else assert(means[i]! < 1 / 255, `${name}: mean difference ${means[i]! * 255}/255`);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function realImages(): string[] {
  const dir = `${SHARED_DIR}/${CXR_DIR}`;
  const all = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /\.(jpe?g|png)$/i.test(n))
    .sort();
  if (Deno.env.get("FLEXCARE_IMAGE_ALL") === "1") return all.map((n) => `${dir}/${n}`);
  // A fixed subset: every 4th hospital JPEG plus every other file (the PNGs and colour figures).
  return all.filter((n, i) => i % 4 === 0 || !/^[0-9a-f]{8}\.jpg$/.test(n)).map((n) =>
    `${dir}/${n}`
  );
}

Deno.test({
  name:
    "image: real chest X-rays preprocess within 1/255 of PIL (FLEXCARE_IMAGE_ALL=1 for all 113)",
  ignore: sharedMissing(CXR_DIR) || !pilAvailable(),
  async fn() {
    const paths = realImages();
    assert(paths.length >= 30, `${paths.length} images`);
    const { means, maxes, msPerImage, pilSeconds } = await compareWithPil(paths);
    const meanOfMeans = means.reduce((a, b) => a + b, 0) / means.length;
    console.log(
      `PIL comparison over ${paths.length} real images: mean |diff| ${
        meanOfMeans.toExponential(2)
      } ` +
        `(worst image ${Math.max(...means).toExponential(2)}), max |diff| ` +
        `${Math.max(...maxes).toExponential(2)} (1/255 = ${(1 / 255).toExponential(2)}); ` +
        `${msPerImage.toFixed(0)} ms/image here, ${
          ((pilSeconds / paths.length) * 1000).toFixed(0)
        } ms/image in PIL`,
    );
    means.forEach((m, i) => assert(m < 1 / 255, `${paths[i]}: mean difference ${m * 255}/255`));
  },
});
