/**
 * Stay metadata beside a dataset in the reference layout: `DATA/stays.csv`, one row per ICU stay
 * with the unit, age, sex and admission type, so evaluations can report by subgroup
 * (`deno task eval --by unit`). The listfiles are not changed, so data prepared for the
 * reference code still works; a dataset without the file simply has no such subgroups.
 *
 * Columns (header row, comma-separated, empty = unknown):
 * - `stay_id`: the listfiles' stay id (PhysioNet 2012: the RecordID; MIMIC: the ICU stay id)
 * - `subject_id`
 * - `unit`: the first care unit, MIMIC's codes: `CCU` (coronary care), `CSRU` (cardiac surgery
 *   recovery), `MICU` (medical), `SICU` (surgical), `TSICU` (trauma surgical), ...; PhysioNet
 *   2012's ICUType 1-4 map to CCU, CSRU, MICU, SICU
 * - `age`: years at ICU admission (MIMIC-III ages above 89 are de-identified as 90+)
 * - `sex`: `F` or `M`
 * - `admission_type`: MIMIC's (`EMERGENCY`, `ELECTIVE`, `URGENT`, ...); empty for PhysioNet
 *
 * The subgroup columns a record gets from it: `unit`, `sex`, `admission_type` and `age_band`
 * ({@linkcode ageBand}).
 *
 * @module
 */
import { join } from "node:path";
import { parseCsv } from "./csv.ts";
import { formatCsvLine } from "./layout_writer.ts";

/** File name of the metadata, at the dataset root. */
export const STAY_METADATA_FILE = "stays.csv";

/** One stay's metadata (empty string or NaN age = unknown). */
export interface StayMetadata {
  readonly stayId: string;
  readonly subjectId: string;
  readonly unit: string;
  readonly age: number;
  readonly sex: string;
  readonly admissionType: string;
}

const HEADER = ["stay_id", "subject_id", "unit", "age", "sex", "admission_type"];

/** PhysioNet 2012 ICUType to the unit code. */
export const PHYSIONET_ICU_TYPES: Readonly<Record<string, string>> = Object.freeze({
  "1": "CCU",
  "2": "CSRU",
  "3": "MICU",
  "4": "SICU",
});

/**
 * The age band of an age in years: `<45`, `45-64`, `65-79`, `80+`; `null` when unknown.
 *
 * @example
 * ```ts
 * import { ageBand } from "./stay_metadata.ts";
 * if (ageBand(44.9) !== "<45" || ageBand(65) !== "65-79" || ageBand(91) !== "80+") throw new Error();
 * if (ageBand(Number.NaN) !== null) throw new Error();
 * ```
 */
export function ageBand(age: number): string | null {
  if (!Number.isFinite(age)) return null;
  if (age < 45) return "<45";
  if (age < 65) return "45-64";
  if (age < 80) return "65-79";
  return "80+";
}

/** Writes `DATA/stays.csv` (rows sorted by stay id). */
export async function writeStayMetadata(
  dataDir: string,
  rows: readonly StayMetadata[],
): Promise<void> {
  const sorted = [...rows].sort((a, b) => a.stayId < b.stayId ? -1 : a.stayId > b.stayId ? 1 : 0);
  const lines = [formatCsvLine(HEADER)];
  for (const r of sorted) {
    lines.push(formatCsvLine([
      r.stayId,
      r.subjectId,
      r.unit,
      Number.isFinite(r.age) ? Number(r.age.toFixed(2)) : "",
      r.sex,
      r.admissionType,
    ]));
  }
  await Deno.writeTextFile(join(dataDir, STAY_METADATA_FILE), lines.join("\n") + "\n");
}

/** Reads `DATA/stays.csv` into a map by stay id; an empty map when the file is absent. */
export async function readStayMetadata(dataDir: string): Promise<Map<string, StayMetadata>> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dataDir, STAY_METADATA_FILE));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Map();
    throw error;
  }
  const source = join(dataDir, STAY_METADATA_FILE);
  const [head, ...records] = parseCsv(text, { source });
  const at = new Map((head?.fields ?? []).map((name, i) => [name, i]));
  if (!at.has("stay_id")) throw new SyntaxError(`${source}: the header has no stay_id column`);
  const field = (fields: readonly string[], name: string) => {
    const i = at.get(name);
    return i === undefined ? "" : fields[i] ?? "";
  };
  const out = new Map<string, StayMetadata>();
  for (const { fields } of records) {
    if (fields.length === 1 && fields[0] === "") continue;
    const ageText = field(fields, "age");
    out.set(field(fields, "stay_id"), {
      stayId: field(fields, "stay_id"),
      subjectId: field(fields, "subject_id"),
      unit: field(fields, "unit"),
      age: ageText === "" ? Number.NaN : Number(ageText),
      sex: field(fields, "sex"),
      admissionType: field(fields, "admission_type"),
    });
  }
  return out;
}

/** The subgroup columns of a stay (unknown values are left out). */
export function metadataGroups(m: StayMetadata | undefined): Record<string, string> {
  if (m === undefined) return {};
  const out: Record<string, string> = {};
  if (m.unit !== "") out["unit"] = m.unit;
  const band = ageBand(m.age);
  if (band !== null) out["age_band"] = band;
  if (m.sex !== "") out["sex"] = m.sex;
  if (m.admissionType !== "") out["admission_type"] = m.admissionType;
  return out;
}

/** The statics a model's heads read (`../model/statics.ts`): unit, age and sex where known. */
export function metadataStatics(
  m: StayMetadata | undefined,
): { unit?: string; age?: number; sex?: "F" | "M" } | undefined {
  if (m === undefined) return undefined;
  return {
    ...(m.unit === "" ? {} : { unit: m.unit }),
    ...(Number.isFinite(m.age) ? { age: m.age } : {}),
    ...(m.sex === "F" || m.sex === "M" ? { sex: m.sex } : {}),
  };
}
