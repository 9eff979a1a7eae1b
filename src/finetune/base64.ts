/**
 * Base64 of bytes (for float vectors inside JSON lines).
 *
 * @module
 */

/**
 * Encodes bytes as standard base64.
 *
 * @example Round trip
 * ```ts
 * import { decodeBase64, encodeBase64 } from "./base64.ts";
 * const s = encodeBase64(new Uint8Array([1, 2, 250]));
 * if (s !== "AQL6" || decodeBase64(s)[2] !== 250) throw new Error(s);
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Decodes standard base64 into bytes. */
export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
