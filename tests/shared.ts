/**
 * Locating the shared real data (`../shared/` beside the checkout). Tests that need it mark
 * themselves ignored, with the reason printed once, where it is absent (a user's clone).
 *
 * @module
 */
const here = new URL(".", import.meta.url);

/** Absolute path of the shared folder (override with `FLEXCARE_SHARED`). */
export const SHARED_DIR: string = Deno.env.get("FLEXCARE_SHARED") ??
  decodeURIComponent(new URL("../../shared", here).pathname);

const warned = new Set<string>();

/** True (and prints why once) when `SHARED_DIR/relative` does not exist. */
export function sharedMissing(relative: string): boolean {
  try {
    Deno.statSync(`${SHARED_DIR}/${relative}`);
    return false;
  } catch {
    if (!warned.has(relative)) {
      warned.add(relative);
      console.warn(`ignored: shared data ${SHARED_DIR}/${relative} is not present in this clone`);
    }
    return true;
  }
}
