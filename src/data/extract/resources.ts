/**
 * The mapping tables of the extraction (item ids to variables, variable ranges, CCS phenotype
 * definitions), read from the copies beside this module or from another folder.
 *
 * @module
 */
import { parseCsv } from "../csv.ts";
import { REFERENCE_CONFIG } from "../../features/discretizer_config.ts";
import { parseYamlLite } from "../yaml_lite.ts";
import type { VariableRange } from "./clean.ts";

/** One mapped item: which channel it feeds and its label (used by unit cleaning). */
export interface MappedItem {
  /** Channel name of the discretizer. */
  channel: string;
  /** `MIMIC LABEL` of the item. */
  label: string;
}

/** The CCS definitions: ICD code -> group, and which groups are benchmark phenotypes. */
export interface CcsDefinitions {
  /** ICD code (no dots, upper case) -> CCS group name. */
  codeToGroup: Map<string, string>;
  /** Names of the groups flagged `use_in_benchmark`. */
  benchmarkGroups: Set<string>;
}

/** The folder holding the copies of the reference tables. */
export const DEFAULT_RESOURCES_DIR: string = decodeURIComponent(
  new URL("./reference", import.meta.url).pathname,
);

function csvRecords(text: string, source: string): { header: string[]; rows: string[][] } {
  const records = parseCsv(text, { source });
  const header = records[0]?.fields ?? [];
  return { header, rows: records.slice(1).map((r) => r.fields) };
}

/**
 * Parses `itemid_to_variable_map.csv` text: rows with `STATUS` = `ready` whose `LEVEL2` names a
 * discretizer channel (matched case-insensitively).
 *
 * @example One ready row
 * ```ts
 * import { parseItemMap } from "./resources.ts";
 * const map = parseItemMap("LEVEL2,STATUS,ITEMID,MIMIC LABEL\nHeart Rate,ready,211,Heart Rate\nHeart Rate,verify,1,x\n");
 * if (map.get("211")?.channel !== "Heart Rate" || map.has("1")) throw new Error();
 * ```
 */
export function parseItemMap(text: string, source = "<item map>"): Map<string, MappedItem> {
  const { header, rows } = csvRecords(text, source);
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new SyntaxError(`${source}:1: missing column ${JSON.stringify(name)}`);
    return i;
  };
  const [level2, status, itemid, label] = [
    col("LEVEL2"),
    col("STATUS"),
    col("ITEMID"),
    col("MIMIC LABEL"),
  ];
  const channels = new Map(REFERENCE_CONFIG.channels.map((c) => [c.toLowerCase(), c]));
  const map = new Map<string, MappedItem>();
  for (const row of rows) {
    if (row[status] !== "ready") continue;
    const channel = channels.get((row[level2] ?? "").toLowerCase());
    const id = (row[itemid] ?? "").trim();
    if (channel === undefined || id === "") continue;
    map.set(id, { channel, label: row[label] ?? "" });
  }
  return map;
}

/**
 * Parses `variable_ranges.csv` text into ranges keyed by lower-case variable name (rows with
 * any bound missing are left out, first row of a name wins, as in the reference).
 *
 * @example One row
 * ```ts
 * import { parseVariableRanges } from "./resources.ts";
 * const r = parseVariableRanges("LEVEL2,LEVEL1,OUTLIER LOW,VALID LOW,IMPUTE,VALID HIGH,OUTLIER HIGH\nHeart rate,,0,0,86,350,390\n");
 * if (r.get("heart rate")?.outlierHigh !== 390) throw new Error();
 * ```
 */
export function parseVariableRanges(
  text: string,
  source = "<variable ranges>",
): Map<string, VariableRange> {
  const { header, rows } = csvRecords(text, source);
  const idx = (name: string) => header.indexOf(name);
  const [name, ol, vl, vh, oh] = [
    idx("LEVEL2"),
    idx("OUTLIER LOW"),
    idx("VALID LOW"),
    idx("VALID HIGH"),
    idx("OUTLIER HIGH"),
  ];
  if ([name, ol, vl, vh, oh].some((i) => i < 0)) {
    throw new SyntaxError(`${source}:1: expected LEVEL2 and the four bound columns`);
  }
  const ranges = new Map<string, VariableRange>();
  for (const row of rows) {
    const key = (row[name] ?? "").toLowerCase();
    const values = [ol, vl, vh, oh].map((i) => (row[i] ?? "").trim());
    if (key === "" || ranges.has(key) || values.some((v) => v === "")) continue;
    const [outlierLow, validLow, validHigh, outlierHigh] = values.map(Number) as [
      number,
      number,
      number,
      number,
    ];
    ranges.set(key, { outlierLow, validLow, validHigh, outlierHigh });
  }
  return ranges;
}

/** Normalizes an ICD code: upper case, no dots or spaces. */
export function normalizeIcd(code: string): string {
  return code.replace(/[.\s]/g, "").toUpperCase();
}

/**
 * Parses a CCS definitions YAML (`hcup_ccs_2015_definitions.yaml` or
 * `icd_9_10_definitions.yaml`).
 *
 * @example One group
 * ```ts
 * import { parseCcsDefinitions } from "./resources.ts";
 * const d = parseCcsDefinitions('Shock:\n  use_in_benchmark: true\n  codes: [ "78550" ]\n');
 * if (d.codeToGroup.get("78550") !== "Shock" || !d.benchmarkGroups.has("Shock")) throw new Error();
 * ```
 */
export function parseCcsDefinitions(text: string, source = "<ccs definitions>"): CcsDefinitions {
  const doc = parseYamlLite(text, { source });
  const codeToGroup = new Map<string, string>();
  const benchmarkGroups = new Set<string>();
  for (const [group, fields] of Object.entries(doc)) {
    if (fields.use_in_benchmark === true) benchmarkGroups.add(group);
    const codes = fields.codes;
    if (!Array.isArray(codes)) continue;
    for (const code of codes) codeToGroup.set(normalizeIcd(String(code)), group);
  }
  return { codeToGroup, benchmarkGroups };
}

/** The loaded mapping tables. */
export interface ExtractResources {
  /** Item id -> channel and label. */
  items: Map<string, MappedItem>;
  /** Lower-case variable name -> range. */
  ranges: Map<string, VariableRange>;
  /** CCS groups of ICD-9 codes (MIMIC-III). */
  ccsIcd9: CcsDefinitions;
  /** CCS groups of ICD-9 and ICD-10 codes (MIMIC-IV). */
  ccsIcd10: CcsDefinitions;
}

/**
 * Reads the four tables from a folder.
 *
 * @example The bundled tables
 * ```ts ignore
 * const r = await loadExtractResources();
 * console.log(r.items.size); // 114 ready items
 * ```
 */
export async function loadExtractResources(dir = DEFAULT_RESOURCES_DIR): Promise<ExtractResources> {
  const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
  const mapName = await Deno.stat(`${dir}/itemid_to_variable_map.csv`).then(
    () => "itemid_to_variable_map.csv",
    () => "itemid_to_variable_map_ready.csv",
  );
  return {
    items: parseItemMap(await read(mapName), `${dir}/${mapName}`),
    ranges: parseVariableRanges(await read("variable_ranges.csv"), `${dir}/variable_ranges.csv`),
    ccsIcd9: parseCcsDefinitions(
      await read("hcup_ccs_2015_definitions.yaml"),
      `${dir}/hcup_ccs_2015_definitions.yaml`,
    ),
    ccsIcd10: parseCcsDefinitions(
      await read("icd_9_10_definitions.yaml"),
      `${dir}/icd_9_10_definitions.yaml`,
    ),
  };
}
