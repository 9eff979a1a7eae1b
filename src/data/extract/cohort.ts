/**
 * The ICU-stay cohort of mimic3-benchmarks (`extract_subjects.py`) with FlexCare's readmission
 * label (`mimic4extract/mimic3csv.py`), as pure functions over plain records:
 *
 * 1. drop stays with a transfer (first and last care unit differ, or, where ward ids exist,
 *    first and last ward);
 * 2. keep stays whose admission and patient exist;
 * 3. keep admissions with exactly one remaining ICU stay;
 * 4. mortality flags and the 30-day readmission label (computed before the age filter, as in
 *    the reference);
 * 5. keep adults (age >= 18 at ICU admission).
 *
 * Age: MIMIC-III from the date of birth (shifted ages of 89+ patients read as 90 or more);
 * MIMIC-IV from `anchor_age` plus the years between `anchor_year` and the ICU admission (the
 * reference takes `anchor_age` alone).
 *
 * @module
 */

/** An ICU stay as read from `ICUSTAYS` / `icustays`. */
export interface IcuStayRecord {
  subjectId: string;
  hadmId: string;
  stayId: string;
  /** ICU admission, UTC ms. */
  intime: number;
  /** ICU discharge, UTC ms. */
  outtime: number;
  /** Length of stay in hours (from the `LOS` column, else out - in). */
  losHours: number;
  firstCareunit: string;
  lastCareunit: string;
  /** "" when the release has no ward ids (MIMIC-IV). */
  firstWardid: string;
  lastWardid: string;
}

/** A hospital admission. */
export interface AdmissionRecord {
  subjectId: string;
  hadmId: string;
  admittime: number;
  dischtime: number;
  /** NaN when the patient did not die during the admission. */
  deathtime: number;
  /** `EMERGENCY`, `ELECTIVE`, `URGENT`, ...; "" when the table has no such column. */
  admissionType?: string;
}

/** A patient. */
export interface PatientRecord {
  subjectId: string;
  gender: string;
  /** Date of birth (MIMIC-III), NaN when absent. */
  dob: number;
  /** Date of death, NaN when absent. */
  dod: number;
  /** MIMIC-IV anchor age and year (NaN in MIMIC-III). */
  anchorAge: number;
  anchorYear: number;
}

/** A stay of the final cohort with everything the labels need. */
export interface CohortStay extends IcuStayRecord {
  gender: string;
  /** Age in years at ICU admission (de-identified ages above 89 read as 90 or more). */
  age: number;
  /** The admission's type ("" when unknown). */
  admissionType: string;
  admittime: number;
  dischtime: number;
  deathtime: number;
  /** Died during the hospital admission. */
  mortalityInHospital: 0 | 1;
  /** Died during the ICU stay. */
  mortalityInUnit: 0 | 1;
  /** 1 readmitted or died within 30 days after discharge (or died in the ward), 0 not, null excluded (died in the ICU). */
  readmission: 0 | 1 | null;
  /** 1-based episode number among the subject's cohort stays in ICU admission order. */
  episode: number;
}

/** Counts of stays, admissions and subjects after each cohort step. */
export interface CohortFunnel {
  step: string;
  stays: number;
  admissions: number;
  subjects: number;
}

/** Options for {@linkcode buildCohort}. */
export interface CohortOptions {
  /**
   * In-hospital mortality rule: `"mimic-iii"` (mimic3-benchmarks: date of death or death time
   * within the admission) or `"mimic-iv"` (FlexCare: death time within the admission).
   * @default {"mimic-iii"}
   */
  mortalityRule?: "mimic-iii" | "mimic-iv";
  /**
   * Minimum age in years.
   * @default {18}
   */
  minAge?: number;
}

const DAY_MS = 24 * 3600 * 1000;
const YEAR_MS = 365 * DAY_MS;

function funnel(
  step: string,
  stays: readonly { hadmId: string; subjectId: string }[],
): CohortFunnel {
  return {
    step,
    stays: stays.length,
    admissions: new Set(stays.map((s) => s.hadmId)).size,
    subjects: new Set(stays.map((s) => s.subjectId)).size,
  };
}

const within = (t: number, a: number, b: number) => !Number.isNaN(t) && a <= t && t <= b;

/**
 * Builds the cohort.
 *
 * @example One adult stay
 * ```ts
 * import { buildCohort } from "./cohort.ts";
 * const t = (s: string) => Date.parse(s + "Z");
 * const { stays } = buildCohort(
 *   [{ subjectId: "1", hadmId: "10", stayId: "100", intime: t("2100-01-01T10:00"), outtime: t("2100-01-03T10:00"), losHours: 48, firstCareunit: "MICU", lastCareunit: "MICU", firstWardid: "5", lastWardid: "5" }],
 *   [{ subjectId: "1", hadmId: "10", admittime: t("2100-01-01T08:00"), dischtime: t("2100-01-05T08:00"), deathtime: NaN }],
 *   [{ subjectId: "1", gender: "F", dob: t("2040-01-01T00:00"), dod: NaN, anchorAge: NaN, anchorYear: NaN }],
 * );
 * if (stays.length !== 1 || stays[0]!.readmission !== 0 || stays[0]!.episode !== 1) throw new Error();
 * ```
 */
export function buildCohort(
  icustays: readonly IcuStayRecord[],
  admissions: readonly AdmissionRecord[],
  patients: readonly PatientRecord[],
  options: CohortOptions = {},
): { stays: CohortStay[]; funnel: CohortFunnel[] } {
  const rule = options.mortalityRule ?? "mimic-iii";
  const minAge = options.minAge ?? 18;
  const steps: CohortFunnel[] = [funnel("all ICU stays", icustays)];
  let stays = icustays.filter((s) =>
    s.firstCareunit === s.lastCareunit &&
    (s.firstWardid === "" || s.lastWardid === "" || s.firstWardid === s.lastWardid)
  );
  steps.push(funnel("no transfers between ICU units or wards", stays));
  const admissionBy = new Map(admissions.map((a) => [`${a.subjectId}/${a.hadmId}`, a]));
  const patientBy = new Map(patients.map((p) => [p.subjectId, p]));
  stays = stays.filter((s) =>
    admissionBy.has(`${s.subjectId}/${s.hadmId}`) && patientBy.has(s.subjectId)
  );
  const perAdmission = new Map<string, number>();
  for (const s of stays) perAdmission.set(s.hadmId, (perAdmission.get(s.hadmId) ?? 0) + 1);
  stays = stays.filter((s) => perAdmission.get(s.hadmId) === 1);
  steps.push(funnel("one ICU stay per admission", stays));

  const full = stays.map((s) => {
    const a = admissionBy.get(`${s.subjectId}/${s.hadmId}`)!;
    const p = patientBy.get(s.subjectId)!;
    let age: number;
    if (!Number.isNaN(p.anchorAge)) {
      age = p.anchorAge + (new Date(s.intime).getUTCFullYear() - p.anchorYear);
    } else {
      age = (s.intime - p.dob) / YEAR_MS;
      if (age < 0) age = 90;
    }
    const deathInAdmission = within(a.deathtime, a.admittime, a.dischtime);
    const inHospital = rule === "mimic-iv"
      ? deathInAdmission
      : deathInAdmission || within(p.dod, a.admittime, a.dischtime);
    const inUnit = within(p.dod, s.intime, s.outtime) || within(a.deathtime, s.intime, s.outtime);
    return {
      ...s,
      gender: p.gender,
      age,
      admissionType: a.admissionType ?? "",
      admittime: a.admittime,
      dischtime: a.dischtime,
      deathtime: a.deathtime,
      dod: p.dod,
      mortalityInHospital: (inHospital ? 1 : 0) as 0 | 1,
      mortalityInUnit: (inUnit ? 1 : 0) as 0 | 1,
      readmission: 0 as 0 | 1 | null,
      episode: 0,
    };
  });

  // Readmission (FlexCare add_readmission_to_icustays), over the stays before the age filter.
  const bySubject = new Map<string, typeof full>();
  for (const s of full) {
    const list = bySubject.get(s.subjectId) ?? [];
    list.push(s);
    bySubject.set(s.subjectId, list);
  }
  for (const list of bySubject.values()) {
    list.sort((x, y) => x.admittime - y.admittime);
    list.forEach((s, i) => {
      const died = !Number.isNaN(s.dod) || !Number.isNaN(s.deathtime);
      const next = list[i + 1];
      const dieInWard = died && s.mortalityInHospital === 1 && s.mortalityInUnit === 0;
      const backWithin30 = next !== undefined && next.admittime - s.dischtime < 30 * DAY_MS;
      const dieWithin30 = died && s.mortalityInHospital === 0 && s.mortalityInUnit === 0 &&
        !Number.isNaN(s.dod) && s.dod - s.dischtime < 30 * DAY_MS;
      s.readmission = dieInWard || backWithin30 || dieWithin30 ? 1 : 0;
      if (died && s.mortalityInHospital === 1 && s.mortalityInUnit === 1) s.readmission = null;
    });
  }

  const adults = full.filter((s) => s.age >= minAge);
  steps.push(funnel(`adults (age >= ${minAge})`, adults));
  const ordered = new Map<string, typeof adults>();
  for (const s of adults) {
    const list = ordered.get(s.subjectId) ?? [];
    list.push(s);
    ordered.set(s.subjectId, list);
  }
  for (const list of ordered.values()) {
    list.sort((x, y) => x.intime - y.intime || x.outtime - y.outtime);
    list.forEach((s, i) => (s.episode = i + 1));
  }
  const result: CohortStay[] = adults.map(({ dod: _dod, ...rest }) => rest);
  result.sort((x, y) =>
    Number(x.subjectId) - Number(y.subjectId) || x.intime - y.intime ||
    x.stayId.localeCompare(y.stayId)
  );
  return { stays: result, funnel: steps };
}
