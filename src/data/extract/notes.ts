/**
 * Note sections from discharge summaries (MIMIC-IV-Note `note/discharge.csv`, or MIMIC-III
 * `NOTEEVENTS.csv` rows of category "Discharge summary"), as FlexCare's `extract_PMH` and
 * `extract_BHC`: lower-cased, the text between the section heading and the next heading, line
 * breaks and ASCII punctuation removed.
 *
 * @module
 */
import { findTableFile, type ScanOptions, scanTable } from "./mimic_tables.ts";
import { normalizeNoteText } from "../../features/notes/normalize.ts";

/** The two sections the tasks read. */
export interface NoteSections {
  /** Past medical history (six tasks), or "" when absent. */
  pastMedicalHistory: string;
  /** Brief hospital course (DRG), or "" when absent. */
  briefHospitalCourse: string;
}

function between(text: string, start: string, ends: readonly string[]): string {
  const i = text.indexOf(start);
  if (i < 0) return "";
  const from = i + start.length;
  for (const end of ends) {
    const j = text.indexOf(end, from);
    if (j >= 0) return normalizeNoteText(text.slice(from, j).trim());
  }
  return "";
}

/**
 * Extracts the two sections from a discharge summary.
 *
 * @example
 * ```ts
 * import { extractNoteSections } from "./notes.ts";
 * const s = extractNoteSections("Past Medical History:\nCHF, HTN.\nSocial History: none\nBrief Hospital Course: Diuresed.\nMedications on Admission: x");
 * if (s.pastMedicalHistory !== "chf htn" || s.briefHospitalCourse !== "diuresed") throw new Error(JSON.stringify(s));
 * ```
 */
export function extractNoteSections(text: string): NoteSections {
  const lower = text.toLowerCase();
  return {
    pastMedicalHistory: between(lower, "past medical history:", ["social history"]),
    briefHospitalCourse: between(lower, "brief hospital course:", [
      "medications on admission",
      "discharge medications",
    ]),
  };
}

/**
 * Reads the discharge-summary sections of the given admissions from a notes folder (first note
 * of an admission with a section wins). Streams the note table.
 *
 * @example
 * ```ts ignore
 * const sections = await readNoteSections("mimic-iv-note", new Set(["20001"]));
 * ```
 */
export async function readNoteSections(
  dir: string,
  admissions: ReadonlySet<string>,
  options: ScanOptions = {},
): Promise<{ sections: Map<string, NoteSections>; file: string; notesRead: number }> {
  const discharge = await findTableFile(`${dir}/note`, "discharge") ??
    await findTableFile(dir, "discharge");
  const noteevents = await findTableFile(dir, "noteevents");
  const file = discharge ?? noteevents;
  if (file === undefined) {
    throw new Error(
      `No discharge notes in "${dir}": expected note/discharge.csv(.gz), discharge.csv(.gz) or NOTEEVENTS.csv(.gz)`,
    );
  }
  const sections = new Map<string, NoteSections>();
  let notesRead = 0;
  const columns = discharge !== undefined
    ? ["hadm_id", "text", "?note_type"]
    : ["hadm_id", "text", "category"];
  await scanTable(file, columns, ([hadm, text, kind]) => {
    notesRead++;
    if (!admissions.has(hadm!)) return;
    if (discharge === undefined && kind!.trim().toLowerCase() !== "discharge summary") return;
    const found = extractNoteSections(text!);
    const old = sections.get(hadm!);
    sections.set(hadm!, {
      pastMedicalHistory: old?.pastMedicalHistory || found.pastMedicalHistory,
      briefHospitalCourse: old?.briefHospitalCourse || found.briefHospitalCourse,
    });
  }, options);
  return { sections, file, notesRead };
}
