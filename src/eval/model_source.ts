/**
 * Model-driven evaluation: runs a model directory over a dataset split in the reference layout
 * (batched, with the same feature code the service and fine-tuning use) and yields prediction
 * records for the report, with the modality pattern as a subgroup column and NEWS2 for
 * decompensation samples.
 *
 * @module
 */
import {
  metadataGroups,
  metadataStatics,
  readStayMetadata,
  type StayMetadata,
} from "../data/stay_metadata.ts";
import { readSamples, type Sample } from "../data/dataset.ts";
import { getTask, listfilePath, type TaskInfo } from "../data/tasks.ts";
import { createNoteEncoder } from "../features/notes/create_encoder.ts";
import { modelFeaturizer, sampleInputs } from "../finetune/sample_inputs.ts";
import type { BackendName } from "../model/backend.ts";
import { FlexCareModel } from "../model/flexcare_model.ts";
import type { EvalSource, ModelEvalOptions } from "./eval_source.ts";
import { news2ForSample } from "./news2_dataset.ts";
import type { PredictionRecord } from "./predictions.ts";

/** The modality pattern of a sample, e.g. `t+n` (subgroup column `modality`). */
export function modalityPattern(sample: Pick<Sample, "modalities">): string {
  const { timeseries, image, note } = sample.modalities;
  return [timeseries ? "t" : "", image ? "i" : "", note ? "n" : ""].filter(Boolean).join("+");
}

/**
 * The prediction record of one sample: its task, labels, probabilities (one for binary tasks)
 * and subgroup columns (modality pattern, and the stay's metadata when the dataset has it).
 */
export function sampleRecord(
  task: TaskInfo,
  sample: Sample,
  probs: readonly number[],
  metadata: ReadonlyMap<string, StayMetadata>,
): PredictionRecord {
  return {
    task: task.code,
    labels: task.kind === "multilabel" ? [...sample.labels] : sample.labels[0]!,
    probs: task.kind === "binary" ? probs[0]! : probs,
    groups: {
      modality: modalityPattern(sample),
      ...metadataGroups(metadata.get(sample.stayId)),
    },
  };
}

async function fileExists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/**
 * Builds the evaluation source for `deno task eval --model DIR --data DIR`: every task of the
 * model (or those asked for) whose listfile exists in the dataset.
 *
 * @example Evaluate the default model on a synthetic cohort
 * ```ts ignore
 * import { modelEvalSource } from "./model_source.ts";
 * const source = await modelEvalSource({ modelDir: "models/default", dataDir: "/tmp/s", split: "test", tasks: [], batchSize: 16 });
 * for await (const record of source.records()) console.log(record.task);
 * ```
 */
export async function modelEvalSource(
  options: ModelEvalOptions & { backend?: BackendName },
): Promise<EvalSource> {
  const model = await FlexCareModel.load(options.modelDir, {
    backend: options.backend ?? "auto",
    calibrated: options.calibrated ?? true,
  });
  const codes = options.tasks.length > 0 ? options.tasks : model.manifest.tasks.map((t) => t.code);
  const tasks: TaskInfo[] = [];
  for (const code of codes) {
    const task = getTask(code);
    model.task(task.code); // the model must have the task
    if (await fileExists(listfilePath(options.dataDir, task, options.split))) tasks.push(task);
  }
  if (tasks.length === 0) {
    await model.close();
    throw new Error(
      `No listfile for the ${options.split} split of any of ${
        codes.join(", ")
      } in "${options.dataDir}"`,
    );
  }
  let total = 0;
  for (const task of tasks) {
    for await (const _ of readSamples(options.dataDir, task, options.split)) total++;
  }
  const batchSize = Math.max(1, options.batchSize);
  return {
    description:
      `model ${model.name} (${model.runtime.backend}) on ${options.dataDir}, ${options.split} split`,
    async *records(): AsyncGenerator<PredictionRecord> {
      const metadata = await readStayMetadata(options.dataDir);
      const noteEncoder = await createNoteEncoder(model.manifest.note_encoder, {
        baseDir: options.modelDir,
      });
      const featurizer = modelFeaturizer(model, options.dataDir, noteEncoder);
      let done = 0;
      try {
        for (const task of tasks) {
          let batch: Sample[] = [];
          const flush = async function* (): AsyncGenerator<PredictionRecord> {
            const inputs = await Promise.all(batch.map((s) => sampleInputs(s, featurizer)));
            const outputs = await model.predictBatch(inputs, [task.code], {
              statics: batch.map((s) => metadataStatics(metadata.get(s.stayId))),
            });
            for (let b = 0; b < batch.length; b++) {
              const sample = batch[b]!;
              const probs = Array.from(outputs[b]![0]!.probs);
              const news2 = task.code === "dec"
                ? await news2ForSample(options.dataDir, sample)
                : null;
              yield {
                ...sampleRecord(task, sample, probs, metadata),
                ...(news2 === null ? {} : { news2: news2.total }),
              };
            }
            done += batch.length;
            options.onProgress?.(done, total);
            batch = [];
          };
          for await (const sample of readSamples(options.dataDir, task, options.split)) {
            batch.push(sample);
            if (batch.length === batchSize) yield* flush();
          }
          if (batch.length > 0) yield* flush();
        }
      } finally {
        await noteEncoder.close();
        await model.close();
      }
    },
  };
}
