/**
 * `flexcare export --checkpoint C --out DIR [--parity]`: writes a model directory (ONNX graphs
 * `flexcare.onnx`, and in paper mode `image_tower.onnx`, `note_tower.onnx`, `step.onnx`, plus
 * `manifest.json`) from a checkpoint of `flexcare train`. `--random-init JSON` exports an
 * untrained model with those configuration overrides instead (for tests); `--parity` adds the
 * PyTorch inputs/outputs under `parity/` for onnxruntime parity tests.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runTorchModule } from "./train.ts";
import { UsageError } from "./usage_error.ts";
import { integerFlag } from "./flags.ts";

/** Options of the export command. */
export interface ExportCommandOptions {
  /** Checkpoint written by `flexcare train` (`best.pt`); or use `randomInit`. */
  checkpoint?: string;
  /** JSON overrides of the model configuration for an untrained model. */
  randomInit?: string;
  /** Model directory to write. */
  out: string;
  /** Also write `parity/` fixtures. */
  parity?: boolean;
  /** Seed of an untrained model. */
  seed?: number;
}

/**
 * The `flexcare_torch.export` arguments for the given options.
 *
 * @example Flags translated
 * ```ts
 * import { exportPythonArgs } from "./export.ts";
 * const args = exportPythonArgs({ checkpoint: "best.pt", out: "m", parity: true });
 * if (args.join(" ") !== "--checkpoint best.pt --out m --parity") throw new Error(args.join(" "));
 * ```
 */
export function exportPythonArgs(options: ExportCommandOptions): string[] {
  if ((options.checkpoint === undefined) === (options.randomInit === undefined)) {
    throw new UsageError("give exactly one of --checkpoint and --random-init");
  }
  const args = options.checkpoint !== undefined
    ? ["--checkpoint", options.checkpoint]
    : ["--random-init", options.randomInit!];
  args.push("--out", options.out);
  if (options.parity) args.push("--parity");
  if (options.seed !== undefined) args.push("--seed", String(options.seed));
  return args;
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: "string" },
      "random-init": { type: "string" },
      out: { type: "string" },
      parity: { type: "boolean" },
      seed: { type: "string" },
    },
  });
  if (values.out === undefined) throw new UsageError("--out is required");
  const options: ExportCommandOptions = { out: values.out, parity: values.parity ?? false };
  if (values.checkpoint !== undefined) options.checkpoint = values.checkpoint;
  if (values["random-init"] !== undefined) options.randomInit = values["random-init"];
  const seed = integerFlag("seed", values.seed, { min: 0 });
  if (seed !== undefined) options.seed = seed;
  return await runTorchModule("export", exportPythonArgs(options));
}
