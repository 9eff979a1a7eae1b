/**
 * `flexcare import-checkpoint STATE_DICT.pt --out DIR [--parity] [--n-heads 2]
 * [--save-checkpoint FILE]`: takes over a state dict trained with the reference FlexCare code
 * and exports it in reference-compatible mask mode (one graph, `flexcare.onnx`, plus
 * `manifest.json`). `--save-checkpoint` also writes a checkpoint that `flexcare export` reads.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runTorchModule } from "./train.ts";
import { UsageError } from "./usage_error.ts";
import { integerFlag } from "./flags.ts";

/** Options of the import-checkpoint command. */
export interface ImportCheckpointOptions {
  /** The reference code's `.pt` state dict. */
  stateDict: string;
  /** Model directory to write. */
  out: string;
  /** Also write `parity/` fixtures. */
  parity?: boolean;
  /** Attention heads (not stored in a state dict; the reference uses 2). */
  nHeads?: number;
  /** Also save a flexcare_torch checkpoint here. */
  saveCheckpoint?: string;
}

/**
 * The `flexcare_torch.import_checkpoint` arguments for the given options.
 *
 * @example Flags translated
 * ```ts
 * import { importCheckpointPythonArgs } from "./import_checkpoint.ts";
 * const args = importCheckpointPythonArgs({ stateDict: "ref.pt", out: "m", nHeads: 2 });
 * if (args.join(" ") !== "ref.pt --out m --n-heads 2") throw new Error(args.join(" "));
 * ```
 */
export function importCheckpointPythonArgs(options: ImportCheckpointOptions): string[] {
  const args = [options.stateDict, "--out", options.out];
  if (options.parity) args.push("--parity");
  if (options.nHeads !== undefined) args.push("--n-heads", String(options.nHeads));
  if (options.saveCheckpoint !== undefined) args.push("--save-checkpoint", options.saveCheckpoint);
  return args;
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      parity: { type: "boolean" },
      "n-heads": { type: "string" },
      "save-checkpoint": { type: "string" },
    },
  });
  const stateDict = positionals[0];
  if (stateDict === undefined || positionals.length > 1) {
    throw new UsageError("expected exactly one state dict path");
  }
  if (values.out === undefined) throw new UsageError("--out is required");
  const options: ImportCheckpointOptions = {
    stateDict,
    out: values.out,
    parity: values.parity ?? false,
  };
  const nHeads = integerFlag("n-heads", values["n-heads"], { min: 1 });
  if (nHeads !== undefined) options.nHeads = nHeads;
  if (values["save-checkpoint"] !== undefined) options.saveCheckpoint = values["save-checkpoint"];
  return await runTorchModule("import_checkpoint", importCheckpointPythonArgs(options));
}
