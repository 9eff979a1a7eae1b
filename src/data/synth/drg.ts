/**
 * Diagnosis-related groups of the synthetic cohort: 32 MS-DRG-like classes (the listfile
 * carries the class index) decided by the admission reason, the severity, mechanical
 * ventilation and the outcome, so frequencies are skewed like real DRG distributions.
 *
 * @module
 */
import type { ReasonKey } from "./conditions.ts";
import type { Prng } from "./prng.ts";

/** The DRG class names, in class-index order. */
export const DRG_CLASSES: readonly string[] = Object.freeze([
  "Septicemia or severe sepsis w MV >96 hours",
  "Septicemia or severe sepsis w/o MV >96 hours w MCC",
  "Septicemia or severe sepsis w/o MV >96 hours w/o MCC",
  "Simple pneumonia and pleurisy w MCC",
  "Simple pneumonia and pleurisy w CC",
  "Respiratory system diagnosis w ventilator support >96 hours",
  "Respiratory system diagnosis w ventilator support <=96 hours",
  "Pulmonary edema and respiratory failure",
  "Chronic obstructive pulmonary disease w MCC",
  "Chronic obstructive pulmonary disease w CC",
  "Coronary bypass w cardiac cath w MCC",
  "Coronary bypass w/o cardiac cath w/o MCC",
  "Cardiac valve and other major cardiothoracic procedures w/o cardiac cath",
  "Acute myocardial infarction discharged alive w MCC",
  "Acute myocardial infarction expired w MCC",
  "Percutaneous cardiovascular procedures w drug-eluting stent w MCC",
  "Heart failure and shock w MCC",
  "Heart failure and shock w CC",
  "Intracranial hemorrhage or cerebral infarction w MCC",
  "Intracranial hemorrhage or cerebral infarction w CC or tPA in 24 hrs",
  "Craniotomy and endovascular intracranial procedures w MCC",
  "GI hemorrhage w MCC",
  "GI hemorrhage w CC",
  "Cardiac arrhythmia and conduction disorders w MCC",
  "Cardiac arrhythmia and conduction disorders w CC",
  "Disorders of liver except malignancy cirrhosis or alcoholic hepatitis w MCC",
  "Diabetes w MCC",
  "Renal failure w MCC",
  "Major small and large bowel procedures w MCC",
  "Other multiple significant trauma w MCC",
  "Poisoning and toxic effects of drugs w MCC",
  "ECMO or tracheostomy w MV >96 hours",
]);

/** What the DRG grouper looks at. */
export interface DrgInput {
  /** The admission reason. */
  readonly reason: ReasonKey;
  /** Surgical admissions: bowel surgery or trauma. */
  readonly surgeryKind: "bowel" | "trauma";
  /** Latent severity. */
  readonly severity: number;
  /** Hours of mechanical ventilation (0 when none). */
  readonly ventHours: number;
  /** Died in hospital. */
  readonly died: boolean;
  /** Whether an organ failure (shock, renal failure) counts as a major complication. */
  readonly organFailure: boolean;
  /** ICU length of stay in hours. */
  readonly losHours: number;
}

function idx(name: string): number {
  const i = DRG_CLASSES.indexOf(name);
  if (i < 0) throw new Error(`Unknown DRG "${name}"`);
  return i;
}

/**
 * The DRG class index of a stay. A procedure choice that the latent state does not decide
 * (stent or not, valve or bypass, craniotomy or not) is drawn from `prng`.
 *
 * @example A long ventilated stay gets a tracheostomy DRG
 * ```ts
 * import { assignDrg, DRG_CLASSES } from "./drg.ts";
 * import { createPrng } from "./prng.ts";
 * const drg = assignDrg({ reason: "pneumonia", surgeryKind: "bowel", severity: 1, ventHours: 400,
 *   died: false, organFailure: false, losHours: 500 }, createPrng(1));
 * if (DRG_CLASSES[drg] !== "ECMO or tracheostomy w MV >96 hours") throw new Error();
 * ```
 */
export function assignDrg(input: DrgInput, prng: Prng): number {
  const { reason, severity, ventHours, died, organFailure } = input;
  const mcc = severity > 0.3 || organFailure;
  if (ventHours > 96 && input.losHours > 14 * 24 && reason !== "cabg") {
    return idx("ECMO or tracheostomy w MV >96 hours");
  }
  switch (reason) {
    case "sepsis":
      if (ventHours > 96) return idx("Septicemia or severe sepsis w MV >96 hours");
      return idx(`Septicemia or severe sepsis w/o MV >96 hours ${mcc ? "w MCC" : "w/o MCC"}`);
    case "pneumonia":
      return idx(`Simple pneumonia and pleurisy ${mcc ? "w MCC" : "w CC"}`);
    case "respFailure":
      if (ventHours > 96) return idx("Respiratory system diagnosis w ventilator support >96 hours");
      if (ventHours > 0) return idx("Respiratory system diagnosis w ventilator support <=96 hours");
      return idx("Pulmonary edema and respiratory failure");
    case "copd":
      return idx(`Chronic obstructive pulmonary disease ${mcc ? "w MCC" : "w CC"}`);
    case "cabg":
      if (severity > 0) return idx("Coronary bypass w cardiac cath w MCC");
      return prng.chance(0.6)
        ? idx("Coronary bypass w/o cardiac cath w/o MCC")
        : idx("Cardiac valve and other major cardiothoracic procedures w/o cardiac cath");
    case "ami":
      if (died) return idx("Acute myocardial infarction expired w MCC");
      return prng.chance(0.5)
        ? idx("Percutaneous cardiovascular procedures w drug-eluting stent w MCC")
        : idx("Acute myocardial infarction discharged alive w MCC");
    case "chf":
      return idx(`Heart failure and shock ${mcc ? "w MCC" : "w CC"}`);
    case "stroke":
      if (prng.chance(0.25)) {
        return idx("Craniotomy and endovascular intracranial procedures w MCC");
      }
      return idx(
        `Intracranial hemorrhage or cerebral infarction ${mcc ? "w MCC" : "w CC or tPA in 24 hrs"}`,
      );
    case "gib":
      return idx(`GI hemorrhage ${mcc ? "w MCC" : "w CC"}`);
    case "arrhythmia":
      return idx(`Cardiac arrhythmia and conduction disorders ${mcc ? "w MCC" : "w CC"}`);
    case "liver":
      return idx("Disorders of liver except malignancy cirrhosis or alcoholic hepatitis w MCC");
    case "dka":
      return idx("Diabetes w MCC");
    case "renal":
      return idx("Renal failure w MCC");
    case "surgery":
      return input.surgeryKind === "bowel"
        ? idx("Major small and large bowel procedures w MCC")
        : idx("Other multiple significant trauma w MCC");
    case "overdose":
      return idx("Poisoning and toxic effects of drugs w MCC");
  }
}
