/**
 * MIMIC-CXR-JPG metadata and CheXpert labels: AP images per subject with their study time, and
 * the 14 findings per study for the diagnosis task.
 *
 * CheXpert cells map to labels as: `1` -> 1, `0` -> 0, `-1` (uncertain) -> -1 (unknown, masked
 * out of loss and metrics), empty (not mentioned) -> 0.
 *
 * @module
 */
import { DIAGNOSIS_LABELS } from "../tasks.ts";
import { findTableFile, scanTable } from "./mimic_tables.ts";

/** One AP image. */
export interface CxrImage {
  dicomId: string;
  studyId: string;
  subjectId: string;
  /** Study date-time, UTC ms. */
  time: number;
}

/**
 * Parses `StudyDate` (`YYYYMMDD`) and `StudyTime` (`HHMMSS.fff`) as UTC ms (NaN if malformed).
 *
 * @example
 * ```ts
 * import { cxrStudyTime } from "./cxr.ts";
 * if (cxrStudyTime("21800506", "213014.531") !== Date.UTC(2180, 4, 6, 21, 30, 14)) throw new Error();
 * ```
 */
export function cxrStudyTime(date: string, time: string): number {
  const d = /^(\d{4})(\d{2})(\d{2})$/.exec(date.trim());
  const t = Number(time.trim());
  if (d === null || !Number.isFinite(t)) return Number.NaN;
  const hhmmss = String(Math.trunc(t)).padStart(6, "0");
  return Date.UTC(
    Number(d[1]),
    Number(d[2]) - 1,
    Number(d[3]),
    Number(hhmmss.slice(0, 2)),
    Number(hhmmss.slice(2, 4)),
    Number(hhmmss.slice(4, 6)),
  );
}

/**
 * Maps a CheXpert cell to a label value.
 *
 * @example
 * ```ts
 * import { chexpertValue } from "./cxr.ts";
 * if (chexpertValue("1.0") !== 1 || chexpertValue("-1.0") !== -1 || chexpertValue("") !== 0) throw new Error();
 * ```
 */
export function chexpertValue(cell: string): number {
  const v = Number(cell.trim());
  if (cell.trim() === "" || !Number.isFinite(v)) return 0;
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

/** The MIMIC-CXR-JPG tables of the given subjects. */
export interface CxrData {
  /** AP images per subject, in time order. */
  imagesBySubject: Map<string, CxrImage[]>;
  /** `subject/study` -> 14 labels. */
  labels: Map<string, number[]>;
  /** Image file path (relative to the CXR folder) per dicom id. */
  paths: Map<string, string>;
}

/**
 * Reads the metadata (AP views only) and the CheXpert labels of the given subjects.
 *
 * @example
 * ```ts ignore
 * const cxr = await readCxr("mimic-cxr-jpg", new Set(["10000032"]));
 * ```
 */
export async function readCxr(dir: string, subjects: ReadonlySet<string>): Promise<CxrData> {
  const meta = await findTableFile(dir, "mimic-cxr-2.0.0-metadata");
  const chexpert = await findTableFile(dir, "mimic-cxr-2.0.0-chexpert");
  if (meta === undefined || chexpert === undefined) {
    throw new Error(
      `No MIMIC-CXR-JPG tables in "${dir}": expected mimic-cxr-2.0.0-metadata.csv(.gz) and mimic-cxr-2.0.0-chexpert.csv(.gz)`,
    );
  }
  const imagesBySubject = new Map<string, CxrImage[]>();
  const paths = new Map<string, string>();
  await scanTable(
    meta,
    ["dicom_id", "subject_id", "study_id", "ViewPosition", "StudyDate", "StudyTime"],
    ([dicomId, subjectId, studyId, view, date, time]) => {
      if (!subjects.has(subjectId!) || view!.trim() !== "AP") return;
      const t = cxrStudyTime(date!, time!);
      if (Number.isNaN(t)) return;
      const list = imagesBySubject.get(subjectId!) ?? [];
      list.push({ dicomId: dicomId!, studyId: studyId!, subjectId: subjectId!, time: t });
      imagesBySubject.set(subjectId!, list);
      paths.set(
        dicomId!,
        `files/p${subjectId!.slice(0, 2)}/p${subjectId}/s${studyId}/${dicomId}.jpg`,
      );
    },
  );
  for (const list of imagesBySubject.values()) list.sort((a, b) => a.time - b.time);
  const labels = new Map<string, number[]>();
  await scanTable(
    chexpert,
    ["subject_id", "study_id", ...DIAGNOSIS_LABELS],
    ([subjectId, studyId, ...cells]) => {
      if (!subjects.has(subjectId!)) return;
      labels.set(`${subjectId}/${studyId}`, cells.map(chexpertValue));
    },
  );
  return { imagesBySubject, labels, paths };
}

/**
 * The latest AP image of a subject taken in `[from, to]` (UTC ms), or undefined.
 *
 * @example
 * ```ts
 * import { latestImage } from "./cxr.ts";
 * const imgs = [{ dicomId: "a", studyId: "1", subjectId: "9", time: 10 }, { dicomId: "b", studyId: "2", subjectId: "9", time: 20 }];
 * if (latestImage(imgs, 0, 15)?.dicomId !== "a" || latestImage(imgs, 21, 30) !== undefined) throw new Error();
 * ```
 */
export function latestImage(
  images: readonly CxrImage[] | undefined,
  from: number,
  to: number,
): CxrImage | undefined {
  let best: CxrImage | undefined;
  for (const img of images ?? []) if (img.time >= from && img.time <= to) best = img;
  return best;
}
