/**
 * The JPEG pixel decoder: libjpeg-turbo's decompressor (as mozjpeg, compiled to WebAssembly by
 * the Squoosh project and shipped in `@jsquash/jpeg`). It is the library PIL links, with the same
 * defaults (accurate integer IDCT, "fancy" chroma upsampling, EXIF orientation not applied), so
 * decoded pixels equal PIL's bit for bit.
 *
 * The module is compiled and instantiated synchronously on first use (never at import). An
 * instance is dropped after a decoding error (libjpeg exits mid-decode, leaving its memory
 * allocated) and after a large image (WebAssembly memory never shrinks), and a fresh one is
 * made for the next call from the cached compiled module.
 *
 * @module
 */
import moduleFactory from "@jsquash/jpeg/codec/dec/mozjpeg_dec.js";

/** WebAssembly heap size past which the instance is replaced after a decode. */
const MAX_RETAINED_HEAP = 256 * 1024 * 1024;

/** RGBA pixels (gray images come back with R = G = B). */
export interface JpegPixels {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** `width * height * 4` bytes, RGBA. */
  rgba: Uint8Array;
}

interface DecoderInstance {
  decode(data: Uint8Array, preserveOrientation: boolean): {
    width: number;
    height: number;
    data: Uint8ClampedArray;
  } | null;
  HEAP8?: Int8Array;
}

let compiled: WebAssembly.Module | undefined;
let instance: DecoderInstance | undefined;
/** libjpeg's last message (it prints errors and warnings rather than returning them). */
let lastMessage = "";

function decoder(): DecoderInstance {
  if (instance) return instance;
  if (!compiled) {
    const wasmUrl = new URL(
      "mozjpeg_dec.wasm",
      import.meta.resolve("@jsquash/jpeg/codec/dec/mozjpeg_dec.js"),
    );
    compiled = new WebAssembly.Module(Deno.readFileSync(wasmUrl));
  }
  const wasm = compiled;
  // Emscripten attaches its exports to the object passed in; instantiating synchronously makes
  // `decode` usable as soon as the factory returns.
  const target = {
    noInitialRun: true,
    print: () => {},
    printErr: (message: string) => {
      lastMessage = message;
    },
    instantiateWasm(
      imports: WebAssembly.Imports,
      done: (instance: WebAssembly.Instance) => void,
    ): WebAssembly.Exports {
      const inst = new WebAssembly.Instance(wasm, imports);
      done(inst);
      return inst.exports;
    },
  } as unknown as DecoderInstance;
  // The returned promise only resolves to `target` itself; errors surface when decoding.
  (moduleFactory as unknown as (opts: unknown) => Promise<unknown>)(target).catch(() => {});
  if (typeof target.decode !== "function") {
    throw new Error("The JPEG decoder (WebAssembly) did not initialize synchronously");
  }
  instance = target;
  return target;
}

/**
 * Decodes a whole JPEG to RGBA with libjpeg-turbo. Throws an `Error` carrying libjpeg's exit when
 * the data cannot be decoded. Callers check the header first (size, truncation).
 *
 * @example Decode a JPEG made with jpeg-js
 * ```ts
 * import jpegJs from "jpeg-js";
 * import { decodeJpegPixels } from "./jpeg_codec.ts";
 * const rgba = new Uint8Array(16 * 8 * 4).fill(128);
 * const jpeg = new Uint8Array(jpegJs.encode({ width: 16, height: 8, data: rgba }, 90).data);
 * const px = decodeJpegPixels(jpeg);
 * if (px.width !== 16 || px.height !== 8 || px.rgba.length !== 16 * 8 * 4) throw new Error();
 * ```
 */
export function decodeJpegPixels(bytes: Uint8Array): JpegPixels {
  const dec = decoder();
  let result: ReturnType<DecoderInstance["decode"]>;
  lastMessage = "";
  try {
    result = dec.decode(bytes, false);
  } catch (error) {
    instance = undefined;
    const detail = error as { message?: unknown } | null;
    const why = lastMessage || String(detail?.message ?? error);
    throw new Error(`libjpeg stopped: ${why}`, { cause: error });
  }
  if ((dec.HEAP8?.length ?? 0) > MAX_RETAINED_HEAP) instance = undefined;
  if (!result) {
    instance = undefined;
    throw new Error("libjpeg returned no image");
  }
  const { width, height, data } = result;
  return { width, height, rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
