/**
 * The latent state of a synthetic patient and ICU stay: chronic risk factors and conditions,
 * the admission reason, severity, ventilation, length of stay, outcome and the clinical course
 * (how deranged the physiology is at each hour). Every label and every observation of the
 * synthetic cohort follows from this state.
 *
 * @module
 */
import {
  ADMISSION_REASONS,
  CHRONIC_CONDITIONS,
  phenotypeIndex,
  type PhenotypeKey,
  type ReasonKey,
  type RiskFactors,
} from "./conditions.ts";
import { assignDrg } from "./drg.ts";
import type { Prng } from "./prng.ts";

/** A synthetic patient. */
export interface SyntheticSubject {
  /** Subject id. */
  readonly subjectId: number;
  /** Sex. */
  readonly sex: "F" | "M";
  /** Age at the first stay (years). */
  readonly age: number;
  /** Latent chronic risk factors. */
  readonly factors: RiskFactors;
  /** Chronic conditions (present at every stay). */
  readonly chronic: ReadonlySet<PhenotypeKey>;
}

/** How deranged the physiology is over time (see {@linkcode deterioration}). */
export interface ClinicalCourse {
  /** Derangement at admission, 0..1, resolving with `recoveryHours`. */
  readonly acuity: number;
  /** Time constant of recovery from the admission derangement. */
  readonly recoveryHours: number;
  /** Hours since ICU admission of death, or null for survivors. */
  readonly deathHours: number | null;
  /** Hours over which the physiology fails before death. */
  readonly terminalHours: number;
  /** A transient mid-stay setback (centre hour), or null. */
  readonly setbackAt: number | null;
  /** Height of the setback, 0..1. */
  readonly setbackSize: number;
  /**
   * For patients who will die: a sustained derangement from admission (0..1) fading over
   * about ten days, so that the first 48 hours carry a mortality signal; 0 for survivors.
   */
  readonly earlyFailure: number;
}

/** A synthetic ICU stay. */
export interface SyntheticStay {
  /** The patient. */
  readonly subject: SyntheticSubject;
  /** Stay id. */
  readonly stayId: number;
  /** Episode number within the subject (1-based). */
  readonly episode: number;
  /** Age at this stay. */
  readonly age: number;
  /** The admission reason (the dominant condition). */
  readonly reason: ReasonKey;
  /** For surgical admissions: bowel surgery or trauma. */
  readonly surgeryKind: "bowel" | "trauma";
  /** 0/1 per phenotype, in `PHENOTYPE_LABELS` order. */
  readonly phenotypes: readonly number[];
  /** Latent severity (standard deviations; higher is sicker). */
  readonly severity: number;
  /** Hours of mechanical ventilation from admission (0 when none). */
  readonly ventHours: number;
  /** ICU length of stay in hours. */
  readonly losHours: number;
  /** Died in hospital (in the ICU or after transfer). */
  readonly died: boolean;
  /** How the physiology evolves. */
  readonly course: ClinicalCourse;
  /** Readmitted within 30 days of discharge (false when died). */
  readonly readmitted: boolean;
  /** DRG class index. */
  readonly drg: number;
  /** Whether a discharge summary exists. */
  readonly hasNote: boolean;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const logit = (p: number): number => Math.log(p / (1 - p));

/**
 * Physiological derangement at `hours` after ICU admission, 0 (stable) to 1 (failing):
 * the admission derangement resolving, a transient setback, and for patients who die a
 * sustained early derangement (`earlyFailure`) and a logistic decline over the last
 * `terminalHours` before death.
 *
 * @example A dying patient fails near death
 * ```ts
 * import { deterioration } from "./stay.ts";
 * const course = { acuity: 0.2, recoveryHours: 24, deathHours: 60, terminalHours: 24, setbackAt: null, setbackSize: 0, earlyFailure: 0 };
 * if (!(deterioration(course, 59) > 0.8 && deterioration(course, 20) < 0.3)) throw new Error();
 * ```
 */
export function deterioration(course: ClinicalCourse, hours: number): number {
  let d = course.acuity * Math.exp(-Math.max(0, hours) / course.recoveryHours);
  d += course.earlyFailure * Math.exp(-Math.max(0, hours) / 240);
  if (course.setbackAt !== null) {
    const z = (hours - course.setbackAt) / 8;
    d += course.setbackSize * Math.exp(-0.5 * z * z);
  }
  if (course.deathHours !== null) {
    const mid = course.deathHours - course.terminalHours / 2;
    d += sigmoid((hours - mid) / (course.terminalHours / 6));
  }
  return Math.min(1, d);
}

/**
 * Draws a patient: sex, age, chronic risk factors and chronic conditions.
 *
 * @example A plausible adult
 * ```ts
 * import { sampleSubject } from "./stay.ts";
 * import { createPrng } from "./prng.ts";
 * const s = sampleSubject(10000001, createPrng(3));
 * if (s.age < 18 || s.age > 95) throw new Error();
 * ```
 */
export function sampleSubject(subjectId: number, prng: Prng): SyntheticSubject {
  const sex = prng.chance(0.44) ? "F" : "M";
  const age = Math.round(Math.min(95, Math.max(18, prng.normal(64, 16))));
  const ageZ = (age - 64) / 16;
  const factors: RiskFactors = {
    cardiac: prng.normal() + 0.4 * ageZ,
    metabolic: prng.normal(),
    pulmonary: prng.normal(),
    renal: prng.normal() + 0.3 * ageZ,
    hepatic: prng.normal(),
  };
  const chronic = new Set<PhenotypeKey>();
  for (const condition of CHRONIC_CONDITIONS) {
    let z = logit(condition.prevalence);
    for (const [name, weight] of Object.entries(condition.loadings)) {
      z += weight * (name === "age" ? ageZ : factors[name as keyof RiskFactors]);
    }
    if (prng.chance(sigmoid(z))) chronic.add(condition.key);
  }
  if (chronic.has("dmComplicated")) chronic.delete("dm");
  if (chronic.has("htnComplicated")) chronic.delete("htn");
  return { subjectId, sex, age, factors, chronic };
}

/** Options for {@linkcode sampleStay}. */
export interface SampleStayOptions {
  /** Stay id. */
  stayId: number;
  /** Episode number within the subject (1-based). */
  episode: number;
  /** Age at this stay. */
  age: number;
  /**
   * Probability that the stay has no discharge summary.
   * @default {0.08}
   */
  noteMissing?: number;
}

const CHRONIC_BURDEN: readonly PhenotypeKey[] = ["chf", "ckd", "copd", "liver", "dmComplicated"];

/**
 * Draws one ICU stay of a subject: reason, acute phenotypes, severity, ventilation, length of
 * stay, outcome, course, readmission and DRG.
 *
 * @example A stay of a subject
 * ```ts
 * import { sampleStay, sampleSubject } from "./stay.ts";
 * import { createPrng } from "./prng.ts";
 * const prng = createPrng(5);
 * const subject = sampleSubject(1, prng);
 * const stay = sampleStay(subject, prng, { stayId: 2, episode: 1, age: subject.age });
 * if (stay.phenotypes.length !== 25 || stay.losHours < 6) throw new Error();
 * ```
 */
export function sampleStay(
  subject: SyntheticSubject,
  prng: Prng,
  options: SampleStayOptions,
): SyntheticStay {
  const reason = ADMISSION_REASONS[prng.weighted(ADMISSION_REASONS.map((r) => r.weight))]!;
  const surgeryKind = prng.chance(0.55) ? "bowel" : "trauma";
  const present = new Set<PhenotypeKey>(subject.chronic);
  let severity = prng.normal(0, 0.85) + reason.severity + 0.012 * (options.age - 64) +
    0.12 * (subject.chronic.size - 2.5);
  for (const [key, p] of Object.entries(reason.phenotypes)) {
    if (prng.chance(p)) present.add(key as PhenotypeKey);
  }
  if (severity > 0.8) {
    if (prng.chance(0.25)) present.add("arf");
    if (prng.chance(0.2)) present.add("respFailure");
    if (prng.chance(0.3)) present.add("fluid");
  }
  if (prng.chance(sigmoid(2.2 * (severity - 2.4)))) present.add("shock");
  if (prng.chance(0.06)) present.add("complication");
  if (prng.chance(0.06)) present.add("fluid");
  if (present.has("dmComplicated")) present.delete("dm");
  if (present.has("htnComplicated")) present.delete("htn");
  if (present.has("shock")) severity += 0.5;
  if (present.has("arf")) severity += 0.2;

  const ventilated = reason.key === "cabg" ||
    prng.chance(sigmoid(-1.4 + 1.1 * severity + reason.ventilation));
  let logLos = Math.log(reason.key === "cabg" ? 30 : 44) + 0.3 * severity + prng.normal(0, 0.75);
  if (ventilated && reason.key !== "cabg") logLos += 0.4;
  const losHours = Math.round(Math.min(720, Math.max(6, Math.exp(logLos))) * 60) / 60;
  const ventHours = !ventilated
    ? 0
    : reason.key === "cabg"
    ? prng.uniform(4, 14)
    : Math.min(losHours, Math.exp(prng.normal(Math.log(48) + 0.4 * severity, 0.8)));

  const died = prng.chance(sigmoid(-3.5 + 1.5 * severity));
  const diedInIcu = died && prng.chance(0.85);
  const deathHours = !died ? null : diedInIcu ? losHours : losHours + prng.uniform(12, 240);
  const course: ClinicalCourse = {
    acuity: Math.min(0.9, sigmoid(1.3 * severity - 0.6) * prng.uniform(0.5, 1)),
    recoveryHours: prng.uniform(12, 48),
    deathHours,
    terminalHours: prng.uniform(12, 48),
    setbackAt: prng.chance(0.25) ? prng.uniform(0, losHours) : null,
    setbackSize: prng.uniform(0.2, 0.5),
    // no random draw, so the rest of the cohort stays as it was
    earlyFailure: died ? Math.min(0.55, Math.max(0.15, 0.2 + 0.12 * severity)) : 0,
  };
  const burden = CHRONIC_BURDEN.filter((k) => present.has(k)).length;
  const readmitted = !died &&
    prng.chance(
      sigmoid(-2.6 + 0.45 * severity + 0.2 * (subject.chronic.size - 2.5) + 0.5 * burden),
    );
  const phenotypes = new Array<number>(25).fill(0);
  for (const key of present) phenotypes[phenotypeIndex(key)] = 1;
  const drg = assignDrg({
    reason: reason.key,
    surgeryKind,
    severity,
    ventHours,
    died,
    organFailure: present.has("shock") || present.has("arf"),
    losHours,
  }, prng);
  return {
    subject,
    stayId: options.stayId,
    episode: options.episode,
    age: options.age,
    reason: reason.key,
    surgeryKind,
    phenotypes,
    severity,
    ventHours,
    losHours,
    died,
    course,
    readmitted,
    drg,
    hasNote: !prng.chance(options.noteMissing ?? 0.08),
  };
}

/**
 * Whether a stay has a phenotype.
 *
 * @example Test a phenotype
 * ```ts
 * import { hasPhenotype, sampleStay, sampleSubject } from "./stay.ts";
 * import { createPrng } from "./prng.ts";
 * const prng = createPrng(6);
 * const subject = sampleSubject(1, prng);
 * const stay = sampleStay(subject, prng, { stayId: 1, episode: 1, age: subject.age });
 * if (hasPhenotype(stay, "sepsis") !== (stay.phenotypes[23] === 1)) throw new Error();
 * ```
 */
export function hasPhenotype(stay: SyntheticStay, key: PhenotypeKey): boolean {
  return stay.phenotypes[phenotypeIndex(key)] === 1;
}
