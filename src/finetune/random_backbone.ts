/**
 * The randomly initialized backbone of the baseline: a model with the base model's
 * configuration and untrained weights, exported once by the PyTorch package
 * (`flexcare_torch.export --random-init CONFIG`) into a cache folder and reused.
 *
 * @module
 */
import { TORCH_PACKAGE_DIR } from "../cli/train.ts";
import type { FlexCareModel } from "../model/flexcare_model.ts";
import { sha256Text } from "./vector_cache.ts";

/** Options for {@linkcode ensureRandomBackbone}. */
export interface RandomBackboneOptions {
  /** Folder that holds the exported random backbones (one per configuration and seed). */
  cacheDir: string;
  /**
   * Seed of the initialization.
   * @default {0}
   */
  seed?: number;
  /**
   * Python executable.
   * @default {"python3"}
   */
  python?: string;
}

/**
 * The folder of a random backbone with `base`'s configuration, exported when not yet cached.
 * Throws when the system Python cannot export (no torch/onnx).
 *
 * @example Export or reuse
 * ```ts ignore
 * const dir = await ensureRandomBackbone(model, { cacheDir: "/tmp/cache" });
 * ```
 */
export async function ensureRandomBackbone(
  base: FlexCareModel,
  options: RandomBackboneOptions,
): Promise<string> {
  const config = JSON.stringify(base.manifest.config);
  const seed = options.seed ?? 0;
  const id = (await sha256Text(`${config}|seed:${seed}`)).slice(0, 16);
  const dir = `${options.cacheDir}/random-backbone-${id}`;
  try {
    await Deno.stat(`${dir}/manifest.json`);
    return dir;
  } catch {
    // not exported yet
  }
  await Deno.mkdir(options.cacheDir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: options.cacheDir, prefix: ".random-" });
  const out = await new Deno.Command(options.python ?? "python3", {
    args: [
      "-m",
      "flexcare_torch.export",
      "--random-init",
      config,
      "--out",
      tmp,
      "--seed",
      String(seed),
    ],
    env: { PYENV_VERSION: "system", PYTHONPATH: TORCH_PACKAGE_DIR },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`Cannot export the random backbone with flexcare_torch.export: ${err}`);
  }
  await Deno.rename(tmp, dir);
  return dir;
}
