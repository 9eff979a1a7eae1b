/**
 * The clinical vocabulary of the synthetic cohort: the 25 phenotypes (by index into
 * `PHENOTYPE_LABELS`), how often chronic ones occur and which latent risk factors drive them,
 * and the admission reasons that decide the acute phenotypes, the severity and the DRG family.
 *
 * @module
 */
import { PHENOTYPE_LABELS } from "../tasks.ts";

/** Short keys for the 25 phenotypes, in `PHENOTYPE_LABELS` order. */
export const PHENOTYPE_KEYS = [
  "arf",
  "stroke",
  "ami",
  "dysrhythmia",
  "ckd",
  "copd",
  "complication",
  "conduction",
  "chf",
  "cad",
  "dmComplicated",
  "dm",
  "lipid",
  "htn",
  "fluid",
  "gib",
  "htnComplicated",
  "liver",
  "lowerResp",
  "upperResp",
  "pleural",
  "pneumonia",
  "respFailure",
  "sepsis",
  "shock",
] as const;

/** One phenotype key. */
export type PhenotypeKey = typeof PHENOTYPE_KEYS[number];

if (PHENOTYPE_KEYS.length !== PHENOTYPE_LABELS.length) {
  throw new Error("PHENOTYPE_KEYS must match PHENOTYPE_LABELS");
}

/**
 * The index of a phenotype key in `PHENOTYPE_LABELS`.
 *
 * @example Shock is the last label
 * ```ts
 * import { phenotypeIndex } from "./conditions.ts";
 * if (phenotypeIndex("shock") !== 24) throw new Error();
 * ```
 */
export function phenotypeIndex(key: PhenotypeKey): number {
  return PHENOTYPE_KEYS.indexOf(key);
}

/** Latent chronic risk factors of a subject (standard normal each). */
export interface RiskFactors {
  /** Cardiovascular risk (hypertension, coronary disease, heart failure, arrhythmia). */
  readonly cardiac: number;
  /** Metabolic risk (diabetes, lipids). */
  readonly metabolic: number;
  /** Pulmonary risk (COPD, asthma). */
  readonly pulmonary: number;
  /** Renal risk (chronic kidney disease). */
  readonly renal: number;
  /** Hepatic risk (liver disease). */
  readonly hepatic: number;
}

/** A chronic phenotype: base prevalence and factor loadings (log-odds per unit). */
export interface ChronicCondition {
  /** The phenotype. */
  readonly key: PhenotypeKey;
  /** Prevalence at average risk. */
  readonly prevalence: number;
  /** Log-odds added per unit of each risk factor (and per 16 years of age above 64). */
  readonly loadings: Partial<Record<keyof RiskFactors | "age", number>>;
}

/** Chronic phenotypes, decided once per subject (prevalences near the MIMIC benchmark's). */
export const CHRONIC_CONDITIONS: readonly ChronicCondition[] = Object.freeze([
  { key: "htn", prevalence: 0.4, loadings: { cardiac: 0.5, age: 0.6 } },
  { key: "htnComplicated", prevalence: 0.07, loadings: { renal: 0.9, cardiac: 0.5 } },
  { key: "lipid", prevalence: 0.3, loadings: { cardiac: 0.7, metabolic: 0.5, age: 0.4 } },
  { key: "cad", prevalence: 0.17, loadings: { cardiac: 1.1, age: 0.6 } },
  { key: "chf", prevalence: 0.12, loadings: { cardiac: 1.1, age: 0.5 } },
  { key: "dysrhythmia", prevalence: 0.17, loadings: { cardiac: 0.8, age: 0.7 } },
  { key: "conduction", prevalence: 0.035, loadings: { cardiac: 0.6, age: 0.5 } },
  { key: "dm", prevalence: 0.16, loadings: { metabolic: 1.2 } },
  { key: "dmComplicated", prevalence: 0.06, loadings: { metabolic: 1.4, renal: 0.5 } },
  { key: "ckd", prevalence: 0.08, loadings: { renal: 1.2, age: 0.5 } },
  { key: "copd", prevalence: 0.06, loadings: { pulmonary: 1.3, age: 0.4 } },
  { key: "liver", prevalence: 0.025, loadings: { hepatic: 1.2 } },
  { key: "lowerResp", prevalence: 0.04, loadings: { pulmonary: 0.8 } },
  { key: "upperResp", prevalence: 0.03, loadings: { pulmonary: 0.5 } },
]);

/** Keys of the admission reasons (the dominant condition of a stay). */
export type ReasonKey =
  | "sepsis"
  | "pneumonia"
  | "respFailure"
  | "copd"
  | "cabg"
  | "ami"
  | "chf"
  | "stroke"
  | "gib"
  | "arrhythmia"
  | "liver"
  | "dka"
  | "renal"
  | "surgery"
  | "overdose";

/** An admission reason: how common, which phenotypes it brings, how sick and how ventilated. */
export interface AdmissionReason {
  /** The reason's key. */
  readonly key: ReasonKey;
  /** Relative frequency among ICU admissions. */
  readonly weight: number;
  /** Probability of each acute phenotype this reason brings (1 = always). */
  readonly phenotypes: Partial<Record<PhenotypeKey, number>>;
  /** Shift of the latent severity (standard deviations). */
  readonly severity: number;
  /** Shift of the log-odds of mechanical ventilation. */
  readonly ventilation: number;
  /** Neurological impairment at baseline (0 none .. 1 unresponsive), lowers GCS. */
  readonly neuro: number;
}

/** The admission reasons with their frequencies. */
export const ADMISSION_REASONS: readonly AdmissionReason[] = Object.freeze([
  {
    key: "sepsis",
    weight: 0.13,
    phenotypes: { sepsis: 1, shock: 0.45, arf: 0.45, fluid: 0.5, respFailure: 0.3, pneumonia: 0.2 },
    severity: 0.7,
    ventilation: 0.6,
    neuro: 0.15,
  },
  {
    key: "pneumonia",
    weight: 0.09,
    phenotypes: { pneumonia: 1, respFailure: 0.35, sepsis: 0.2, fluid: 0.3, pleural: 0.15 },
    severity: 0.3,
    ventilation: 0.8,
    neuro: 0.05,
  },
  {
    key: "respFailure",
    weight: 0.06,
    phenotypes: { respFailure: 1, pneumonia: 0.3, fluid: 0.25, lowerResp: 0.2 },
    severity: 0.6,
    ventilation: 2.5,
    neuro: 0.1,
  },
  {
    key: "copd",
    weight: 0.04,
    phenotypes: { copd: 1, respFailure: 0.35, lowerResp: 0.2 },
    severity: 0,
    ventilation: 0.5,
    neuro: 0.05,
  },
  {
    key: "cabg",
    weight: 0.11,
    phenotypes: { cad: 1, complication: 0.5, dysrhythmia: 0.45, conduction: 0.15, pleural: 0.2 },
    severity: -0.5,
    ventilation: -0.5,
    neuro: 0,
  },
  {
    key: "ami",
    weight: 0.07,
    phenotypes: { ami: 1, cad: 0.9, chf: 0.3, dysrhythmia: 0.35 },
    severity: 0.2,
    ventilation: -0.5,
    neuro: 0,
  },
  {
    key: "chf",
    weight: 0.08,
    phenotypes: { chf: 1, dysrhythmia: 0.5, arf: 0.3, fluid: 0.35, htnComplicated: 0.3 },
    severity: 0.2,
    ventilation: -0.3,
    neuro: 0,
  },
  {
    key: "stroke",
    weight: 0.09,
    phenotypes: { stroke: 1, htn: 0.4 },
    severity: 0.3,
    ventilation: 0,
    neuro: 0.45,
  },
  {
    key: "gib",
    weight: 0.06,
    phenotypes: { gib: 1, liver: 0.25, fluid: 0.35, shock: 0.1 },
    severity: 0,
    ventilation: -0.8,
    neuro: 0,
  },
  {
    key: "arrhythmia",
    weight: 0.05,
    phenotypes: { dysrhythmia: 1, conduction: 0.35 },
    severity: -0.3,
    ventilation: -1.5,
    neuro: 0,
  },
  {
    key: "liver",
    weight: 0.03,
    phenotypes: { liver: 1, gib: 0.3, arf: 0.35, fluid: 0.4 },
    severity: 0.5,
    ventilation: -0.3,
    neuro: 0.25,
  },
  {
    key: "dka",
    weight: 0.04,
    phenotypes: { dmComplicated: 1, fluid: 0.8, arf: 0.3 },
    severity: -0.1,
    ventilation: -1.5,
    neuro: 0.1,
  },
  {
    key: "renal",
    weight: 0.03,
    phenotypes: { arf: 1, fluid: 0.6, ckd: 0.4 },
    severity: 0.2,
    ventilation: -1,
    neuro: 0.05,
  },
  {
    key: "surgery",
    weight: 0.08,
    phenotypes: { complication: 0.7, pleural: 0.15, fluid: 0.3, arf: 0.1 },
    severity: -0.2,
    ventilation: 0,
    neuro: 0,
  },
  {
    key: "overdose",
    weight: 0.04,
    phenotypes: { respFailure: 0.3, fluid: 0.3 },
    severity: -0.2,
    ventilation: 0.5,
    neuro: 0.5,
  },
]);

/**
 * Looks up an admission reason by key.
 *
 * @example Look up a reason
 * ```ts
 * import { admissionReason } from "./conditions.ts";
 * if (admissionReason("sepsis").phenotypes.sepsis !== 1) throw new Error();
 * ```
 */
export function admissionReason(key: ReasonKey): AdmissionReason {
  const reason = ADMISSION_REASONS.find((r) => r.key === key);
  if (reason === undefined) throw new RangeError(`Unknown admission reason "${key}"`);
  return reason;
}
