/**
 * The task registry: every FlexCare task with its id (the reference code's task-embedding
 * index), dataset folder, kind, label columns and default prediction period. One place for
 * each decision about a task; the reader, the synthetic cohort, the importers, training and
 * serving all look tasks up here.
 *
 * @module
 */

/** How a task's labels are shaped and which loss/activation fits them. */
export type TaskKind = "binary" | "multilabel" | "multiclass";

/** Short task codes used on the command line and in the model manifest. */
export type TaskCode = "ihm" | "dec" | "phe" | "los" | "rea" | "dia" | "drg";

/** Static description of one task. */
export interface TaskInfo {
  /** Task-embedding index in the reference model (0-6). */
  readonly id: number;
  /** Short code. */
  readonly code: TaskCode;
  /** Dataset folder name in the reference layout. */
  readonly folder: string;
  /** Human-readable name. */
  readonly title: string;
  /** Label shape. */
  readonly kind: TaskKind;
  /**
   * Names of the label columns in the listfile (one column for binary, multi-class and DRG;
   * one per label for multi-label tasks).
   */
  readonly labelColumns: readonly string[];
  /**
   * Class names for multi-class tasks with a fixed class set (LOS); empty when the classes
   * come from the data (DRG) or the task is not multi-class.
   */
  readonly classNames: readonly string[];
  /**
   * Hours of time series the task reads when the listfile gives no time: 48 for IHM; `null`
   * when the whole episode (or the listfile time) is used.
   */
  readonly defaultPeriodHours: number | null;
}

/**
 * The 25 acute-care phenotypes (HCUP CCS groups flagged `use_in_benchmark`), in the
 * mimic3-benchmarks listfile order (sorted by name).
 */
export const PHENOTYPE_LABELS: readonly string[] = Object.freeze([
  "Acute and unspecified renal failure",
  "Acute cerebrovascular disease",
  "Acute myocardial infarction",
  "Cardiac dysrhythmias",
  "Chronic kidney disease",
  "Chronic obstructive pulmonary disease and bronchiectasis",
  "Complications of surgical procedures or medical care",
  "Conduction disorders",
  "Congestive heart failure; nonhypertensive",
  "Coronary atherosclerosis and other heart disease",
  "Diabetes mellitus with complications",
  "Diabetes mellitus without complication",
  "Disorders of lipid metabolism",
  "Essential hypertension",
  "Fluid and electrolyte disorders",
  "Gastrointestinal hemorrhage",
  "Hypertension with complications and secondary hypertension",
  "Other liver diseases",
  "Other lower respiratory disease",
  "Other upper respiratory disease",
  "Pleurisy; pneumothorax; pulmonary collapse",
  "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)",
  "Respiratory failure; insufficiency; arrest (adult)",
  "Septicemia (except in labor)",
  "Shock",
]);

/** The 14 CheXpert findings of MIMIC-CXR used by the diagnosis task, in column order. */
export const DIAGNOSIS_LABELS: readonly string[] = Object.freeze([
  "Atelectasis",
  "Cardiomegaly",
  "Consolidation",
  "Edema",
  "Enlarged Cardiomediastinum",
  "Fracture",
  "Lung Lesion",
  "Lung Opacity",
  "No Finding",
  "Pleural Effusion",
  "Pleural Other",
  "Pneumonia",
  "Pneumothorax",
  "Support Devices",
]);

/** Length-of-stay classes over remaining hours (see `../spec/data.md`). */
export const LOS_CLASSES: readonly string[] = Object.freeze([
  "<1 day",
  "1-2 days",
  "2-3 days",
  "3-4 days",
  "4-5 days",
  "5-6 days",
  "6-7 days",
  "7-8 days",
  "8-14 days",
  ">14 days",
]);

/**
 * The length-of-stay class for a number of remaining ICU hours: class i for
 * 24i <= h < 24(i+1) when i < 8, class 8 for 8-14 days, class 9 for 14 days or more.
 *
 * @example Classes at the edges
 * ```ts
 * import { losClass } from "./tasks.ts";
 * if (losClass(23.9) !== 0 || losClass(24) !== 1 || losClass(200) !== 8 || losClass(336) !== 9) {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function losClass(remainingHours: number): number {
  if (!Number.isFinite(remainingHours) || remainingHours < 0) {
    throw new RangeError(`Cannot classify remaining length of stay ${remainingHours} hours`);
  }
  const days = remainingHours / 24;
  if (days < 8) return Math.floor(days);
  if (days < 14) return 8;
  return 9;
}

const TASK_LIST: readonly TaskInfo[] = Object.freeze(
  [
    {
      id: 0,
      code: "ihm",
      folder: "in-hospital-mortality",
      title: "In-hospital mortality",
      kind: "binary",
      labelColumns: ["y_true"],
      classNames: [],
      defaultPeriodHours: 48,
    },
    {
      id: 1,
      code: "dec",
      folder: "decompensation",
      title: "Decompensation",
      kind: "binary",
      labelColumns: ["y_true"],
      classNames: [],
      defaultPeriodHours: null,
    },
    {
      id: 2,
      code: "phe",
      folder: "phenotyping",
      title: "Phenotyping",
      kind: "multilabel",
      labelColumns: PHENOTYPE_LABELS,
      classNames: [],
      defaultPeriodHours: null,
    },
    {
      id: 3,
      code: "los",
      folder: "length-of-stay",
      title: "Length of stay",
      kind: "multiclass",
      labelColumns: ["y_true"],
      classNames: LOS_CLASSES,
      defaultPeriodHours: null,
    },
    {
      id: 4,
      code: "rea",
      folder: "readmission",
      title: "Readmission",
      kind: "binary",
      labelColumns: ["y_true"],
      classNames: [],
      defaultPeriodHours: null,
    },
    {
      id: 5,
      code: "dia",
      folder: "diagnosis",
      title: "Diagnosis",
      kind: "multilabel",
      labelColumns: DIAGNOSIS_LABELS,
      classNames: [],
      defaultPeriodHours: null,
    },
    {
      id: 6,
      code: "drg",
      folder: "drg",
      title: "Diagnosis-related group",
      kind: "multiclass",
      labelColumns: ["y_true"],
      classNames: [],
      defaultPeriodHours: null,
    },
  ] satisfies TaskInfo[],
);

/** All built-in tasks in id order. */
export const TASKS: readonly TaskInfo[] = TASK_LIST;

/** The dataset split names, in order. */
export const SPLITS = ["train", "val", "test"] as const;

/** One of `train`, `val`, `test`. */
export type Split = typeof SPLITS[number];

/** The fixed columns that precede the labels in every multimodal listfile. */
export const LISTFILE_FIXED_COLUMNS: readonly string[] = Object.freeze([
  "subject_id",
  "stay_id",
  "stay",
  "period_length",
  "dicom_id",
  "note",
]);

/**
 * Looks a task up by code, folder name or numeric id.
 *
 * @example Find a task
 * ```ts
 * import { getTask } from "./tasks.ts";
 * if (getTask("decompensation").code !== "dec" || getTask("los").id !== 3) throw new Error();
 * ```
 */
export function getTask(key: string | number): TaskInfo {
  const task = TASKS.find((t) =>
    t.id === key || t.code === key || t.folder === key ||
    (typeof key === "string" && t.code === key.toLowerCase())
  );
  if (task === undefined) {
    const known = TASKS.map((t) => t.code).join(", ");
    throw new RangeError(`Unknown task ${JSON.stringify(key)}: expected one of ${known}`);
  }
  return task;
}

/** The listfile path of a task and split inside a dataset folder. */
export function listfilePath(dataDir: string, task: TaskInfo, split: Split): string {
  return `${dataDir}/${task.folder}/${split}_multimodal_listfile.csv`;
}
