/**
 * Per-admission tables: ICD diagnoses (for the phenotypes) and DRG codes (for the DRG task),
 * kept only for the cohort's admissions.
 *
 * @module
 */
import { formatCsvLine } from "../layout_writer.ts";
import { scanTable } from "./mimic_tables.ts";

/**
 * ICD codes per admission from `DIAGNOSES_ICD` / `diagnoses_icd`.
 *
 * @example
 * ```ts ignore
 * const codes = await readDiagnoses("DIAGNOSES_ICD.csv.gz", new Set(["142345"]));
 * ```
 */
export async function readDiagnoses(
  path: string,
  admissions: ReadonlySet<string>,
): Promise<Map<string, string[]>> {
  const diagnoses = new Map<string, string[]>();
  await scanTable(path, ["hadm_id", "icd9_code|icd_code"], ([hadm, code]) => {
    if (!admissions.has(hadm!) || code!.trim() === "") return;
    const list = diagnoses.get(hadm!) ?? [];
    list.push(code!);
    diagnoses.set(hadm!, list);
  });
  return diagnoses;
}

/** The DRG of an admission. */
export interface AdmissionDrg {
  /** Class key `TYPE:code`. */
  key: string;
  type: string;
  code: string;
  description: string;
}

/**
 * The CMS DRG types used, in order of preference: HCFA-DRG (MIMIC-III CareVue era, MIMIC-IV),
 * then MS-DRG (MIMIC-III MetaVision era). APR-DRG, a different grouping, is not used.
 */
export const DRG_TYPES: readonly string[] = Object.freeze(["HCFA", "MS"]);

/**
 * One DRG per admission from `DRGCODES` / `drgcodes` (the preferred type, first row of it).
 *
 * @example
 * ```ts ignore
 * const drg = await readDrgCodes("DRGCODES.csv.gz", new Set(["142345"]));
 * ```
 */
export async function readDrgCodes(
  path: string,
  admissions: ReadonlySet<string>,
): Promise<Map<string, AdmissionDrg>> {
  const byAdmission = new Map<string, AdmissionDrg>();
  const rank = (type: string) => DRG_TYPES.indexOf(type.trim().toUpperCase());
  await scanTable(
    path,
    ["hadm_id", "drg_type", "drg_code", "?description"],
    ([hadm, type, code, description]) => {
      if (!admissions.has(hadm!) || rank(type!) < 0 || code!.trim() === "") return;
      const old = byAdmission.get(hadm!);
      if (old !== undefined && rank(old.type) <= rank(type!)) return;
      const t = type!.trim().toUpperCase();
      byAdmission.set(hadm!, {
        key: `${t}:${code!.trim()}`,
        type: t,
        code: code!.trim(),
        description: description!,
      });
    },
  );
  return byAdmission;
}

/**
 * The DRG classes: keys sorted by type then code (numerically where codes are numbers), index
 * = class.
 *
 * @example
 * ```ts
 * import { drgClasses } from "./admission_tables.ts";
 * const d = (key: string) => ({ key, type: key.split(":")[0]!, code: key.split(":")[1]!, description: "" });
 * const classes = drgClasses([d("MS:871"), d("HCFA:90"), d("HCFA:123"), d("MS:871")]);
 * if (classes.join() !== "HCFA:90,HCFA:123,MS:871") throw new Error(classes.join());
 * ```
 */
export function drgClasses(drgs: Iterable<AdmissionDrg>): string[] {
  const keys = new Set<string>();
  for (const d of drgs) keys.add(d.key);
  return [...keys].sort((a, b) => {
    const [ta, ca] = a.split(":") as [string, string];
    const [tb, cb] = b.split(":") as [string, string];
    return ta.localeCompare(tb) || Number(ca) - Number(cb) || ca.localeCompare(cb);
  });
}

/** The `drg/drg_classes.csv` text: class index, type, code, description, admissions. */
export function formatDrgClassTable(
  classes: readonly string[],
  drgs: Iterable<AdmissionDrg>,
): string {
  const counts = new Map<string, number>();
  const byKey = new Map<string, AdmissionDrg>();
  for (const d of drgs) {
    counts.set(d.key, (counts.get(d.key) ?? 0) + 1);
    if (!byKey.has(d.key)) byKey.set(d.key, d);
  }
  const lines = [formatCsvLine(["class", "drg_type", "drg_code", "description", "admissions"])];
  classes.forEach((key, i) => {
    const d = byKey.get(key);
    lines.push(
      formatCsvLine([i, d?.type ?? "", d?.code ?? "", d?.description ?? "", counts.get(key) ?? 0]),
    );
  });
  return lines.join("\n") + "\n";
}
