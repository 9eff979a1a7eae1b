/**
 * Resolving a normalizer by name (`ph`, `decomp`) or JSON file path.
 *
 * @module
 */
import {
  type Normalizer,
  NORMALIZER_DECOMP,
  NORMALIZER_PH,
  normalizerFromJson,
} from "./normalizer.ts";

/**
 * Loads `ph`, `decomp`, or a normalizer JSON file.
 *
 * @example The built-in statistics
 * ```ts
 * import { loadNormalizer } from "./normalizer_file.ts";
 * const ph = await loadNormalizer("ph");
 * if (ph.standardizedColumns.length !== 12) throw new Error();
 * ```
 */
export async function loadNormalizer(nameOrPath: string): Promise<Normalizer> {
  if (nameOrPath === "ph") return NORMALIZER_PH;
  if (nameOrPath === "decomp") return NORMALIZER_DECOMP;
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(nameOrPath));
  } catch (error) {
    throw new TypeError(
      `Cannot read normalizer ${JSON.stringify(nameOrPath)}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return normalizerFromJson(json as Parameters<typeof normalizerFromJson>[0]);
}
