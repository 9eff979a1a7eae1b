/**
 * Heads over `[s_p || stay statics]` on the frozen backbone (`../model/statics.ts`), for
 * `deno task fit-statics`: the model runs once over a dataset's train, val and test splits
 * (without its statics heads, uncalibrated) to get s_p; a linear head per task is trained on
 * s_p plus the encoded unit, age and sex from the dataset's `stays.csv`, each hidden at random
 * in training rows (so that a stay without them is served sensibly), its weight decay chosen by
 * the validation score; then one temperature per task is fitted on validation. The result goes
 * into the model's `manifest.json` (`statics`, `calibration`), which every serving path reads.
 *
 * @module
 */
import { readSamples, type Sample } from "../data/dataset.ts";
import { seededRandom } from "../data/random.ts";
import { metadataStatics, readStayMetadata } from "../data/stay_metadata.ts";
import { getTask, listfilePath, type Split, type TaskInfo } from "../data/tasks.ts";
import { scoreCalibration } from "../eval/calibrate.ts";
import { createNoteEncoder } from "../features/notes/create_encoder.ts";
import { type CalibrationSplitReport, fitTemperature } from "../model/calibration.ts";
import type { BackendName } from "../model/backend.ts";
import { FlexCareModel } from "../model/flexcare_model.ts";
import {
  encodeStatics,
  type ModelStatics,
  type StaticsSpec,
  type StayStatics,
} from "../model/statics.ts";
import { modelFeaturizer, sampleInputs } from "./sample_inputs.ts";
import { METRICS_BY_KIND, taskMetrics } from "./task_metrics.ts";
import { applyRows, trainLinearHeadByValidation } from "./train_head.ts";

/** Options of {@linkcode fitStaticsHeads}. */
export interface FitStaticsOptions {
  readonly modelDir: string;
  readonly dataDir: string;
  /** Task codes (those without train/val listfiles are skipped). */
  readonly tasks: readonly string[];
  /**
   * Chance that each static is hidden in a training row.
   * @default {0.25}
   */
  readonly mask?: number;
  /** @default {0} */
  readonly seed?: number;
  /** @default {"auto"} */
  readonly backend?: BackendName;
  readonly log?: (line: string) => void;
}

/** What one task's fit measured (the first metric of the task's kind). */
export interface StaticsTaskReport {
  readonly task: string;
  readonly metric: string;
  readonly weightDecay: number;
  readonly temperature: number;
  /** The graph's head, the statics head, and the statics head with every static unknown. */
  readonly validation: { graph: number; statics: number; unknown: number };
  readonly test: { graph: number; statics: number; unknown: number } | null;
  readonly calibration: Record<string, CalibrationSplitReport>;
}

/** The fitted heads (for `manifest.statics`), temperatures and reports. */
export interface FitStaticsResult {
  readonly statics: ModelStatics;
  readonly temperatures: Record<
    string,
    { temperature: number; splits: Record<string, CalibrationSplitReport> }
  >;
  readonly reports: readonly StaticsTaskReport[];
}

const WEIGHT_DECAYS = [1e-4, 1e-3, 1e-2];

interface SplitData {
  readonly samples: readonly Sample[];
  readonly sp: Float32Array[];
  readonly graphProbs: Float32Array[];
  readonly statics: (StayStatics | undefined)[];
}

/** Fits the statics heads; see the module documentation. */
export async function fitStaticsHeads(options: FitStaticsOptions): Promise<FitStaticsResult> {
  const log = options.log ?? (() => {});
  const metadata = await readStayMetadata(options.dataDir);
  if (metadata.size === 0) {
    throw new Error(
      `"${options.dataDir}" has no stays.csv: import the data again to get the stays' unit, age and sex`,
    );
  }
  const model = await FlexCareModel.load(options.modelDir, {
    backend: options.backend ?? "auto",
    calibrated: false,
    statics: false,
  });
  const noteEncoder = await createNoteEncoder(model.manifest.note_encoder, {
    baseDir: options.modelDir,
  });
  try {
    const featurizer = modelFeaturizer(model, options.dataDir, noteEncoder);
    const tasks: TaskInfo[] = [];
    for (const code of options.tasks) {
      const task = getTask(code);
      model.task(task.code);
      const has = async (split: Split) =>
        await Deno.stat(listfilePath(options.dataDir, task, split)).then(() => true, () => false);
      if (await has("train") && await has("val")) tasks.push(task);
    }
    if (tasks.length === 0) {
      throw new Error(`No task of ${options.tasks.join(", ")} has train and val listfiles`);
    }
    const run = async (task: TaskInfo, split: Split): Promise<SplitData | null> => {
      if (
        !await Deno.stat(listfilePath(options.dataDir, task, split)).then(() => true, () => false)
      ) {
        return null;
      }
      const samples: Sample[] = [];
      for await (const s of readSamples(options.dataDir, task, split)) samples.push(s);
      const sp: Float32Array[] = [];
      const graphProbs: Float32Array[] = [];
      for (let i = 0; i < samples.length; i += 64) {
        const batch = samples.slice(i, i + 64);
        const inputs = await Promise.all(batch.map((s) => sampleInputs(s, featurizer)));
        for (const o of await model.predictBatch(inputs, [task.code])) {
          sp.push(o[0]!.representation);
          graphProbs.push(o[0]!.probs);
        }
      }
      log(`fit-statics: ${task.code} ${split}: ${samples.length} samples`);
      return {
        samples,
        sp,
        graphProbs,
        statics: samples.map((s) => metadataStatics(metadata.get(s.stayId))),
      };
    };
    // The encoding: units and age scale from the training stays of the first task.
    const first = await run(tasks[0]!, "train");
    const trainStatics = first!.statics.filter((s) => s !== undefined) as StayStatics[];
    const ages = trainStatics.map((s) => s.age).filter((a): a is number => a !== undefined);
    const mean = ages.reduce((a, b) => a + b, 0) / Math.max(1, ages.length);
    const sd = Math.sqrt(ages.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, ages.length));
    const spec: StaticsSpec = {
      units: [
        ...new Set(trainStatics.map((s) => s.unit).filter((u): u is string => u !== undefined)),
      ]
        .sort(),
      ageCenter: Number(mean.toFixed(3)),
      ageScale: Number((sd > 0 ? sd : 1).toFixed(3)),
    };
    const heads: Record<string, { weights: number[]; bias: number[] }> = {};
    const temperatures: FitStaticsResult["temperatures"] = {};
    const reports: StaticsTaskReport[] = [];
    const mask = options.mask ?? 0.25;
    for (const task of tasks) {
      const train = task === tasks[0] ? first! : (await run(task, "train"))!;
      const val = (await run(task, "val"))!;
      const test = await run(task, "test");
      const outputs = model.task(task.code).outputs;
      const random = seededRandom(options.seed ?? 0);
      const hide = (s: StayStatics | undefined): StayStatics | undefined => {
        if (s === undefined) return undefined;
        return {
          ...(s.unit === undefined || random() < mask ? {} : { unit: s.unit }),
          ...(s.age === undefined || random() < mask ? {} : { age: s.age }),
          ...(s.sex === undefined || random() < mask ? {} : { sex: s.sex }),
        };
      };
      const rows = (d: SplitData, statics: (StayStatics | undefined)[]) => {
        const width = d.sp[0]!.length + spec.units.length + 5;
        const x = new Float32Array(d.samples.length * width);
        d.sp.forEach((v, i) => {
          x.set(v, i * width);
          x.set(encodeStatics(spec, statics[i]), i * width + v.length);
        });
        return { x, width, labels: d.samples.map((s) => [...s.labels]) };
      };
      const lead = METRICS_BY_KIND[task.kind][0];
      const score = (probs: ArrayLike<number>[], labels: readonly (readonly number[])[]) => {
        const v = taskMetrics(task.kind, labels, probs)[lead]!;
        return Number.isFinite(v) ? v : -Infinity;
      };
      const valRows = rows(val, val.statics);
      const best = trainLinearHeadByValidation(rows(train, train.statics.map(hide)), valRows, {
        kind: task.kind,
        outputs,
        weightDecays: WEIGHT_DECAYS,
        seed: options.seed ?? 0,
      });
      const head = best.head;
      const calibrationData = (r: ReturnType<typeof rows>) => ({
        kind: task.kind,
        logits: applyRows(head, r).map((o) => o.logits),
        labels: r.labels.map((l) => task.kind === "multilabel" ? l : l[0]!),
      });
      const fitData = calibrationData(valRows);
      const temperature = fitTemperature(fitData);
      const splits: Record<string, CalibrationSplitReport> = {
        val: scoreCalibration(fitData, temperature),
      };
      const measure = (d: SplitData) => {
        const known = rows(d, d.statics);
        const unknown = rows(d, d.statics.map(() => undefined));
        const labels = known.labels;
        return {
          graph: score(d.graphProbs, labels),
          statics: score(applyRows(head, known).map((o) => o.probs), labels),
          unknown: score(applyRows(head, unknown).map((o) => o.probs), labels),
        };
      };
      if (test !== null) {
        splits["test"] = scoreCalibration(calibrationData(rows(test, test.statics)), temperature);
      }
      heads[task.code] = { weights: Array.from(head.weights), bias: Array.from(head.bias) };
      temperatures[task.code] = { temperature: Number(temperature.toFixed(6)), splits };
      const report: StaticsTaskReport = {
        task: task.code,
        metric: lead,
        weightDecay: best.weightDecay,
        temperature,
        validation: measure(val),
        test: test === null ? null : measure(test),
        calibration: splits,
      };
      reports.push(report);
      log(`fit-statics: ${task.code} ${JSON.stringify(report.validation)} (validation ${lead})`);
    }
    return {
      statics: {
        spec,
        heads,
        fitted: {
          data: options.dataDir,
          mask,
          seed: options.seed ?? 0,
          at: new Date().toISOString(),
          reports,
        },
      },
      temperatures,
      reports,
    };
  } finally {
    await noteEncoder.close();
    await model.close();
  }
}
