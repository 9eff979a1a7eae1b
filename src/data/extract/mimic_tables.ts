/**
 * Locating and scanning raw MIMIC tables: MIMIC-III (`ADMISSIONS.csv` ... in one folder, any
 * case) or MIMIC-IV (`hosp/admissions.csv`, `icu/icustays.csv`), plain or gzipped. Tables are
 * streamed record by record with column lookup by (case-insensitive) name.
 *
 * @module
 */
import { readCsvRecords } from "../csv.ts";

/** Which MIMIC release a folder holds. */
export type MimicFlavor = "mimic-iii" | "mimic-iv";

/** The tables the extraction reads. */
export type MimicTable =
  | "patients"
  | "admissions"
  | "icustays"
  | "chartevents"
  | "labevents"
  | "diagnoses_icd"
  | "drgcodes";

const IV_FOLDER: Record<MimicTable, string> = {
  patients: "hosp",
  admissions: "hosp",
  icustays: "icu",
  chartevents: "icu",
  labevents: "hosp",
  diagnoses_icd: "hosp",
  drgcodes: "hosp",
};

/** A located MIMIC folder. */
export interface MimicLayout {
  /** The release. */
  flavor: MimicFlavor;
  /** Path of each table found (absent tables are missing). */
  tables: Partial<Record<MimicTable, string>>;
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) names.push(e.name);
  } catch {
    return [];
  }
  return names;
}

/** Finds `<table>.csv` or `<table>.csv.gz` in a folder, any case; plain files win. */
export async function findTableFile(dir: string, table: string): Promise<string | undefined> {
  const names = await listDir(dir);
  const want = [`${table}.csv`, `${table}.csv.gz`];
  for (const w of want) {
    const hit = names.find((n) => n.toLowerCase() === w);
    if (hit !== undefined) return `${dir}/${hit}`;
  }
  return undefined;
}

/**
 * Detects the release of a folder and locates its tables. MIMIC-IV when `hosp/` and `icu/`
 * folders exist, else MIMIC-III.
 *
 * @example Locate the demo
 * ```ts ignore
 * const layout = await locateMimicTables("../shared/data/mimic-iii-demo");
 * console.log(layout.flavor, layout.tables.chartevents);
 * ```
 */
export async function locateMimicTables(dir: string): Promise<MimicLayout> {
  const isDir = (p: string) => Deno.stat(p).then((s) => s.isDirectory, () => false);
  const iv = await isDir(`${dir}/hosp`) && await isDir(`${dir}/icu`);
  const tables: Partial<Record<MimicTable, string>> = {};
  for (const table of Object.keys(IV_FOLDER) as MimicTable[]) {
    const folder = iv ? `${dir}/${IV_FOLDER[table]}` : dir;
    const path = await findTableFile(folder, table);
    if (path !== undefined) tables[table] = path;
  }
  return { flavor: iv ? "mimic-iv" : "mimic-iii", tables };
}

/** Options for {@linkcode scanTable}. */
export interface ScanOptions {
  /** Called with the number of (compressed) bytes read so far. */
  onBytes?: (bytes: number) => void;
}

/**
 * A column request: a name, alternatives separated by `|` (`icustay_id|stay_id`), and a leading
 * `?` for an optional column (read as "" when absent). Matching ignores case.
 */
export type ColumnSpec = string;

/** Resolves column specs against a header; throws naming the file when one is missing. */
export function resolveColumns(
  header: readonly string[],
  specs: readonly ColumnSpec[],
  source: string,
): number[] {
  const lower = header.map((h) => h.trim().toLowerCase());
  return specs.map((spec) => {
    const optional = spec.startsWith("?");
    const names = spec.replace(/^\?/, "").split("|");
    for (const n of names) {
      const i = lower.indexOf(n.toLowerCase());
      if (i >= 0) return i;
    }
    if (optional) return -1;
    throw new SyntaxError(
      `${source}:1: missing column ${names.map((n) => JSON.stringify(n)).join(" or ")}`,
    );
  });
}

/**
 * Streams a table, calling `onRow` with the requested columns' values in request order and the
 * record's line number. `onRow` may return a promise (awaited before the next row).
 *
 * @example Scan a small file
 * ```ts ignore
 * await scanTable("ICUSTAYS.csv.gz", ["subject_id", "icustay_id|stay_id"], (v) => console.log(v));
 * ```
 */
export async function scanTable(
  path: string,
  columns: readonly ColumnSpec[],
  onRow: (values: string[], line: number) => void | Promise<void>,
  options: ScanOptions = {},
): Promise<number> {
  const file = await Deno.open(path, { read: true });
  let bytes = 0;
  const onBytes = options.onBytes;
  let stream: ReadableStream<Uint8Array> = file.readable.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        onBytes?.(bytes);
        controller.enqueue(chunk);
      },
    }),
  );
  if (path.endsWith(".gz")) {
    stream = stream.pipeThrough<Uint8Array>(
      new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>,
    );
  }
  let indices: number[] | null = null;
  let rows = 0;
  for await (const record of readCsvRecords(stream, { source: path })) {
    if (indices === null) {
      indices = resolveColumns(record.fields, columns, path);
      continue;
    }
    const values = indices.map((i) => (i < 0 ? "" : record.fields[i] ?? ""));
    rows++;
    const pending = onRow(values, record.line);
    if (pending !== undefined) await pending;
  }
  return rows;
}

/** Reads a whole (small) table into rows of the requested columns. */
export async function readTable(path: string, columns: readonly ColumnSpec[]): Promise<string[][]> {
  const rows: string[][] = [];
  await scanTable(path, columns, (values) => {
    rows.push(values);
  });
  return rows;
}

/**
 * Parses a MIMIC timestamp (`YYYY-MM-DD HH:MM:SS`, date-only allowed, `T` accepted) as UTC
 * milliseconds; NaN when empty or malformed.
 *
 * @example
 * ```ts
 * import { parseMimicTime } from "./mimic_tables.ts";
 * if (parseMimicTime("2164-10-23 21:10:15") - parseMimicTime("2164-10-23") !== 76215000) throw new Error();
 * if (!Number.isNaN(parseMimicTime(""))) throw new Error();
 * ```
 */
export function parseMimicTime(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/.exec(
    text.trim(),
  );
  if (m === null) return Number.NaN;
  return Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
  );
}
