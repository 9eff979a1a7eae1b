/**
 * DICOM Part-10 radiographs through `dicom-parser`: uncompressed transfer syntaxes only,
 * MONOCHROME1/2 (8-16 bit, signed or not) and 8-bit RGB, with the modality rescale
 * (slope/intercept), the VOI window (centre/width) when present — else the frame's min-max — and
 * MONOCHROME1 inverted, giving 8-bit pixels for the same pipeline as JPEG and PNG.
 *
 * @module
 */
import dicomParser from "dicom-parser";
import { ImageInputError } from "./errors.ts";
import { assertImageSize } from "./limits.ts";
import type { DecodedImage } from "./raster.ts";

/** Uncompressed transfer syntaxes (implicit LE, explicit LE, explicit BE). */
const UNCOMPRESSED: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2": "Implicit VR Little Endian",
  "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
  "1.2.840.10008.1.2.2": "Explicit VR Big Endian",
};

/** The part of dicom-parser's DataSet used here. */
interface DataSet {
  elements: Record<
    string,
    { dataOffset: number; length: number; encapsulatedPixelData?: boolean } | undefined
  >;
  string(tag: string): string | undefined;
  uint16(tag: string): number | undefined;
  floatString(tag: string, index?: number): number | undefined;
  intString(tag: string): number | undefined;
}

/** What the DICOM header says, before any pixel is read. */
export interface DicomInfo {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** The parsed data set (pixel data not yet read). */
  dataSet: unknown;
  /** Transfer syntax UID. */
  transferSyntax: string;
}

/**
 * True when `bytes` hold a DICOM Part-10 file ("DICM" after the 128-byte preamble).
 *
 * @example Sniff
 * ```ts
 * import { isDicom } from "./dicom.ts";
 * const b = new Uint8Array(132);
 * b.set([0x44, 0x49, 0x43, 0x4d], 128);
 * if (!isDicom(b)) throw new Error();
 * ```
 */
export function isDicom(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 &&
    bytes[131] === 0x4d;
}

/**
 * Parses the data set (pixel data located, not read) and checks the size and transfer syntax.
 *
 * @example Refuse a preamble without a data set
 * ```ts
 * import { readDicomInfo } from "./dicom.ts";
 * import { ImageInputError } from "./errors.ts";
 * const b = new Uint8Array(132);
 * b.set([0x44, 0x49, 0x43, 0x4d], 128);
 * try {
 *   readDicomInfo(b);
 *   throw new Error("not refused");
 * } catch (e) {
 *   if (!(e instanceof ImageInputError)) throw e;
 * }
 * ```
 */
export function readDicomInfo(bytes: Uint8Array): DicomInfo {
  if (!isDicom(bytes)) {
    throw new ImageInputError(
      "not_an_image",
      'Not a DICOM Part-10 file: no "DICM" after the preamble',
    );
  }
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(bytes) as unknown as DataSet;
  } catch (error) {
    // dicom-parser throws strings, or `{ exception, dataSet }` when it stops part-way.
    const detail = (error as { exception?: unknown; message?: unknown } | null) ?? {};
    const message = typeof error === "string"
      ? error
      : String(detail.exception ?? detail.message ?? error);
    const truncated = /past end|overrun|overread|end of buffer/i.test(message);
    throw new ImageInputError(
      truncated ? "truncated" : "corrupt",
      `DICOM file cannot be parsed${truncated ? " (truncated)" : ""}: ${message}`,
      { cause: error },
    );
  }
  const transferSyntax = (ds.string("x00020010") ?? "").replace(/\0/g, "").trim();
  const width = ds.uint16("x00280011");
  const height = ds.uint16("x00280010");
  if (width === undefined || height === undefined || ds.elements["x7fe00010"] === undefined) {
    throw new ImageInputError(
      "not_an_image",
      "DICOM file holds no image: rows, columns or pixel data missing",
    );
  }
  assertImageSize("DICOM", width, height);
  if (UNCOMPRESSED[transferSyntax] === undefined) {
    throw new ImageInputError(
      "unsupported",
      `DICOM transfer syntax "${transferSyntax}" (compressed) is not supported: send an uncompressed DICOM (Explicit VR Little Endian) or a PNG/JPEG`,
    );
  }
  return { width, height, dataSet: ds, transferSyntax };
}

/**
 * Reads the first frame's pixels and maps them to 8 bits: stored value -> masked to BitsStored
 * (sign-extended when PixelRepresentation is 1) -> `value * slope + intercept` -> the linear VOI
 * window of PS3.3 C.11.2.1.2.1 (or min-max) -> inverted for MONOCHROME1.
 *
 * @example Window a tiny 16-bit MONOCHROME2 image (built by the tests' DICOM writer)
 * ```ts ignore
 * const img = decodeDicom(bytes, readDicomInfo(bytes));
 * ```
 */
export function decodeDicom(bytes: Uint8Array, info: DicomInfo): DecodedImage {
  const ds = info.dataSet as DataSet;
  const { width, height } = info;
  const samples = ds.uint16("x00280002") ?? 1;
  const photometric = (ds.string("x00280004") ?? "MONOCHROME2").trim().toUpperCase();
  const bitsAllocated = ds.uint16("x00280100") ?? 16;
  const bitsStored = ds.uint16("x00280101") ?? bitsAllocated;
  const signed = ds.uint16("x00280103") === 1;
  const pixel = ds.elements["x7fe00010"]!;
  if (pixel.encapsulatedPixelData) {
    throw new ImageInputError(
      "unsupported",
      "DICOM pixel data is encapsulated (compressed): not supported",
    );
  }
  const mono = photometric === "MONOCHROME1" || photometric === "MONOCHROME2";
  if (
    !(mono && samples === 1 && (bitsAllocated === 8 || bitsAllocated === 16)) &&
    !(photometric === "RGB" && samples === 3 && bitsAllocated === 8)
  ) {
    throw new ImageInputError(
      "unsupported",
      `DICOM ${photometric} with ${samples} sample(s) of ${bitsAllocated} bits is not supported (MONOCHROME1/2 of 8 or 16 bits, or 8-bit RGB)`,
    );
  }
  if (bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new ImageInputError(
      "corrupt",
      `DICOM file is corrupt: BitsStored ${bitsStored} of ${bitsAllocated} allocated`,
    );
  }
  const area = width * height;
  const frameBytes = area * samples * (bitsAllocated / 8);
  if (pixel.dataOffset + frameBytes > bytes.length || pixel.length < frameBytes) {
    throw new ImageInputError(
      "truncated",
      `DICOM pixel data is truncated: ${
        Math.min(pixel.length, bytes.length - pixel.dataOffset)
      } of ${frameBytes} bytes`,
    );
  }
  if (samples === 3) {
    const planar = ds.uint16("x00280006") === 1;
    const src = bytes.subarray(pixel.dataOffset, pixel.dataOffset + frameBytes);
    const rgb = new Uint8Array(frameBytes);
    if (!planar) rgb.set(src);
    else {for (let i = 0; i < area; i++) {
        for (let c = 0; c < 3; c++) rgb[3 * i + c] = src[c * area + i]!;
      }}
    return { width, height, channels: 3, bitDepth: 8, data: rgb };
  }
  // Modality values (Float64: slope and intercept may be fractional).
  const view = new DataView(bytes.buffer, bytes.byteOffset + pixel.dataOffset, frameBytes);
  const littleEndian = info.transferSyntax !== "1.2.840.10008.1.2.2";
  const slope = ds.floatString("x00281053") ?? 1;
  const intercept = ds.floatString("x00281052") ?? 0;
  const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
  const signBit = 1 << (bitsStored - 1);
  const values = new Float64Array(area);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < area; i++) {
    let v = bitsAllocated === 8 ? view.getUint8(i) : view.getUint16(2 * i, littleEndian);
    v &= mask;
    if (signed && v & signBit) v -= 1 << bitsStored;
    const m = v * slope + intercept;
    values[i] = m;
    if (m < min) min = m;
    if (m > max) max = m;
  }
  const center = ds.floatString("x00281050", 0);
  const windowWidth = ds.floatString("x00281051", 0);
  const gray = new Uint8Array(area);
  const invert = photometric === "MONOCHROME1";
  const hasWindow = center !== undefined && windowWidth !== undefined && Number.isFinite(center) &&
    Number.isFinite(windowWidth) && windowWidth >= 1;
  for (let i = 0; i < area; i++) {
    const x = values[i]!;
    let y: number;
    if (hasWindow) {
      const c = center! - 0.5;
      const w = windowWidth! - 1;
      if (w <= 0) y = x > c ? 255 : 0;
      else if (x <= c - w / 2) y = 0;
      else if (x > c + w / 2) y = 255;
      else y = ((x - c) / w + 0.5) * 255;
    } else {
      y = max > min ? ((x - min) / (max - min)) * 255 : 0;
    }
    y = Math.round(y);
    gray[i] = invert ? 255 - y : y;
  }
  return { width, height, channels: 1, bitDepth: 8, data: gray };
}
