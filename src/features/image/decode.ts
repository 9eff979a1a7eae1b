/**
 * Bytes to pixels, whatever the accepted format.
 *
 * @module
 */
import { decodeDicom } from "./dicom.ts";
import { decodeJpeg } from "./jpeg.ts";
import { decodePng } from "./png.ts";
import { inspectImage, type ProbeOptions } from "./probe.ts";
import type { DecodedImage } from "./raster.ts";

/** Options of {@linkcode decodeImage}. */
export type DecodeOptions = ProbeOptions;

/**
 * Decodes a JPEG, PNG or DICOM file after its header passed {@linkcode probeImage}'s checks.
 * JPEG gives 8-bit gray or RGB; PNG keeps its channels and 8/16-bit depth (palettes expanded);
 * DICOM gives 8-bit pixels after rescale and windowing. Throws `ImageInputError`.
 *
 * @example Decode a 16-bit gray PNG
 * ```ts
 * import { encode } from "fast-png";
 * import { decodeImage } from "./decode.ts";
 * const data = new Uint16Array(64 * 64).fill(40000);
 * const img = decodeImage(encode({ width: 64, height: 64, channels: 1, depth: 16, data }));
 * if (img.bitDepth !== 16 || img.channels !== 1 || img.data[0] !== 40000) throw new Error();
 * ```
 */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): DecodedImage {
  const image = inspectImage(bytes, options);
  switch (image.format) {
    case "jpeg":
      return decodeJpeg(bytes, image.header);
    case "png":
      return decodePng(image.header);
    case "dicom":
      return decodeDicom(bytes, image.header);
  }
}
