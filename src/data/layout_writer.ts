/**
 * Writing datasets in the reference layout (`../shared/spec/data.md`): episode CSVs and
 * multimodal listfiles. Used by the synthetic cohort and the importers alike so every dataset
 * this project writes is read back by the same reader.
 *
 * @module
 */
import { LISTFILE_FIXED_COLUMNS, type Split, type TaskInfo } from "./tasks.ts";
import type { Observation } from "../features/observation.ts";
import { REFERENCE_CONFIG } from "../features/discretizer_config.ts";

/**
 * Formats one CSV line (no line break), quoting fields that hold a comma, quote or line break.
 *
 * @example Quote only what needs it
 * ```ts
 * import { formatCsvLine } from "./layout_writer.ts";
 * if (formatCsvLine(["a", "b,c", 'd"e', 1]) !== 'a,"b,c","d""e",1') throw new Error();
 * ```
 */
export function formatCsvLine(fields: readonly (string | number)[]): string {
  return fields.map((f) => {
    const s = String(f);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  }).join(",");
}

/** One row of a multimodal listfile. */
export interface ListfileRow {
  subjectId: string | number;
  stayId: string | number;
  /** Episode file name inside `ehr/`, or "" when the sample has no time series. */
  episode: string;
  /** Prediction time in hours ("" for the task's default period). */
  time: number | "";
  /** CXR dicom id, or "" when there is no image. */
  dicomId: string;
  /** Normalized note text, or "" when there is no note. */
  note: string;
  /** Label values (one per label column). */
  labels: readonly number[];
}

/** The header of a task's listfile. */
export function listfileHeader(task: TaskInfo): string[] {
  return [...LISTFILE_FIXED_COLUMNS, ...task.labelColumns];
}

/** Formats a listfile row, checking its label count against the task. */
export function formatListfileRow(task: TaskInfo, row: ListfileRow): string {
  if (row.labels.length !== task.labelColumns.length) {
    throw new RangeError(
      `Task ${task.code} needs ${task.labelColumns.length} labels per row, got ${row.labels.length}`,
    );
  }
  if (/[\r\n]/.test(row.note)) throw new TypeError("Listfile note text must be one line");
  return formatCsvLine([
    row.subjectId,
    row.stayId,
    row.episode,
    row.time,
    row.dicomId,
    row.note,
    ...row.labels,
  ]);
}

/** Writes a whole listfile (header plus rows) for one task and split under `dataDir`. */
export async function writeListfile(
  dataDir: string,
  task: TaskInfo,
  split: Split,
  rows: Iterable<ListfileRow>,
): Promise<number> {
  await Deno.mkdir(`${dataDir}/${task.folder}`, { recursive: true });
  const lines = [formatCsvLine(listfileHeader(task))];
  for (const row of rows) lines.push(formatListfileRow(task, row));
  await Deno.writeTextFile(
    `${dataDir}/${task.folder}/${split}_multimodal_listfile.csv`,
    lines.join("\n") + "\n",
  );
  return lines.length - 1;
}

/**
 * Formats observations as an episode CSV (`Hours,<17 channels>`): one row per distinct time,
 * in ascending time, cells empty where a channel was not charted. Observations at the same
 * time and channel keep the last one given.
 *
 * @example Two times
 * ```ts
 * import { formatEpisodeCsv } from "./layout_writer.ts";
 * const text = formatEpisodeCsv([{ hours: 1, channel: "Heart Rate", value: 80 }, { hours: 0.5, channel: "pH", value: 7.4 }]);
 * if (text.split("\n")[1]!.split(",")[0] !== "0.5") throw new Error();
 * ```
 */
export function formatEpisodeCsv(observations: Iterable<Observation>): string {
  const config = REFERENCE_CONFIG;
  const byTime = new Map<number, string[]>();
  for (const obs of observations) {
    const channel = config.channelIndex.get(obs.channel);
    if (channel === undefined) {
      throw new RangeError(`Unknown channel ${JSON.stringify(obs.channel)}`);
    }
    let row = byTime.get(obs.hours);
    if (row === undefined) {
      row = new Array<string>(config.channels.length).fill("");
      byTime.set(obs.hours, row);
    }
    row[channel] = String(obs.value);
  }
  const lines = [formatCsvLine(["Hours", ...config.channels])];
  for (const hours of [...byTime.keys()].sort((a, b) => a - b)) {
    lines.push(formatCsvLine([String(hours), ...byTime.get(hours)!]));
  }
  return lines.join("\n") + "\n";
}
