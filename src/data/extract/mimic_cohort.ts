/**
 * Reading the cohort tables of a MIMIC folder (patients, admissions, ICU stays) into the
 * records of `cohort.ts`, and building the cohort.
 *
 * @module
 */
import type { CleaningLog } from "./episode_sink.ts";
import {
  type AdmissionRecord,
  buildCohort,
  type CohortFunnel,
  type CohortStay,
  type IcuStayRecord,
  type PatientRecord,
} from "./cohort.ts";
import { type MimicLayout, parseMimicTime, readTable } from "./mimic_tables.ts";

const HOUR_MS = 3600 * 1000;

/** The cohort of a MIMIC folder. */
export interface MimicCohort {
  /** Cohort stays, by subject then ICU admission. */
  stays: CohortStay[];
  /** Counts after each selection step. */
  funnel: CohortFunnel[];
  /** Every admission of the admissions table (the diagnosis task looks studies up in them). */
  admissions: AdmissionRecord[];
}

const number = (text: string) => (text.trim() === "" ? Number.NaN : Number(text));

/**
 * Reads the three cohort tables and builds the cohort. ICU stays without a parsable in or out
 * time are counted in `log` under `(ICU stays)` and left out.
 *
 * @example
 * ```ts ignore
 * const cohort = await readMimicCohort(await locateMimicTables("mimic-iii-demo"), new CleaningLog());
 * ```
 */
export async function readMimicCohort(layout: MimicLayout, log: CleaningLog): Promise<MimicCohort> {
  const table = (name: "patients" | "admissions" | "icustays") => {
    const path = layout.tables[name];
    if (path === undefined) throw new Error(`No ${name} table (${name}.csv or ${name}.csv.gz)`);
    return path;
  };
  const patients: PatientRecord[] = (await readTable(table("patients"), [
    "subject_id",
    "gender",
    "?dob",
    "?dod",
    "?anchor_age",
    "?anchor_year",
  ])).map(([subjectId, gender, dob, dod, anchorAge, anchorYear]) => ({
    subjectId: subjectId!,
    gender: gender!,
    dob: parseMimicTime(dob!),
    dod: parseMimicTime(dod!),
    anchorAge: number(anchorAge!),
    anchorYear: number(anchorYear!),
  }));
  const admissions: AdmissionRecord[] = (await readTable(table("admissions"), [
    "subject_id",
    "hadm_id",
    "admittime",
    "dischtime",
    "?deathtime",
    "?admission_type",
  ])).map(([subjectId, hadmId, admit, discharge, death, type]) => ({
    subjectId: subjectId!,
    hadmId: hadmId!,
    admittime: parseMimicTime(admit!),
    dischtime: parseMimicTime(discharge!),
    deathtime: parseMimicTime(death!),
    admissionType: type ?? "",
  }));
  const icustays: IcuStayRecord[] = [];
  const rows = await readTable(table("icustays"), [
    "subject_id",
    "hadm_id",
    "icustay_id|stay_id",
    "intime",
    "outtime",
    "?los",
    "first_careunit",
    "last_careunit",
    "?first_wardid",
    "?last_wardid",
  ]);
  for (const [subjectId, hadmId, stayId, inText, outText, los, fc, lc, fw, lw] of rows) {
    const intime = parseMimicTime(inText!);
    const outtime = parseMimicTime(outText!);
    if (Number.isNaN(intime) || Number.isNaN(outtime)) {
      log.count("(ICU stays)", "rejected: missing in/out time");
      continue;
    }
    const losDays = number(los!);
    icustays.push({
      subjectId: subjectId!,
      hadmId: hadmId!,
      stayId: stayId!,
      intime,
      outtime,
      losHours: Number.isFinite(losDays) ? losDays * 24 : (outtime - intime) / HOUR_MS,
      firstCareunit: fc!,
      lastCareunit: lc!,
      firstWardid: fw!,
      lastWardid: lw!,
    });
  }
  const { stays, funnel } = buildCohort(icustays, admissions, patients, {
    mortalityRule: layout.flavor,
  });
  return { stays, funnel, admissions };
}
