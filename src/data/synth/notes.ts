/**
 * Synthetic discharge summaries: a "Past Medical History" section that mentions the stay's
 * chronic (and some acute) phenotypes among unrelated conditions, and a "Brief Hospital Course"
 * section that tells the admission reason, procedures, complications and outcome (what decides
 * the DRG). Also the note normalization of the reference pipeline (lower case, punctuation and
 * line breaks removed, one line).
 *
 * @module
 */
import type { PhenotypeKey, ReasonKey } from "./conditions.ts";
import type { Prng } from "./prng.ts";
import { normalizeNoteText } from "../../features/notes/normalize.ts";
import { hasPhenotype, type SyntheticStay } from "./stay.ts";

/** Wraps a paragraph at about `width` characters, keeping each break's space at the line end. */
function wrap(text: string, width = 78): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line.length > 0 && line.length + word.length > width) {
      lines.push(line);
      line = "";
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines.join("\n");
}

/** Ways a past medical history mentions each phenotype (chronic ones most of the time). */
const HISTORY_PHRASES: Readonly<Partial<Record<PhenotypeKey, readonly string[]>>> = {
  htn: ["Hypertension", "HTN", "Essential hypertension on lisinopril"],
  htnComplicated: ["Hypertensive heart disease", "Hypertensive chronic kidney disease"],
  dm: ["Type 2 diabetes mellitus on metformin", "DM2 diet controlled", "Diabetes mellitus type II"],
  dmComplicated: [
    "Type 1 diabetes complicated by neuropathy and retinopathy",
    "Insulin dependent diabetes with nephropathy",
    "Diabetes mellitus with prior DKA admissions",
  ],
  lipid: ["Hyperlipidemia", "Hypercholesterolemia on statin", "Dyslipidemia"],
  cad: ["Coronary artery disease", "CAD s/p PCI to LAD", "CAD s/p CABG x3"],
  chf: ["Congestive heart failure (EF 25%)", "Systolic heart failure", "CHF on furosemide"],
  dysrhythmia: [
    "Atrial fibrillation on warfarin",
    "Paroxysmal atrial fibrillation",
    "History of VT",
  ],
  conduction: [
    "First degree AV block",
    "Right bundle branch block",
    "Sick sinus syndrome s/p pacemaker",
  ],
  ckd: ["Chronic kidney disease stage 3", "CKD (baseline creatinine 1.8)", "ESRD on hemodialysis"],
  copd: ["COPD on home oxygen 2L", "Chronic obstructive pulmonary disease", "Bronchiectasis"],
  liver: ["Cirrhosis (hepatitis C)", "Alcoholic liver disease", "Nonalcoholic steatohepatitis"],
  stroke: ["Prior stroke with residual left sided weakness", "History of TIA"],
  lowerResp: ["Asthma", "Obstructive sleep apnea on CPAP"],
  upperResp: ["Chronic sinusitis", "Allergic rhinitis"],
  gib: ["History of upper GI bleed", "Peptic ulcer disease"],
  ami: ["Prior myocardial infarction", "NSTEMI two years ago"],
  arf: ["Prior acute kidney injury"],
  fluid: ["Chronic hyponatremia", "Hypokalemia"],
  pneumonia: ["Recurrent pneumonia", "Aspiration pneumonia last year"],
  sepsis: ["Prior admission for urosepsis"],
  respFailure: ["Prior intubation for respiratory failure"],
  complication: ["Cholecystectomy complicated by wound infection"],
  pleural: ["Prior spontaneous pneumothorax"],
};

const CHRONIC_MENTION = new Set<PhenotypeKey>([
  "htn",
  "htnComplicated",
  "dm",
  "dmComplicated",
  "lipid",
  "cad",
  "chf",
  "dysrhythmia",
  "conduction",
  "ckd",
  "copd",
  "liver",
  "lowerResp",
  "upperResp",
]);

const UNRELATED = [
  "GERD",
  "Osteoarthritis",
  "Depression",
  "Hypothyroidism",
  "Benign prostatic hyperplasia",
  "Gout",
  "Anemia",
  "Anxiety",
  "Glaucoma",
  "s/p appendectomy",
  "s/p total knee replacement",
  "Osteoporosis",
  "Chronic low back pain",
  "Cataracts",
  "Migraine",
];

/**
 * The raw "Past Medical History" section text (without its header) of a stay.
 *
 * @example A history section
 * ```ts
 * import { pastMedicalHistory } from "./notes.ts";
 * import { sampleStay, sampleSubject } from "./stay.ts";
 * import { createPrng } from "./prng.ts";
 * const prng = createPrng(6);
 * const subject = sampleSubject(1, prng);
 * const stay = sampleStay(subject, prng, { stayId: 1, episode: 1, age: subject.age });
 * if (pastMedicalHistory(stay, prng.fork("pmh")).length === 0) throw new Error();
 * ```
 */
export function pastMedicalHistory(stay: SyntheticStay, prng: Prng): string {
  const items: string[] = [];
  for (const [key, phrases] of Object.entries(HISTORY_PHRASES)) {
    const k = key as PhenotypeKey;
    if (!hasPhenotype(stay, k)) continue;
    if (prng.chance(CHRONIC_MENTION.has(k) ? 0.88 : 0.3)) items.push(prng.pick(phrases!));
  }
  const extra = prng.int(0, 3);
  for (let i = 0; i < extra; i++) {
    const item = prng.pick(UNRELATED);
    if (!items.includes(item)) items.push(item);
  }
  prng.shuffle(items);
  if (items.length === 0) return "None.";
  // The three list styles of real summaries; numbered lines run together once line breaks are
  // removed ("1 htn2 cad"), as they do in the reference pipeline's notes.
  const style = prng.weighted([0.4, 0.3, 0.3]);
  if (style === 0) return items.map((item) => `- ${item}`).join("\n");
  if (style === 1) return items.map((item, i) => `${i + 1}. ${item}`).join("\n");
  return wrap(`${items.join(", ")}.`);
}

/** The story of each admission reason: presentation, then treatment. */
const COURSE: Readonly<Record<ReasonKey, readonly [string, string]>> = {
  sepsis: [
    "presented with fever, hypotension and altered mental status and was found to have sepsis from a {source} source",
    "Blood cultures were drawn and broad spectrum antibiotics (vancomycin and piperacillin-tazobactam) were started with aggressive fluid resuscitation.",
  ],
  pneumonia: [
    "presented with productive cough, fever and hypoxia; chest x-ray showed a {side} lower lobe consolidation consistent with pneumonia",
    "Treated with ceftriaxone and azithromycin for community acquired pneumonia with supplemental oxygen.",
  ],
  respFailure: [
    "presented with acute hypoxemic respiratory failure with worsening dyspnea",
    "Required escalating oxygen support and was managed with diuresis, bronchodilators and lung protective ventilation.",
  ],
  copd: [
    "presented with a COPD exacerbation with wheezing and increased sputum production",
    "Treated with nebulized albuterol and ipratropium, prednisone and a course of antibiotics; BiPAP was used overnight.",
  ],
  cabg: [
    "was admitted electively for coronary artery bypass grafting for multivessel coronary artery disease",
    "Underwent CABG and was transferred to the CVICU post-operatively; was extubated on the day of surgery and chest tubes were removed.",
  ],
  ami: [
    "presented with substernal chest pain and ST elevations concerning for acute myocardial infarction",
    "Taken emergently to the cardiac catheterization lab; was started on aspirin, a statin, a beta blocker and heparin.",
  ],
  chf: [
    "presented with dyspnea on exertion, orthopnea and lower extremity edema consistent with an acute on chronic systolic heart failure exacerbation",
    "Diuresed with intravenous furosemide with improvement in volume status; afterload reduction was optimized.",
  ],
  stroke: [
    "presented with acute onset {side} sided weakness and aphasia; head CT showed an acute cerebral infarction",
    "Neurology was consulted; blood pressure was managed and the patient was monitored with frequent neuro checks.",
  ],
  gib: [
    "presented with melena and hematemesis with a hemoglobin drop concerning for upper GI bleeding",
    "Transfused packed red blood cells, started on a pantoprazole drip and underwent EGD which showed a bleeding ulcer that was clipped.",
  ],
  arrhythmia: [
    "presented with palpitations and was found to be in atrial fibrillation with rapid ventricular response",
    "Rate controlled with diltiazem and metoprolol and anticoagulation was started.",
  ],
  liver: [
    "with cirrhosis presented with confusion, ascites and jaundice consistent with decompensated liver disease",
    "Treated with lactulose and rifaximin for hepatic encephalopathy; a diagnostic paracentesis was performed.",
  ],
  dka: [
    "presented with nausea, vomiting and polyuria and was found to be in diabetic ketoacidosis with an elevated anion gap",
    "Started on an insulin drip with fluid and potassium repletion until the anion gap closed, then transitioned to subcutaneous insulin.",
  ],
  renal: [
    "presented with oliguria and a rising creatinine consistent with acute kidney injury",
    "Renal was consulted; nephrotoxins were held and fluids were given, with hemodialysis initiated for hyperkalemia.",
  ],
  surgery: [
    "was admitted to the surgical ICU after {surgery}",
    "Post-operative course was monitored with pain control, early mobilization and serial examinations.",
  ],
  overdose: [
    "was found unresponsive after an intentional overdose of medications",
    "Toxicology was consulted; the patient was monitored on telemetry and psychiatry evaluated the patient once medically cleared.",
  ],
};

const COMPLICATION_SENTENCES: Readonly<Partial<Record<PhenotypeKey, string>>> = {
  shock: "Course was complicated by shock requiring norepinephrine and vasopressin.",
  arf:
    "Creatinine rose to {creatinine} consistent with acute kidney injury which improved with fluids.",
  respFailure: "Developed hypoxemic respiratory failure requiring increased oxygen support.",
  dysrhythmia: "Had episodes of atrial fibrillation treated with amiodarone.",
  fluid: "Electrolyte abnormalities including hyponatremia and hypokalemia were repleted.",
  pleural: "A chest tube was placed for a pleural effusion.",
  complication: "The post-operative course was complicated by a wound infection.",
};

/** The phenotype an admission reason already tells (no separate complication sentence). */
const OWN_PHENOTYPE: Readonly<Partial<Record<ReasonKey, PhenotypeKey>>> = {
  respFailure: "respFailure",
  arrhythmia: "dysrhythmia",
  renal: "arf",
  dka: "fluid",
};

/**
 * The raw "Brief Hospital Course" section text (without its header) of a stay.
 *
 * @example A course section
 * ```ts
 * import { briefHospitalCourse } from "./notes.ts";
 * import { sampleStay, sampleSubject } from "./stay.ts";
 * import { createPrng } from "./prng.ts";
 * const prng = createPrng(6);
 * const subject = sampleSubject(1, prng);
 * const stay = sampleStay(subject, prng, { stayId: 1, episode: 1, age: subject.age });
 * if (!briefHospitalCourse(stay, prng.fork("course")).includes(`${stay.age} year old`)) throw new Error();
 * ```
 */
export function briefHospitalCourse(stay: SyntheticStay, prng: Prng): string {
  const sex = stay.subject.sex === "F" ? "woman" : "man";
  const fill = (s: string) =>
    s.replace("{source}", prng.pick(["urinary", "pulmonary", "biliary", "line"]))
      .replace("{side}", prng.pick(["right", "left"]))
      .replace(
        "{surgery}",
        stay.surgeryKind === "bowel"
          ? "exploratory laparotomy with small bowel resection"
          : "a motor vehicle collision with multiple rib fractures and a liver laceration",
      )
      .replace("{creatinine}", (2 + prng.next() * 3).toFixed(1));
  const [presentation, treatment] = COURSE[stay.reason];
  const lines = [
    `${stay.age} year old ${sex} who ${fill(presentation)}. ${fill(treatment)}`,
  ];
  for (const [key, sentence] of Object.entries(COMPLICATION_SENTENCES)) {
    if (OWN_PHENOTYPE[stay.reason] === key) continue;
    if (hasPhenotype(stay, key as PhenotypeKey) && prng.chance(0.75)) lines.push(fill(sentence!));
  }
  if (stay.ventHours > 0 && stay.reason !== "cabg") {
    const days = Math.max(1, Math.round(stay.ventHours / 24));
    lines.push(
      stay.ventHours > 14 * 24
        ? `Remained intubated for ${days} days and underwent tracheostomy and PEG placement.`
        : `Was intubated for ${days} day${days > 1 ? "s" : ""} and then successfully extubated.`,
    );
  }
  if (stay.died) {
    lines.push(
      "Despite maximal therapy the patient continued to decline; after a family meeting the goals of care were changed to comfort measures only and the patient expired.",
    );
  } else {
    const days = Math.max(1, Math.round(stay.losHours / 24));
    lines.push(
      `Was transferred to the floor after ${days} day${
        days > 1 ? "s" : ""
      } in the ICU and was discharged ${
        prng.pick(["home", "home with services", "to rehab", "to a skilled nursing facility"])
      } in stable condition.`,
    );
  }
  return wrap(lines.join(" "));
}

/** A discharge summary with the two sections the tasks read. */
export interface DischargeSummary {
  /** The whole raw document. */
  readonly text: string;
  /** The normalized past medical history (what the ICU tasks' listfiles carry). */
  readonly pastMedicalHistory: string;
  /** The normalized brief hospital course (what the DRG listfile carries). */
  readonly briefHospitalCourse: string;
}

/**
 * Writes a raw discharge summary with the section headers "Past Medical History:", "Social
 * History:", "Brief Hospital Course:" and "Medications on Admission:", and returns it with
 * the normalized sections.
 *
 * @example A whole summary
 * ```ts
 * import { dischargeSummary } from "./notes.ts";
 * import { sampleStay, sampleSubject } from "./stay.ts";
 * import { createPrng } from "./prng.ts";
 * const prng = createPrng(4);
 * const subject = sampleSubject(1, prng);
 * const stay = sampleStay(subject, prng, { stayId: 1, episode: 1, age: subject.age });
 * const note = dischargeSummary(stay, prng);
 * if (!note.text.includes("Brief Hospital Course:") || note.briefHospitalCourse.includes(",")) throw new Error();
 * ```
 */
export function dischargeSummary(stay: SyntheticStay, prng: Prng): DischargeSummary {
  const pmh = pastMedicalHistory(stay, prng);
  const course = briefHospitalCourse(stay, prng);
  const smoking = prng.pick([
    "Never smoker.",
    "Former smoker, quit 10 years ago.",
    "Current smoker, 1 ppd.",
  ]);
  const alcohol = prng.pick(["Drinks socially.", "No alcohol use.", "Heavy alcohol use."]);
  const text = [
    "SYNTHETIC DISCHARGE SUMMARY (generated, no real patient)",
    "",
    "Past Medical History:",
    pmh,
    "",
    "Social History:",
    `${smoking} ${alcohol}`,
    "",
    "Brief Hospital Course:",
    course,
    "",
    "Medications on Admission:",
    prng.pick(["Aspirin 81 mg daily", "Metoprolol 25 mg twice daily", "None"]),
    "",
    "Discharge Disposition:",
    stay.died ? "Expired" : "Discharged",
    "",
  ].join("\n");
  return {
    text,
    pastMedicalHistory: normalizeNoteText(pmh),
    briefHospitalCourse: normalizeNoteText(course),
  };
}
