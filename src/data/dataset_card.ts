/**
 * The dataset card of a folder in the reference layout: samples per task and split, label
 * prevalence, per-modality missingness (like Table 2 of the FlexCare paper), per-channel coverage
 * of the episodes, and whatever the writer reports about its cohort and its cleaning (every
 * rejected or cleaned value counted). Written as `dataset_card.md` and `dataset_card.json`.
 *
 * Any dataset writer can use it: build the card from the written folder, pass the counts only
 * the writer knows, write it.
 *
 * @module
 */
import { parseCsv, readCsvFile } from "./csv.ts";
import { REFERENCE_CONFIG } from "../features/discretizer_config.ts";
import { LISTFILE_FIXED_COLUMNS, listfilePath, type Split, SPLITS, TASKS } from "./tasks.ts";

/** Counters of one variable or one kind of record: name -> count. */
export type CountTable = Record<string, number>;

/** One row of a cohort funnel (any numeric columns). */
export interface FunnelRow {
  step: string;
  [count: string]: string | number;
}

/** Per-channel coverage over the episodes. */
export interface ChannelCoverage {
  /** Episodes with at least one value of the channel. */
  episodes: number;
  /** Fraction of all episodes. */
  fraction: number;
  /** Number of values. */
  values: number;
}

/** Per-task figures. */
export interface TaskCard {
  folder: string;
  title: string;
  kind: string;
  samples: Record<Split, number> & { total: number };
  subjects: number;
  /** Binary: fraction of 1s; multilabel: fraction of 1s per label (unknowns left out); multiclass: count per class. */
  prevalence: Record<string, number>;
  /** Fraction of samples lacking each modality. */
  missing: { ehr: number; cxr: number; note: number };
}

/** The whole card. */
export interface DatasetCard {
  title: string;
  source: string;
  generatedAt: string;
  episodes: number;
  tasks: Record<string, TaskCard>;
  coverage: Record<string, ChannelCoverage>;
  cohort: FunnelRow[];
  cleaning: Record<string, CountTable>;
  notes: string[];
  elapsedSeconds: number | null;
}

/** Options for {@linkcode buildDatasetCard}. */
export interface DatasetCardOptions {
  /**
   * Card title.
   * @default {"Dataset card"}
   */
  title?: string;
  /**
   * Where the data came from (one line).
   * @default {""}
   */
  source?: string;
  /** Cohort selection steps with their counts. */
  cohort?: FunnelRow[];
  /** Cleaning counters per variable (or per record kind): every kept, converted and rejected value. */
  cleaning?: Record<string, CountTable>;
  /** Free-text remarks (one line each). */
  notes?: string[];
  /** Wall time of the writer, in seconds. */
  elapsedSeconds?: number;
  /** Coverage counted by the writer; when given, episodes are not re-read. */
  coverage?: { episodes: number; perChannel: Record<string, { episodes: number; values: number }> };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Counts per-channel coverage by reading every episode CSV in `dataDir/ehr`. */
export async function scanCoverage(
  dataDir: string,
): Promise<{ episodes: number; perChannel: Record<string, { episodes: number; values: number }> }> {
  const perChannel: Record<string, { episodes: number; values: number }> = {};
  for (const c of REFERENCE_CONFIG.channels) perChannel[c] = { episodes: 0, values: 0 };
  let episodes = 0;
  const dir = `${dataDir}/ehr`;
  if (!(await exists(dir))) return { episodes, perChannel };
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".csv")) continue;
    episodes++;
    const records = parseCsv(await Deno.readTextFile(`${dir}/${entry.name}`), {
      source: `${dir}/${entry.name}`,
    });
    const header = records[0]?.fields ?? [];
    const seen = new Set<string>();
    for (let r = 1; r < records.length; r++) {
      const fields = records[r]!.fields;
      for (let j = 1; j < header.length; j++) {
        if ((fields[j] ?? "") === "") continue;
        const counter = perChannel[header[j]!];
        if (counter === undefined) continue;
        counter.values++;
        seen.add(header[j]!);
      }
    }
    for (const c of seen) perChannel[c]!.episodes++;
  }
  return { episodes, perChannel };
}

async function taskCard(dataDir: string, taskIndex: number): Promise<TaskCard | null> {
  const task = TASKS[taskIndex]!;
  const samples = { train: 0, val: 0, test: 0, total: 0 };
  const subjects = new Set<string>();
  const missing = { ehr: 0, cxr: 0, note: 0 };
  const positives = new Array<number>(task.labelColumns.length).fill(0);
  const known = new Array<number>(task.labelColumns.length).fill(0);
  const classes: Record<string, number> = {};
  let found = false;
  const fixed = LISTFILE_FIXED_COLUMNS.length;
  for (const split of SPLITS) {
    const path = listfilePath(dataDir, task, split);
    if (!(await exists(path))) continue;
    found = true;
    let header = true;
    for await (const { fields } of readCsvFile(path)) {
      if (header) {
        header = false;
        continue;
      }
      samples[split]++;
      samples.total++;
      subjects.add(fields[0] ?? "");
      if ((fields[2] ?? "") === "") missing.ehr++;
      if ((fields[4] ?? "") === "") missing.cxr++;
      if ((fields[5] ?? "") === "") missing.note++;
      for (let j = 0; j < task.labelColumns.length; j++) {
        const v = Number(fields[fixed + j]);
        if (task.kind === "multiclass") {
          const key = String(fields[fixed + j] ?? "");
          classes[key] = (classes[key] ?? 0) + 1;
        } else if (v === 0 || v === 1) {
          known[j]!++;
          positives[j]! += v;
        }
      }
    }
  }
  if (!found) return null;
  const prevalence: Record<string, number> = {};
  if (task.kind === "multiclass") {
    for (const k of Object.keys(classes).sort((a, b) => Number(a) - Number(b))) {
      prevalence[k] = classes[k]!;
    }
  } else {
    task.labelColumns.forEach((name, j) => {
      prevalence[name] = known[j]! > 0 ? positives[j]! / known[j]! : 0;
    });
  }
  const frac = (n: number) => (samples.total > 0 ? n / samples.total : 0);
  return {
    folder: task.folder,
    title: task.title,
    kind: task.kind,
    samples,
    subjects: subjects.size,
    prevalence,
    missing: { ehr: frac(missing.ehr), cxr: frac(missing.cxr), note: frac(missing.note) },
  };
}

/**
 * Builds the card of a dataset folder.
 *
 * @example Card of an empty folder
 * ```ts
 * import { buildDatasetCard, renderDatasetCard } from "./dataset_card.ts";
 * const dir = await Deno.makeTempDir();
 * const card = await buildDatasetCard(dir, { title: "Empty", cleaning: { "Heart Rate": { kept: 1 } } });
 * if (card.episodes !== 0 || !renderDatasetCard(card).includes("# Empty")) throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function buildDatasetCard(
  dataDir: string,
  options: DatasetCardOptions = {},
): Promise<DatasetCard> {
  const tasks: Record<string, TaskCard> = {};
  for (let i = 0; i < TASKS.length; i++) {
    const card = await taskCard(dataDir, i);
    if (card !== null) tasks[TASKS[i]!.code] = card;
  }
  const scanned = options.coverage ?? await scanCoverage(dataDir);
  const coverage: Record<string, ChannelCoverage> = {};
  for (const c of REFERENCE_CONFIG.channels) {
    const counts = scanned.perChannel[c] ?? { episodes: 0, values: 0 };
    coverage[c] = {
      episodes: counts.episodes,
      fraction: scanned.episodes > 0 ? counts.episodes / scanned.episodes : 0,
      values: counts.values,
    };
  }
  return {
    title: options.title ?? "Dataset card",
    source: options.source ?? "",
    generatedAt: new Date().toISOString(),
    episodes: scanned.episodes,
    tasks,
    coverage,
    cohort: options.cohort ?? [],
    cleaning: options.cleaning ?? {},
    notes: options.notes ?? [],
    elapsedSeconds: options.elapsedSeconds ?? null,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/**
 * Renders a card as Markdown.
 *
 * @example
 * ```ts
 * import { renderDatasetCard } from "./dataset_card.ts";
 * const md = renderDatasetCard({ title: "T", source: "", generatedAt: "", episodes: 0, tasks: {}, coverage: {}, cohort: [], cleaning: {}, notes: [], elapsedSeconds: null });
 * if (!md.startsWith("# T")) throw new Error();
 * ```
 */
export function renderDatasetCard(card: DatasetCard): string {
  const out: string[] = [`# ${card.title}`, ""];
  if (card.source !== "") out.push(`Source: ${card.source}`, "");
  out.push(`Generated ${card.generatedAt}; ${card.episodes} episode files.`);
  if (card.elapsedSeconds !== null) out.push(`Written in ${card.elapsedSeconds.toFixed(1)} s.`);
  out.push("");
  if (card.cohort.length > 0) {
    const keys = [
      ...new Set(card.cohort.flatMap((r) => Object.keys(r).filter((k) => k !== "step"))),
    ];
    out.push(
      "## Cohort",
      "",
      table(["step", ...keys], card.cohort.map((r) => [r.step, ...keys.map((k) => r[k] ?? "")])),
      "",
    );
  }
  const tasks = Object.entries(card.tasks);
  if (tasks.length > 0) {
    out.push(
      "## Samples and missing modalities",
      "",
      table(
        ["task", "train", "val", "test", "total", "subjects", "no EHR", "no CXR", "no note"],
        tasks.map(([code, t]) => [
          `${code} (${t.folder})`,
          t.samples.train,
          t.samples.val,
          t.samples.test,
          t.samples.total,
          t.subjects,
          pct(t.missing.ehr),
          pct(t.missing.cxr),
          pct(t.missing.note),
        ]),
      ),
      "",
      "## Label prevalence",
      "",
    );
    for (const [code, t] of tasks) {
      const entries = Object.entries(t.prevalence);
      if (t.kind === "multiclass") {
        const shown = entries.slice(0, 20).map(([k, n]) => `${k}: ${n}`).join(", ");
        const more = entries.length > 20 ? ` ... (${entries.length} classes)` : "";
        out.push(`- ${code}: class counts ${shown}${more}`);
      } else if (entries.length === 1) {
        out.push(`- ${code}: ${pct(entries[0]![1])} positive`);
      } else {
        out.push(`- ${code}: ${entries.map(([k, v]) => `${k} ${pct(v)}`).join("; ")}`);
      }
    }
    out.push("");
  }
  out.push(
    "## Time-series coverage",
    "",
    table(
      ["channel", "episodes with a value", "share", "values"],
      Object.entries(card.coverage).map(([c, v]) => [c, v.episodes, pct(v.fraction), v.values]),
    ),
    "",
  );
  const cleaning = Object.entries(card.cleaning);
  if (cleaning.length > 0) {
    const groups = ["kept", "cleaned", "rejected", "skipped", "merged", "counts"];
    const cells = cleaning.map(([name, counters]) => {
      const byGroup = new Map<string, string[]>(groups.map((g) => [g, []]));
      for (const [key, n] of Object.entries(counters)) {
        const colon = key.indexOf(": ");
        const group = key === "kept" ? "kept" : colon > 0 ? key.slice(0, colon) : "counts";
        const detail = key === "kept"
          ? String(n)
          : `${colon > 0 && groups.includes(group) ? key.slice(colon + 2) : key} ${n}`;
        (byGroup.get(groups.includes(group) ? group : "counts") ?? []).push(detail);
      }
      return [name, ...groups.map((g) => byGroup.get(g)!.join("; "))];
    });
    out.push(
      "## Cleaning (every value counted)",
      "",
      "Per variable: values kept, unit conversions and clipping applied to kept values, values",
      "refused (with the reason), events skipped (outside the cohort or the stay), values merged",
      "(same time and channel: the last one is kept), and other counts.",
      "",
      table(["variable", ...groups], cells),
      "",
    );
  }
  if (card.notes.length > 0) out.push("## Notes", "", ...card.notes.map((n) => `- ${n}`), "");
  return out.join("\n");
}

/** Writes `dataset_card.md` and `dataset_card.json` into the dataset folder. */
export async function writeDatasetCard(dataDir: string, card: DatasetCard): Promise<void> {
  await Deno.writeTextFile(`${dataDir}/dataset_card.md`, renderDatasetCard(card));
  await Deno.writeTextFile(`${dataDir}/dataset_card.json`, JSON.stringify(card, null, 2) + "\n");
}
