/**
 * The labelled samples of a fine-tuning task: a built-in task's folder or a new task's folder
 * (any name) in the reference layout (`<data>/<folder>/{train,val,test}_multimodal_listfile.csv`).
 * The number of label columns decides multi-label (several) against single-label (one); a single
 * column of 0/1 values is binary unless told otherwise, other integers are classes.
 *
 * @module
 */
import { readCsvFile } from "../data/csv.ts";
import { readSamples, type Sample } from "../data/dataset.ts";
import {
  getTask,
  LISTFILE_FIXED_COLUMNS,
  type Split,
  SPLITS,
  type TaskCode,
  type TaskInfo,
  type TaskKind,
  TASKS,
} from "../data/tasks.ts";

/** Options for {@linkcode loadTaskData}. */
export interface LoadTaskDataOptions {
  /**
   * The label kind; inferred from the labels when absent.
   * @default {undefined}
   */
  kind?: TaskKind;
  /**
   * Folder of the task's listfiles inside the dataset (a new task's folder).
   * @default {the built-in task's folder, else the task name}
   */
  folder?: string;
}

/** A task's samples by split, with its kind and label names. */
export interface TaskData {
  /** The task name given. */
  readonly name: string;
  /** The task description the samples carry (a new task gets id -1). */
  readonly info: TaskInfo;
  readonly kind: TaskKind;
  /** Output names: the label columns (binary, multi-label) or the class names (multi-class). */
  readonly labelNames: readonly string[];
  readonly splits: Readonly<Record<Split, readonly Sample[]>>;
}

async function readHeader(path: string): Promise<string[]> {
  for await (const { fields } of readCsvFile(path)) return fields.map((f) => f.trim());
  throw new SyntaxError(`Listfile "${path}" is empty`);
}

async function readClassNames(path: string): Promise<string[] | null> {
  try {
    const text = await Deno.readTextFile(path);
    return text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function readDrgClasses(path: string): Promise<string[] | null> {
  const names: string[] = [];
  let header: string[] | null = null;
  try {
    for await (const { fields } of readCsvFile(path)) {
      if (header === null) {
        header = fields;
        continue;
      }
      const get = (k: string) => fields[header!.indexOf(k)] ?? "";
      names[Number(get("class"))] = `${get("drg_type")} ${get("drg_code")} ${get("description")}`
        .trim();
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return Array.from(names, (n, i) => n ?? String(i));
}

async function readAll(data: string, task: TaskInfo): Promise<Record<Split, Sample[]>> {
  const out = { train: [], val: [], test: [] } as Record<Split, Sample[]>;
  for (const split of SPLITS) {
    for await (const s of readSamples(data, task, split)) out[split].push(s);
  }
  return out;
}

/**
 * Reads the train, validation and test samples of a task. Class names of a multi-class task
 * come from the built-in task (LOS), else from an optional `classes.txt` in the task folder
 * (one name per line, line i = class i), else from `drg_classes.csv` (written by `extract`),
 * else the class indices.
 *
 * @example A new task's folder
 * ```ts ignore
 * import { loadTaskData } from "./task_data.ts";
 * const data = await loadTaskData("/tmp/mt", "specialty");
 * console.log(data.kind, data.labelNames.length, data.splits.train.length);
 * ```
 */
export async function loadTaskData(
  dataDir: string,
  name: string,
  options: LoadTaskDataOptions = {},
): Promise<TaskData> {
  const builtin = TASKS.find((t) => t.code === name || t.folder === name);
  const folder = options.folder ?? builtin?.folder ?? name;
  if (folder.includes("/") || folder.includes("\\") || folder === "" || folder.startsWith(".")) {
    throw new RangeError(`Task folder ${JSON.stringify(folder)} must be a plain folder name`);
  }
  const header = await readHeader(`${dataDir}/${folder}/train_multimodal_listfile.csv`);
  const labelColumns = header.slice(LISTFILE_FIXED_COLUMNS.length);
  if (labelColumns.length === 0) {
    throw new SyntaxError(`Listfiles of task ${JSON.stringify(name)} have no label column`);
  }
  let kind: TaskKind = options.kind ??
    (labelColumns.length > 1 ? "multilabel" : builtin?.kind ?? "multiclass");
  if (kind === "multilabel" && labelColumns.length === 1 && options.kind === undefined) {
    kind = "binary";
  }
  if (kind !== "multilabel" && labelColumns.length !== 1) {
    throw new RangeError(
      `Task ${
        JSON.stringify(name)
      } has ${labelColumns.length} label columns: only a multilabel task has several`,
    );
  }
  const base = builtin ?? getTask("drg");
  const info: TaskInfo = {
    ...base,
    id: builtin?.id ?? -1,
    code: (builtin?.code ?? name) as TaskCode,
    folder,
    title: builtin?.title ?? name,
    kind,
    labelColumns,
    classNames: kind === "multiclass" && builtin ? builtin.classNames : [],
    defaultPeriodHours: builtin?.defaultPeriodHours ?? null,
  };
  const splits = await readAll(dataDir, info);
  if (splits.train.length === 0) {
    throw new RangeError(`Task ${JSON.stringify(name)} has no training samples`);
  }
  let labelNames: string[];
  if (kind === "multiclass") {
    let max = 0;
    for (const split of SPLITS) for (const s of splits[split]) max = Math.max(max, s.labels[0]!);
    const named = info.classNames.length > 0
      ? [...info.classNames]
      : await readClassNames(`${dataDir}/${folder}/classes.txt`) ??
        await readDrgClasses(`${dataDir}/${folder}/drg_classes.csv`);
    if (named !== null && named.length <= max) {
      throw new RangeError(
        `Task ${JSON.stringify(name)} has class ${max} but names only ${named.length} classes`,
      );
    }
    labelNames = named ?? Array.from({ length: max + 1 }, (_, i) => String(i));
  } else {
    labelNames = [...labelColumns];
  }
  if (options.kind === undefined && kind === "multiclass" && labelNames.length <= 2) {
    // one column of 0/1 values: a binary task
    const values = new Set(SPLITS.flatMap((s) => splits[s].map((x) => x.labels[0]!)));
    if ([...values].every((v) => v === 0 || v === 1) && builtin === undefined) {
      return {
        name,
        info: { ...info, kind: "binary" },
        kind: "binary",
        labelNames: labelColumns,
        splits,
      };
    }
  }
  return { name, info, kind, labelNames, splits };
}
