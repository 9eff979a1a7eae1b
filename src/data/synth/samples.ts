/**
 * The task samples of a synthetic cohort, following the reference pipeline's label rules
 * (`../shared/spec/data.md`): IHM from the first 48 hours of stays of at least 48 hours;
 * one random hour >= 4 per stay for decompensation and length of stay; phenotyping,
 * readmission and DRG at the end of the stay; one diagnosis sample per chest X-ray. ICU task
 * samples carry the latest image taken during the stay before the prediction time.
 *
 * @module
 */
import type { ListfileRow } from "../layout_writer.ts";
import { losClass, type Split, type TaskCode } from "../tasks.ts";
import type { CohortStay, SyntheticCohort } from "./cohort.ts";

const IHM_HOURS = 48;
const DECOMPENSATION_HORIZON_HOURS = 24;

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** The latest image taken during the stay at or before `hours`, or "". */
function latestImage(entry: CohortStay, hours: number): string {
  let id = "";
  for (const image of entry.images) if (image.hours > 0 && image.hours <= hours) id = image.dicomId;
  return id;
}

function row(entry: CohortStay, time: number | "", labels: readonly number[], options: {
  hours: number;
  drg?: boolean;
  episode?: boolean;
}): ListfileRow {
  const { stay, note } = entry;
  return {
    subjectId: stay.subject.subjectId,
    stayId: stay.stayId,
    episode: options.episode === false ? "" : entry.episodeFile,
    time,
    dicomId: latestImage(entry, options.hours),
    note: note === null ? "" : options.drg ? note.briefHospitalCourse : note.pastMedicalHistory,
    labels,
  };
}

/** Options for {@linkcode taskRows}. */
export interface TaskRowsOptions {
  /** The task. */
  task: TaskCode;
  /** The split. */
  split: Split;
}

/**
 * The listfile rows of one task and split, in stay order.
 *
 * @example Every IHM sample is at hour 48
 * ```ts
 * import { buildCohort } from "./cohort.ts";
 * import { taskRows } from "./samples.ts";
 * const cohort = buildCohort({ stays: 30, seed: 2 });
 * if (taskRows(cohort, { task: "ihm", split: "train" }).some((r) => r.time !== 48)) throw new Error();
 * ```
 */
export function taskRows(cohort: SyntheticCohort, options: TaskRowsOptions): ListfileRow[] {
  const { task, split } = options;
  const rows: ListfileRow[] = [];
  for (const entry of cohort.stays) {
    if (entry.split !== split) continue;
    const { stay } = entry;
    const los = round4(stay.losHours);
    const died = stay.died ? 1 : 0;
    switch (task) {
      case "ihm":
        if (stay.losHours >= IHM_HOURS) {
          rows.push(row(entry, IHM_HOURS, [died], { hours: IHM_HOURS }));
        }
        break;
      case "dec": {
        const t = entry.decompensationHour;
        const death = stay.course.deathHours;
        const label = death !== null && death - t <= DECOMPENSATION_HORIZON_HOURS ? 1 : 0;
        rows.push(row(entry, t, [label], { hours: t }));
        break;
      }
      case "phe":
        rows.push(row(entry, los, stay.phenotypes, { hours: stay.losHours }));
        break;
      case "los": {
        const t = entry.lengthOfStayHour;
        rows.push(row(entry, t, [losClass(Math.max(0, stay.losHours - t))], { hours: t }));
        break;
      }
      case "rea":
        if (!stay.died) {
          rows.push(row(entry, los, [stay.readmitted ? 1 : 0], { hours: stay.losHours }));
        }
        break;
      case "dia":
        for (const image of entry.images) {
          const inStay = image.hours > 0;
          const base = row(entry, inStay ? round4(image.hours) : "", image.findings, {
            hours: image.hours,
            episode: inStay,
          });
          rows.push({ ...base, dicomId: image.dicomId });
        }
        break;
      case "drg":
        rows.push(row(entry, los, [stay.drg], { hours: stay.losHours, drg: true }));
        break;
    }
  }
  return rows;
}
