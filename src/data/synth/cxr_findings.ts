/**
 * CheXpert-style findings of a synthetic chest X-ray (the 14 `DIAGNOSIS_LABELS`), drawn from
 * the stay's state when the image is taken: pneumonia brings consolidation and opacities,
 * heart failure a large heart, edema and effusions, ventilation and cardiac surgery support
 * devices. Some findings are reported as uncertain (-1).
 *
 * @module
 */
import { DIAGNOSIS_LABELS } from "../tasks.ts";
import type { Prng } from "./prng.ts";
import { deterioration, hasPhenotype, type SyntheticStay } from "./stay.ts";

/** Findings label values: 1 present, 0 absent, -1 uncertain. */
export type FindingValue = 1 | 0 | -1;

function labelIndex(name: string): number {
  const i = DIAGNOSIS_LABELS.indexOf(name);
  if (i < 0) throw new Error(`Unknown finding "${name}"`);
  return i;
}

/** Short keys of the 14 findings. */
export type FindingKey =
  | "atelectasis"
  | "cardiomegaly"
  | "consolidation"
  | "edema"
  | "enlargedCardiomediastinum"
  | "fracture"
  | "lungLesion"
  | "lungOpacity"
  | "noFinding"
  | "pleuralEffusion"
  | "pleuralOther"
  | "pneumonia"
  | "pneumothorax"
  | "supportDevices";

/**
 * Index of each finding in `DIAGNOSIS_LABELS`.
 *
 * @example Cardiomegaly is the second label
 * ```ts
 * import { FINDING } from "./cxr_findings.ts";
 * if (FINDING.cardiomegaly !== 1) throw new Error();
 * ```
 */
export const FINDING: Readonly<Record<FindingKey, number>> = Object.freeze({
  atelectasis: labelIndex("Atelectasis"),
  cardiomegaly: labelIndex("Cardiomegaly"),
  consolidation: labelIndex("Consolidation"),
  edema: labelIndex("Edema"),
  enlargedCardiomediastinum: labelIndex("Enlarged Cardiomediastinum"),
  fracture: labelIndex("Fracture"),
  lungLesion: labelIndex("Lung Lesion"),
  lungOpacity: labelIndex("Lung Opacity"),
  noFinding: labelIndex("No Finding"),
  pleuralEffusion: labelIndex("Pleural Effusion"),
  pleuralOther: labelIndex("Pleural Other"),
  pneumonia: labelIndex("Pneumonia"),
  pneumothorax: labelIndex("Pneumothorax"),
  supportDevices: labelIndex("Support Devices"),
});

/** Options for {@linkcode sampleFindings}. */
export interface SampleFindingsOptions {
  /** Hours since ICU admission when the image is taken (negative: before admission). */
  hours: number;
}

/**
 * Draws the 14 findings of an image taken at `hours` after ICU admission (negative: before
 * admission).
 *
 * @example Exactly 14 values in {1, 0, -1}
 * ```ts
 * import { sampleFindings } from "./cxr_findings.ts";
 * import { sampleStay, sampleSubject } from "./stay.ts";
 * import { createPrng } from "./prng.ts";
 * const prng = createPrng(2);
 * const subject = sampleSubject(1, prng);
 * const stay = sampleStay(subject, prng, { stayId: 1, episode: 1, age: subject.age });
 * const f = sampleFindings(stay, prng, { hours: 5 });
 * if (f.length !== 14 || f.some((v) => v !== 1 && v !== 0 && v !== -1)) throw new Error();
 * ```
 */
export function sampleFindings(
  stay: SyntheticStay,
  prng: Prng,
  options: SampleFindingsOptions,
): FindingValue[] {
  const { hours } = options;
  const has = (k: Parameters<typeof hasPhenotype>[1]) => hasPhenotype(stay, k) ? 1 : 0;
  const d = hours < 0 ? stay.course.acuity : deterioration(stay.course, hours);
  const vented = hours >= 0 && hours < stay.ventHours;
  const surgical = stay.reason === "cabg" || stay.reason === "surgery";
  const trauma = stay.reason === "surgery" && stay.surgeryKind === "trauma";
  const p = new Array<number>(DIAGNOSIS_LABELS.length).fill(0);
  p[FINDING.supportDevices] = vented || stay.reason === "cabg" ? 0.92 : 0.12;
  p[FINDING.cardiomegaly] = has("chf") ? 0.7 : has("cad") ? 0.2 : 0.07;
  p[FINDING.edema] = Math.min(0.9, (has("chf") ? 0.45 : 0.04) + 0.3 * d);
  p[FINDING.pleuralEffusion] = has("pleural")
    ? 0.6
    : has("chf")
    ? 0.45
    : has("sepsis")
    ? 0.2
    : 0.08;
  p[FINDING.consolidation] = has("pneumonia") ? 0.55 : 0.03;
  p[FINDING.pneumonia] = has("pneumonia") ? 0.6 : has("sepsis") ? 0.12 : 0.02;
  p[FINDING.atelectasis] = surgical ? 0.45 : has("respFailure") ? 0.3 : 0.12;
  p[FINDING.pneumothorax] = has("pleural") ? 0.35 : trauma ? 0.12 : 0.01;
  p[FINDING.pleuralOther] = 0.02;
  p[FINDING.fracture] = trauma ? 0.35 : 0.02;
  p[FINDING.lungLesion] = 0.04;
  const values = p.map((pi) => (prng.chance(pi) ? 1 : 0) as FindingValue);
  if (values[FINDING.cardiomegaly] === 1 && prng.chance(0.3)) {
    values[FINDING.enlargedCardiomediastinum] = 1;
  } else if (prng.chance(stay.reason === "cabg" ? 0.25 : 0.03)) {
    values[FINDING.enlargedCardiomediastinum] = 1;
  }
  const opaque = values[FINDING.consolidation] === 1 || values[FINDING.pneumonia] === 1 ||
    values[FINDING.edema] === 1;
  const opacityP = opaque ? 0.75 : has("respFailure") ? 0.4 : 0.08;
  values[FINDING.lungOpacity] = prng.chance(opacityP) ? 1 : 0;
  // Uncertain mentions: some positives are hedged, a few negatives are "cannot exclude".
  for (let i = 0; i < values.length; i++) {
    if (i === FINDING.noFinding || i === FINDING.supportDevices) continue;
    if (values[i] === 1 && prng.chance(0.12)) values[i] = -1;
    else if (values[i] === 0 && prng.chance(0.02)) values[i] = -1;
  }
  const pathology = values.some((v, i) => i !== FINDING.supportDevices && v !== 0);
  values[FINDING.noFinding] = pathology ? 0 : 1;
  return values;
}
