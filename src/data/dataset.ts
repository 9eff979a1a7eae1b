/**
 * Reading task datasets in the reference FlexCare layout (`../spec/data.md`): multimodal
 * listfiles of the seven tasks as typed samples, episode CSVs, image paths and note text.
 * Errors name the file and line.
 *
 * @module
 */
import { readCsvFile } from "./csv.ts";
import {
  getTask,
  LISTFILE_FIXED_COLUMNS,
  listfilePath,
  type Split,
  type TaskInfo,
} from "./tasks.ts";
import { parseEpisodeCsv } from "../features/episode.ts";
import type { Observation } from "../features/observation.ts";

/** Which modalities a sample carries. */
export interface Modalities {
  readonly timeseries: boolean;
  readonly image: boolean;
  readonly note: boolean;
}

/** One labelled sample of one task. */
export interface Sample {
  readonly task: TaskInfo;
  readonly split: Split;
  readonly subjectId: string;
  readonly stayId: string;
  /** Episode file name inside `ehr/`, or `null` without time series. */
  readonly episode: string | null;
  /** Prediction time in hours from the listfile, or `null` for the task's default period. */
  readonly time: number | null;
  /** CXR dicom id, or `null` without an image. */
  readonly dicomId: string | null;
  /** Normalized note text, or `null` without a note. */
  readonly note: string | null;
  /** Label values: binary 0/1; multi-label 1/0/-1 per label; multi-class a class index. */
  readonly labels: readonly number[];
  readonly modalities: Modalities;
  /** Where the sample was read from, `file:line`. */
  readonly origin: string;
}

/** Raised for a malformed listfile row; the message starts with `file:line:`. */
export class DatasetFormatError extends SyntaxError {
  readonly file: string;
  readonly line: number;

  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = "DatasetFormatError";
    this.file = file;
    this.line = line;
  }
}

/** Options for {@linkcode readSamples}. */
export interface ReadSamplesOptions {
  /**
   * Number of classes of a multi-class task whose classes are not fixed (DRG); labels must be
   * below it. Unchecked when absent.
   */
  classCount?: number;
}

function parseLabel(task: TaskInfo, text: string, fail: (m: string) => never): number {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(value)) {
    fail(`label ${JSON.stringify(text)} is not a number`);
  }
  switch (task.kind) {
    case "binary":
      if (value !== 0 && value !== 1) {
        fail(`binary label must be 0 or 1, got ${JSON.stringify(text)}`);
      }
      break;
    case "multilabel":
      if (value !== 0 && value !== 1 && value !== -1) {
        fail(`multi-label value must be 1, 0 or -1, got ${JSON.stringify(text)}`);
      }
      break;
    case "multiclass":
      if (!Number.isInteger(value) || value < 0) {
        fail(`class index must be a non-negative integer, got ${JSON.stringify(text)}`);
      }
      if (task.classNames.length > 0 && value >= task.classNames.length) {
        fail(`class index ${value} is not below ${task.classNames.length}`);
      }
      break;
  }
  return value;
}

/**
 * Streams the samples of one task and split.
 *
 * @example Count the training samples of a task
 * ```ts ignore
 * import { readSamples } from "./dataset.ts";
 * let n = 0;
 * for await (const _ of readSamples("data/synth", "dec", "train")) n++;
 * ```
 */
export async function* readSamples(
  dataDir: string,
  taskKey: string | TaskInfo,
  split: Split,
  options: ReadSamplesOptions = {},
): AsyncGenerator<Sample> {
  const task = typeof taskKey === "string" ? getTask(taskKey) : taskKey;
  const file = listfilePath(dataDir, task, split);
  const expected = LISTFILE_FIXED_COLUMNS.length + task.labelColumns.length;
  let header = true;
  for await (const { fields, line } of readCsvFile(file)) {
    const fail = (message: string): never => {
      throw new DatasetFormatError(file, line, message);
    };
    if (header) {
      header = false;
      if (fields.length !== expected) {
        fail(
          `header has ${fields.length} columns; task ${task.code} needs ${expected} (6 fixed + ${task.labelColumns.length} labels)`,
        );
      }
      continue;
    }
    if (fields.length !== expected) fail(`expected ${expected} fields, found ${fields.length}`);
    const [subjectId, stayId, episode, timeText, dicomId, note] = fields.map((f) => f.trim()) as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    let time: number | null = null;
    if (timeText !== "") {
      const t = Number(timeText);
      if (!Number.isFinite(t)) fail(`prediction time ${JSON.stringify(timeText)} is not a number`);
      time = t > 0 ? t : null;
    }
    if (
      episode.includes("/") || episode.includes("\\") || dicomId.includes("/") ||
      dicomId.includes("\\")
    ) {
      fail("episode and dicom id must be plain names, not paths");
    }
    const labels = fields.slice(LISTFILE_FIXED_COLUMNS.length).map((f) =>
      parseLabel(task, f, fail)
    );
    if (
      options.classCount !== undefined && task.kind === "multiclass" &&
      labels[0]! >= options.classCount
    ) {
      fail(`class index ${labels[0]} is not below ${options.classCount}`);
    }
    const modalities = { timeseries: episode !== "", image: dicomId !== "", note: note !== "" };
    if (!modalities.timeseries && !modalities.image && !modalities.note) {
      fail("sample has no time series, image or note");
    }
    yield {
      task,
      split,
      subjectId,
      stayId,
      episode: episode === "" ? null : episode,
      time,
      dicomId: dicomId === "" ? null : dicomId,
      note: note === "" ? null : note,
      labels,
      modalities,
      origin: `${file}:${line}`,
    };
  }
}

/** Path of an episode file inside a dataset. */
export function episodePath(dataDir: string, episode: string): string {
  return `${dataDir}/ehr/${episode}`;
}

/** Path of a chest X-ray inside a dataset (`cxr/resized/<dicom_id>.jpg`). */
export function imagePath(dataDir: string, dicomId: string): string {
  return `${dataDir}/cxr/resized/${dicomId}.jpg`;
}

/** Reads an episode's observations. */
export async function readEpisode(dataDir: string, episode: string): Promise<Observation[]> {
  const path = episodePath(dataDir, episode);
  return parseEpisodeCsv(await Deno.readTextFile(path), { source: path });
}

/**
 * The prediction time of a sample: the listfile time when given, else the task's default
 * period (48 h for in-hospital mortality), else the last observation (the whole episode).
 *
 * @example The IHM window
 * ```ts
 * import { predictionTime } from "./dataset.ts";
 * import { getTask } from "./tasks.ts";
 * const t = predictionTime({ task: getTask("ihm"), time: null }, [{ hours: 70, channel: "pH", value: 7.3 }]);
 * if (t !== 48) throw new Error();
 * ```
 */
export function predictionTime(
  sample: Pick<Sample, "task" | "time">,
  observations: readonly Observation[],
): number {
  if (sample.time !== null) return sample.time;
  if (sample.task.defaultPeriodHours !== null) return sample.task.defaultPeriodHours;
  let last = 0;
  for (const o of observations) if (o.hours > last) last = o.hours;
  return last > 0 ? last : 1;
}
