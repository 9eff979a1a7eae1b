/**
 * Format sniffing and header reading: what an upload is and how big, known before any pixel is
 * decoded.
 *
 * @module
 */
import { type DicomInfo, isDicom, readDicomInfo } from "./dicom.ts";
import { ImageInputError } from "./errors.ts";
import { isJpeg, type JpegInfo, readJpegInfo } from "./jpeg.ts";
import { isPng, type PngInfo, readPngInfo } from "./png.ts";

/** Container formats accepted. */
export type ImageFormat = "jpeg" | "png" | "dicom";

/** Format and size, from the header alone. */
export interface ImageProbe {
  /** Container format, from the bytes (not from the declared media type). */
  format: ImageFormat;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** Options of {@linkcode probeImage}. */
export interface ProbeOptions {
  /**
   * Declared media type (`image/jpeg`, `image/png`, `application/dicom`); it must match the
   * bytes. `application/octet-stream` or absent: the bytes decide.
   * @default {undefined}
   */
  mediaType?: string;
}

/** A probe plus the format's parsed header, for the decoder. @internal */
export type InspectedImage =
  | ImageProbe & { format: "jpeg"; header: JpegInfo }
  | ImageProbe & { format: "png"; header: PngInfo }
  | ImageProbe & { format: "dicom"; header: DicomInfo };

const MEDIA_TYPES: Readonly<Record<string, ImageFormat>> = {
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/pjpeg": "jpeg",
  "image/png": "png",
  "application/dicom": "dicom",
};

/**
 * Sniffs the format, checks it against the declared media type, and reads the header, checking
 * the size and (for JPEG and PNG) that the file is complete. Throws {@linkcode ImageInputError}.
 *
 * @example Probe a PNG
 * ```ts
 * import { encode } from "fast-png";
 * import { probeImage } from "./probe.ts";
 * const png = encode({ width: 64, height: 80, channels: 1, depth: 8, data: new Uint8Array(64 * 80) });
 * const p = probeImage(png, { mediaType: "image/png" });
 * if (p.format !== "png" || p.width !== 64 || p.height !== 80) throw new Error();
 * ```
 */
export function probeImage(bytes: Uint8Array, options: ProbeOptions = {}): ImageProbe {
  const { format, width, height } = inspectImage(bytes, options);
  return { format, width, height };
}

/** {@linkcode probeImage} keeping the parsed header for decoding. @internal */
export function inspectImage(bytes: Uint8Array, options: ProbeOptions = {}): InspectedImage {
  const format = sniff(bytes);
  const declared = options.mediaType?.split(";")[0]?.trim().toLowerCase();
  if (declared !== undefined && declared !== "" && declared !== "application/octet-stream") {
    const expected = MEDIA_TYPES[declared];
    if (expected === undefined) {
      throw new ImageInputError(
        "media_type",
        `Media type "${declared}" is not supported: send image/jpeg, image/png or application/dicom`,
      );
    }
    if (format !== undefined && format !== expected) {
      throw new ImageInputError(
        "media_type",
        `Media type "${declared}" does not match the bytes, which are a ${format.toUpperCase()} file`,
      );
    }
  }
  if (format === "jpeg") {
    const header = readJpegInfo(bytes);
    return { format, width: header.width, height: header.height, header };
  }
  if (format === "png") {
    const header = readPngInfo(bytes);
    return { format, width: header.width, height: header.height, header };
  }
  if (format === "dicom") {
    const header = readDicomInfo(bytes);
    return { format, width: header.width, height: header.height, header };
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
  throw new ImageInputError(
    "not_an_image",
    `Not an image: ${bytes.length} bytes that are neither JPEG, PNG nor DICOM Part-10 (they start "${head}")`,
  );
}

function sniff(bytes: Uint8Array): ImageFormat | undefined {
  if (isJpeg(bytes)) return "jpeg";
  if (isPng(bytes)) return "png";
  if (isDicom(bytes)) return "dicom";
  return undefined;
}
