/**
 * The error raised for image input that cannot become a model tensor.
 *
 * @module
 */

/** Why an image was refused. */
export type ImageInputReason =
  /** The bytes are not a JPEG, PNG or DICOM Part-10 file. */
  | "not_an_image"
  /** A known container using a variant this project does not decode (e.g. a compressed DICOM). */
  | "unsupported"
  /** The file ends before its image data does. */
  | "truncated"
  /** The file is structurally broken (bad marker, bad checksum, inconsistent header). */
  | "corrupt"
  /** A side is under {@linkcode MIN_IMAGE_SIDE} pixels. */
  | "too_small"
  /** The area is over {@linkcode MAX_IMAGE_PIXELS} pixels (refused from the header alone). */
  | "too_large"
  /** The declared media type does not match the bytes or is not an image type. */
  | "media_type";

/**
 * Raised when image bytes cannot be turned into a tensor. `reason` is stable for callers (the
 * HTTP layer maps it to 415 or 422); the message names what failed.
 *
 * @example Catch a refusal
 * ```ts
 * import { ImageInputError } from "./errors.ts";
 * import { probeImage } from "./probe.ts";
 * try {
 *   probeImage(new Uint8Array([1, 2, 3]));
 * } catch (error) {
 *   if (!(error instanceof ImageInputError) || error.reason !== "not_an_image") throw error;
 * }
 * ```
 */
export class ImageInputError extends Error {
  /** What was wrong. */
  readonly reason: ImageInputReason;

  constructor(reason: ImageInputReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImageInputError";
    this.reason = reason;
  }
}
