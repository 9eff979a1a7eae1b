/**
 * `flexcare tensorize --data DIR --out STORE [--tasks ihm,dec,...] [--augment N] [--seed S]
 * [--note-encoder FILE.json]`: writes the tensor store the PyTorch trainer reads.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tensorize, type TensorizeSummary } from "../data/tensor_store/tensorize.ts";
import { createNoteEncoder } from "../features/notes/create_encoder.ts";
import {
  DEFAULT_NOTE_ENCODER,
  type NoteEncoderSpec,
  parseNoteEncoderSpec,
} from "../features/notes/encoder.ts";
import { getTask } from "../data/tasks.ts";
import { UsageError } from "./usage_error.ts";
import { integerFlag } from "./flags.ts";

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: "string" },
      out: { type: "string" },
      tasks: { type: "string" },
      augment: { type: "string" },
      seed: { type: "string" },
      "note-encoder": { type: "string" },
      quiet: { type: "boolean" },
    },
    strict: true,
  });
  if (!values.data || !values.out) throw new UsageError("--data DIR and --out STORE are required");
  const tasks = values.tasks?.split(",").map((t) => t.trim()).filter((t) => t !== "");
  try {
    tasks?.forEach((t) => getTask(t));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let spec: NoteEncoderSpec = DEFAULT_NOTE_ENCODER;
  let baseDir: string | undefined;
  if (values["note-encoder"] !== undefined) {
    const path = values["note-encoder"];
    spec = parseNoteEncoderSpec(JSON.parse(await Deno.readTextFile(path)));
    baseDir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  }
  const noteEncoder = await createNoteEncoder(spec, baseDir === undefined ? {} : { baseDir });
  let summary: TensorizeSummary;
  try {
    summary = await tensorize({
      data: values.data,
      out: values.out,
      noteEncoder,
      augment: integerFlag("augment", values.augment, { min: 0 }) ?? 0,
      seed: integerFlag("seed", values.seed, { min: 0 }) ?? 0,
      progress: !values.quiet,
      ...(tasks === undefined ? {} : { tasks }),
    });
  } finally {
    await noteEncoder.close();
  }
  const samples = Object.values(summary.splits).reduce((a, b) => a + b, 0);
  console.error(
    `tensorize: ${samples} samples, ${summary.timeseriesRows} time-series rows, ${summary.images} images, ${summary.notes} notes in ${
      summary.seconds.toFixed(1)
    } s -> ${values.out}`,
  );
  return 0;
}
