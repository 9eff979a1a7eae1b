/**
 * A small baseline JPEG encoder for 8-bit grayscale images (one component, the standard
 * luminance quantization and Huffman tables of ITU T.81 Annex K), enough to write the
 * synthetic chest X-rays as real `.jpg` files without a dependency. Output is deterministic.
 *
 * @module
 */

/** Options for {@linkcode encodeGrayscaleJpeg}. */
export interface JpegOptions {
  /**
   * Quality 1-100 (libjpeg's scaling of the standard table).
   * @default {85}
   */
  quality?: number;
}

const BASE_QUANT = [
  16,
  11,
  10,
  16,
  24,
  40,
  51,
  61,
  12,
  12,
  14,
  19,
  26,
  58,
  60,
  55,
  14,
  13,
  16,
  24,
  40,
  57,
  69,
  56,
  14,
  17,
  22,
  29,
  51,
  87,
  80,
  62,
  18,
  22,
  37,
  56,
  68,
  109,
  103,
  77,
  24,
  35,
  55,
  64,
  81,
  104,
  113,
  92,
  49,
  64,
  78,
  87,
  103,
  121,
  120,
  101,
  72,
  92,
  95,
  98,
  112,
  100,
  103,
  99,
];

/** Natural (row-major) index of the i-th coefficient in zig-zag order. */
const ZIGZAG: readonly number[] = (() => {
  const order: number[] = [];
  for (let s = 0; s < 15; s++) {
    const cells: number[] = [];
    for (let r = 0; r < 8; r++) {
      const c = s - r;
      if (c >= 0 && c < 8) cells.push(r * 8 + c);
    }
    // Even diagonals run bottom-left to top-right (row decreasing).
    if (s % 2 === 0) cells.reverse();
    order.push(...cells);
  }
  return order;
})();

const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
// deno-fmt-ignore
const AC_VALUES = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
  0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
  0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
  0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
  0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
  0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
  0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
  0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
  0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
  0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
  0xf9, 0xfa,
];

/** Canonical Huffman codes (code, length) indexed by symbol. */
function huffmanCodes(bits: readonly number[], values: readonly number[]): Int32Array {
  const table = new Int32Array(512).fill(-1);
  let code = 0, k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < bits[length - 1]!; i++) {
      const symbol = values[k++]!;
      table[symbol * 2] = code;
      table[symbol * 2 + 1] = length;
      code++;
    }
    code <<= 1;
  }
  return table;
}

const DC_CODES = huffmanCodes(DC_BITS, DC_VALUES);
const AC_CODES = huffmanCodes(AC_BITS, AC_VALUES);

/** AAN scale factors: the fast DCT below yields coefficient (u, v) times 8 s(u) s(v). */
const AAN_SCALE = [
  1,
  1.387039845,
  1.306562965,
  1.175875602,
  1,
  0.785694958,
  0.5411961,
  0.275899379,
];

/** In-place 8-point AAN forward DCT over `data[o], data[o + step], ...` (libjpeg jfdctflt). */
function fdct8(data: Float64Array, o: number, step: number): void {
  const d0 = data[o]!, d1 = data[o + step]!, d2 = data[o + 2 * step]!, d3 = data[o + 3 * step]!;
  const d4 = data[o + 4 * step]!, d5 = data[o + 5 * step]!, d6 = data[o + 6 * step]!;
  const d7 = data[o + 7 * step]!;
  const tmp0 = d0 + d7, tmp7 = d0 - d7, tmp1 = d1 + d6, tmp6 = d1 - d6;
  const tmp2 = d2 + d5, tmp5 = d2 - d5, tmp3 = d3 + d4, tmp4 = d3 - d4;
  // Even part.
  const tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
  data[o] = tmp10 + tmp11;
  data[o + 4 * step] = tmp10 - tmp11;
  const z1 = (tmp12 + tmp13) * 0.707106781;
  data[o + 2 * step] = tmp13 + z1;
  data[o + 6 * step] = tmp13 - z1;
  // Odd part.
  const t10 = tmp4 + tmp5, t11 = tmp5 + tmp6, t12 = tmp6 + tmp7;
  const z5 = (t10 - t12) * 0.382683433;
  const z2 = 0.5411961 * t10 + z5, z4 = 1.306562965 * t12 + z5, z3 = t11 * 0.707106781;
  const z11 = tmp7 + z3, z13 = tmp7 - z3;
  data[o + 5 * step] = z13 + z2;
  data[o + 3 * step] = z13 - z2;
  data[o + step] = z11 + z4;
  data[o + 7 * step] = z11 - z4;
}

class BitWriter {
  bytes = new Uint8Array(1 << 16);
  length = 0;
  #acc = 0;
  #count = 0;

  byte(b: number): void {
    if (this.length === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.length++] = b;
  }

  bits(value: number, count: number): void {
    // At most 7 pending bits plus 16 new ones: fits a 32-bit integer.
    this.#acc = (this.#acc << count) | (value & ((1 << count) - 1));
    this.#count += count;
    while (this.#count >= 8) {
      this.#count -= 8;
      const b = (this.#acc >>> this.#count) & 0xff;
      this.byte(b);
      if (b === 0xff) this.byte(0);
    }
    this.#acc &= (1 << this.#count) - 1;
  }

  flush(): void {
    if (this.#count > 0) this.bits(0xff, 8 - this.#count);
  }
}

function category(v: number): number {
  let a = Math.abs(v), n = 0;
  while (a > 0) {
    a >>= 1;
    n++;
  }
  return n;
}

function writeCoefficient(out: BitWriter, v: number, size: number): void {
  out.bits(v < 0 ? v + (1 << size) - 1 : v, size);
}

/**
 * Encodes 8-bit grayscale pixels (row-major, `width * height` bytes) as a baseline JFIF JPEG.
 *
 * @example A flat 16x16 image starts with SOI and ends with EOI
 * ```ts
 * import { encodeGrayscaleJpeg } from "./jpeg.ts";
 * const jpg = encodeGrayscaleJpeg(new Uint8Array(256).fill(128), { width: 16, height: 16 });
 * if (jpg[0] !== 0xff || jpg[1] !== 0xd8 || jpg.at(-2) !== 0xff || jpg.at(-1) !== 0xd9) throw new Error();
 * ```
 */
export function encodeGrayscaleJpeg(
  pixels: Uint8Array,
  size: { width: number; height: number },
  options: JpegOptions = {},
): Uint8Array {
  const { width, height } = size;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Image size ${width}x${height} is not a positive integer size`);
  }
  if (pixels.length !== width * height) {
    throw new TypeError(`Expected ${width * height} pixels, got ${pixels.length}`);
  }
  if (width > 65535 || height > 65535) throw new RangeError("JPEG sides are at most 65535");
  const quality = Math.min(100, Math.max(1, Math.round(options.quality ?? 85)));
  const scale = quality < 50 ? 5000 / quality : 200 - quality * 2;
  const quant = BASE_QUANT.map((q) =>
    Math.min(255, Math.max(1, Math.floor((q * scale + 50) / 100)))
  );
  const divisor = new Float64Array(64);
  for (let i = 0; i < 64; i++) {
    divisor[i] = 1 / (quant[i]! * AAN_SCALE[i >> 3]! * AAN_SCALE[i & 7]! * 8);
  }

  const out = new BitWriter();
  const bytes = (...bs: number[]) => bs.forEach((b) => out.byte(b));
  const word = (w: number) => bytes(w >> 8, w & 0xff);
  bytes(0xff, 0xd8);
  bytes(0xff, 0xe0), word(16), bytes(0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0), word(1), word(1);
  bytes(0, 0);
  bytes(0xff, 0xdb), word(67), bytes(0);
  for (let i = 0; i < 64; i++) out.byte(quant[ZIGZAG[i]!]!);
  bytes(0xff, 0xc0), word(11), bytes(8), word(height), word(width), bytes(1, 1, 0x11, 0);
  bytes(0xff, 0xc4), word(2 + 17 + DC_VALUES.length + 17 + AC_VALUES.length);
  bytes(0x00, ...DC_BITS, ...DC_VALUES, 0x10, ...AC_BITS, ...AC_VALUES);
  bytes(0xff, 0xda), word(8), bytes(1, 1, 0x00, 0, 63, 0);

  const block = new Float64Array(64);
  const zz = new Int32Array(64);
  let previousDc = 0;
  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      for (let y = 0; y < 8; y++) {
        const py = Math.min(height - 1, by + y) * width;
        for (let x = 0; x < 8; x++) {
          block[y * 8 + x] = pixels[py + Math.min(width - 1, bx + x)]! - 128;
        }
      }
      // Separable 2-D DCT: rows then columns; the AAN scaling is folded into `divisor`.
      for (let y = 0; y < 8; y++) fdct8(block, y * 8, 1);
      for (let x = 0; x < 8; x++) fdct8(block, x, 8);
      for (let i = 0; i < 64; i++) {
        const n = ZIGZAG[i]!;
        zz[i] = Math.round(block[n]! * divisor[n]!);
      }
      const diff = zz[0]! - previousDc;
      previousDc = zz[0]!;
      const dcSize = category(diff);
      out.bits(DC_CODES[dcSize * 2]!, DC_CODES[dcSize * 2 + 1]!);
      if (dcSize > 0) writeCoefficient(out, diff, dcSize);
      let run = 0;
      for (let i = 1; i < 64; i++) {
        const v = zz[i]!;
        if (v === 0) {
          run++;
          continue;
        }
        while (run > 15) {
          out.bits(AC_CODES[0xf0 * 2]!, AC_CODES[0xf0 * 2 + 1]!);
          run -= 16;
        }
        const size = category(v);
        const symbol = (run << 4) | size;
        out.bits(AC_CODES[symbol * 2]!, AC_CODES[symbol * 2 + 1]!);
        writeCoefficient(out, v, size);
        run = 0;
      }
      if (run > 0) out.bits(AC_CODES[0]!, AC_CODES[1]!);
    }
  }
  out.flush();
  bytes(0xff, 0xd9);
  return out.bytes.slice(0, out.length);
}
