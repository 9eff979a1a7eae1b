/**
 * The flexcare command line: parses the subcommand name and dispatches. Each subcommand is a
 * module exporting `main(args)` that parses its own flags (with `node:util` parseArgs) and
 * returns an exit code; this file is the only place that calls `Deno.exit`.
 *
 * @module
 */

/** A subcommand module: parses its arguments and returns a process exit code. */
export interface Subcommand {
  main(args: string[]): Promise<number>;
}

import { UsageError } from "./usage_error.ts";

const COMMANDS: Record<string, { summary: string; load: () => Promise<Subcommand> }> = {
  serve: { summary: "start the HTTP service", load: () => import("./serve.ts") },
  demo: {
    summary: "replay a stay against a running server, print streamed predictions",
    load: () => import("./demo.ts"),
  },
  features: {
    summary: "episode CSV -> 76-column matrix as JSON",
    load: () => import("./features.ts"),
  },
  extract: {
    summary: "raw MIMIC-III/IV tables -> task datasets",
    load: () => import("./extract.ts"),
  },
  import: {
    summary: "PhysioNet 2012 challenge records -> task datasets",
    load: () => import("./import.ts"),
  },
  replay: {
    summary: "stream a PhysioNet-2012-layout set into a service, report online learning",
    load: () => import("./replay.ts"),
  },
  synth: { summary: "write a synthetic cohort dataset", load: () => import("./synth.ts") },
  predict: {
    summary: "run a model graph on named tensors (JSON)",
    load: () => import("./predict.ts"),
  },
  tensorize: {
    summary: "dataset -> tensor store for the PyTorch trainer",
    load: () => import("./tensorize.ts"),
  },
  eval: { summary: "evaluate predictions: metrics, CIs, NEWS2", load: () => import("./eval.ts") },
  baseline: {
    summary: "summary-feature logistic regression on a dataset's splits, same report as eval",
    load: () => import("./baseline.ts"),
  },
  "fit-statics": {
    summary: "heads over s_p plus unit, age and sex on the frozen backbone, into the manifest",
    load: () => import("./fit_statics.ts"),
  },
  calibrate: {
    summary: "fit per-task temperatures on a validation split into the manifest",
    load: () => import("./calibrate.ts"),
  },
  train: {
    summary: "train the FlexCare backbone on a tensor store",
    load: () => import("./train.ts"),
  },
  export: { summary: "checkpoint -> ONNX model directory", load: () => import("./export.ts") },
  finetune: {
    summary: "new task head on the frozen backbone, with baselines",
    load: () => import("./finetune.ts"),
  },
  "import-checkpoint": {
    summary: "reference FlexCare state dict -> ONNX model directory",
    load: () => import("./import_checkpoint.ts"),
  },
};

/** Whether FLEXCARE_DEBUG is set; false when the task was not granted access to it. */
function debugEnabled(): boolean {
  const state = Deno.permissions.querySync({ name: "env", variable: "FLEXCARE_DEBUG" }).state;
  return state === "granted" && Boolean(Deno.env.get("FLEXCARE_DEBUG"));
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(18)}${c.summary}`);
  return `Usage: flexcare <command> [options]\n\nCommands:\n${lines.join("\n")}`;
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(`Unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load()).main(rest);
  } catch (error) {
    if (
      error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      console.error(`flexcare ${name}: ${(error as Error).message}`);
      return 2;
    }
    console.error(`flexcare ${name}: ${error instanceof Error ? error.message : String(error)}`);
    if (debugEnabled()) console.error(error);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
