/**
 * Evaluation of predictions per task (the paper's Table 3): each task kind's metrics with
 * bootstrap intervals, sample count and prevalence; calibration and reliability bins for
 * binary probabilities; the NEWS2 comparison where records carry NEWS2; and the same tables per
 * subgroup for each `by` column.
 *
 * Metrics by task kind (the task registry of `../data/tasks.ts` decides the kind):
 * - binary (IHM, DEC, REA): AUROC, AUPRC (trapezoid, the reference code's), average precision,
 *   and with probabilities the Brier score and ECE;
 * - multi-label (PHE, DIA): macro and micro AUROC with -1 labels masked;
 * - multi-class: macro and micro F1 (classes present in labels or predictions); for a task
 *   with a fixed, ordered class set (LOS) also Cohen's kappa, linear-weighted as
 *   mimic3-benchmarks reports it, and unweighted.
 *
 * @module
 */
import { type TaskCode, type TaskInfo, type TaskKind, TASKS } from "../data/tasks.ts";
import { auroc } from "./auroc.ts";
import { descendingOrder } from "./binary_curve.ts";
import { bootstrapCi, type BootstrapOptions } from "./bootstrap.ts";
import { brierScore } from "./brier.ts";
import { expectedCalibrationError, type ReliabilityBin, reliabilityBins } from "./calibration.ts";
import { cohenKappa } from "./cohen_kappa.ts";
import type { EvalSource } from "./eval_source.ts";
import { f1Score } from "./f1.ts";
import { prepareMultilabelAuroc } from "./multilabel_auroc.ts";
import { type News2Comparison, news2Comparison } from "./news2_comparison.ts";
import { auprc, averagePrecision } from "./precision_recall.ts";
import { type CheckedRecord, checkRecord } from "./predictions.ts";

/** Options for {@linkcode evaluateRecords} and {@linkcode evaluateSource}. */
export interface EvaluateOptions {
  /**
   * Bootstrap settings of every interval.
   * @default {{ resamples: 1000, seed: 0, level: 0.95 }}
   */
  bootstrap?: BootstrapOptions;
  /**
   * Group columns (keys of each record's `groups`) to tabulate subgroups by.
   * @default {[]}
   */
  by?: readonly string[];
  /**
   * Task codes to evaluate.
   * @default {undefined} (every task present)
   */
  tasks?: readonly string[];
  /**
   * Equal-width calibration bins.
   * @default {10}
   */
  calibrationBins?: number;
  /**
   * NEWS2 trigger thresholds.
   * @default {[5, 7]}
   */
  news2Thresholds?: readonly number[];
}

/** One metric with its interval. */
export interface MetricResult {
  /** Stable key (`auroc`, `f1_macro`, ...). */
  readonly key: string;
  /** Display name. */
  readonly name: string;
  /** Value on all samples; `null` when undefined. */
  readonly value: number | null;
  /** Lower bound of the interval; `null` when undefined. */
  readonly lower: number | null;
  /** Upper bound of the interval; `null` when undefined. */
  readonly upper: number | null;
  /** Resamples skipped because the metric was undefined on them. */
  readonly skipped: number;
}

/** The evaluation of one task. */
export interface TaskReport {
  /** Task code. */
  readonly task: TaskCode;
  /** Task title. */
  readonly title: string;
  /** Task kind. */
  readonly kind: TaskKind;
  /** Number of predictions. */
  readonly n: number;
  /**
   * Fraction of positive labels (binary), of positive known entries (multi-label); `null` for
   * multi-class tasks (see `classCounts`).
   */
  readonly prevalence: number | null;
  /** Samples per true class (multi-class tasks). */
  readonly classCounts: Readonly<Record<string, number>> | null;
  /** Whether the predictions are probabilities (calibration is only computed then). */
  readonly probabilities: boolean;
  /** Metrics in display order. */
  readonly metrics: readonly MetricResult[];
  /** Per-label AUROC for multi-label tasks (label name -> value). */
  readonly perLabelAuroc: Readonly<Record<string, number | null>> | null;
  /** Reliability bins for binary probabilities. */
  readonly reliability: readonly ReliabilityBin[] | null;
  /** NEWS2 against the model, for binary tasks whose records carry NEWS2. */
  readonly news2: News2Comparison | null;
}

/** The tables of one subgroup. */
export interface SubgroupReport {
  /** The group value (`(missing)` for records without one). */
  readonly value: string;
  /** Number of predictions in the group. */
  readonly n: number;
  /** Per-task results in the group. */
  readonly tasks: readonly TaskReport[];
}

/** One subgroup's headline for one task, with what the report flags. */
export interface SubgroupSummaryRow {
  readonly task: TaskCode;
  /** The group value. */
  readonly value: string;
  readonly n: number;
  /** Positive samples (binary tasks; `null` otherwise). */
  readonly positives: number | null;
  /** The task's first metric (AUROC, macro AUROC, macro F1) in the group. */
  readonly metric: MetricResult | null;
  /** ECE of the group (binary tasks with probabilities; `null` otherwise). */
  readonly ece: number | null;
  /** Why the metric is undefined: `no positives`, `no negatives`, or `null` when it is a number. */
  readonly undefinedBecause: "no positives" | "no negatives" | null;
  /** The group's metric lies below the lower end of the overall interval. */
  readonly belowOverall: boolean;
}

/** Subgroup tables for one column. */
export interface SubgroupTable {
  /** The group column. */
  readonly column: string;
  /** One entry per value, sorted. */
  readonly groups: readonly SubgroupReport[];
  /** Per task, one headline row per group (tasks in the overall order). */
  readonly summary: readonly SubgroupSummaryRow[];
}

/** The headline rows of a column's groups against the overall reports. */
function subgroupSummary(
  overall: readonly TaskReport[],
  groups: readonly SubgroupReport[],
  records: ReadonlyMap<string, readonly CheckedRecord[]>,
): SubgroupSummaryRow[] {
  const rows: SubgroupSummaryRow[] = [];
  for (const all of overall) {
    const lead = all.metrics[0];
    for (const g of groups) {
      const t = g.tasks.find((x) => x.task === all.task);
      if (t === undefined) continue;
      const metric = t.metrics.find((m) => m.key === lead?.key) ?? null;
      let positives: number | null = null;
      let undefinedBecause: SubgroupSummaryRow["undefinedBecause"] = null;
      if (t.kind === "binary") {
        positives = (records.get(g.value) ?? []).filter((r) =>
          r.task.code === t.task && r.labels[0] === 1
        ).length;
        if (positives === 0) undefinedBecause = "no positives";
        else if (positives === t.n) undefinedBecause = "no negatives";
      }
      const value = undefinedBecause === null ? metric?.value ?? null : null;
      rows.push({
        task: t.task,
        value: g.value,
        n: t.n,
        positives,
        metric: metric === null ? null : { ...metric, value },
        ece: t.metrics.find((m) => m.key === "ece")?.value ?? null,
        undefinedBecause,
        belowOverall: value !== null && lead?.lower !== null && lead?.lower !== undefined &&
          value < lead.lower,
      });
    }
  }
  return rows;
}

/** The full evaluation. */
export interface EvalReport {
  /** Where the predictions came from. */
  readonly source: string;
  /** Bootstrap settings used. */
  readonly bootstrap: { readonly resamples: number; readonly seed: number; readonly level: number };
  /** Per-task results, in task-id order. */
  readonly tasks: readonly TaskReport[];
  /** Subgroup tables, one per `by` column. */
  readonly subgroups: readonly SubgroupTable[];
}

/**
 * The group value of records without one.
 *
 * @example Records without the column form their own group
 * ```ts
 * import { MISSING_GROUP } from "./evaluate.ts";
 * if (MISSING_GROUP !== "(missing)") throw new Error();
 * ```
 */
export const MISSING_GROUP = "(missing)";

type Statistic = (weights: Float64Array | undefined) => number;

interface MetricSpec {
  key: string;
  name: string;
  statistic: Statistic;
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function opts(w: Float64Array | undefined) {
  return w === undefined ? {} : { sampleWeights: w };
}

function binarySpecs(records: readonly CheckedRecord[], probabilities: boolean): MetricSpec[] {
  const y = records.map((r) => r.labels[0]!);
  const s = records.map((r) => r.values[0]!);
  const order = descendingOrder(s);
  const specs: MetricSpec[] = [
    { key: "auroc", name: "AUROC", statistic: (w) => auroc(y, s, { ...opts(w), order }) },
    { key: "auprc", name: "AUPRC", statistic: (w) => auprc(y, s, { ...opts(w), order }) },
    {
      key: "ap",
      name: "Average precision",
      statistic: (w) => averagePrecision(y, s, { ...opts(w), order }),
    },
  ];
  if (probabilities) {
    specs.push(
      { key: "brier", name: "Brier score", statistic: (w) => brierScore(y, s, opts(w)) },
      {
        key: "ece",
        name: "ECE (10 bins)",
        statistic: (w) => expectedCalibrationError(y, s, opts(w)),
      },
    );
  }
  return specs;
}

function multiclassSpecs(task: TaskInfo, records: readonly CheckedRecord[]): MetricSpec[] {
  const t = records.map((r) => r.labels[0]!);
  const p = records.map((r) => argmax(r.values as number[]));
  const specs: MetricSpec[] = [
    { key: "f1_macro", name: "Macro F1", statistic: (w) => f1Score(t, p, opts(w)) },
    {
      key: "f1_micro",
      name: "Micro F1",
      statistic: (w) => f1Score(t, p, { ...opts(w), average: "micro" }),
    },
  ];
  if (task.classNames.length > 0) {
    specs.push(
      {
        key: "kappa_linear",
        name: "Cohen's kappa (linear)",
        statistic: (w) => cohenKappa(t, p, { ...opts(w), weighting: "linear" }),
      },
      { key: "kappa", name: "Cohen's kappa", statistic: (w) => cohenKappa(t, p, opts(w)) },
    );
  }
  return specs;
}

function toNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function evaluateTask(
  task: TaskInfo,
  records: readonly CheckedRecord[],
  options: EvaluateOptions,
  detail: boolean,
): TaskReport {
  const n = records.length;
  const probabilities = records.every((r) => r.probabilities);
  let specs: MetricSpec[];
  let prevalence: number | null = null;
  let classCounts: Record<string, number> | null = null;
  let perLabel: Record<string, number | null> | null = null;
  let reliability: ReliabilityBin[] | null = null;
  let news2: News2Comparison | null = null;
  if (task.kind === "binary") {
    specs = binarySpecs(records, probabilities);
    prevalence = n === 0 ? null : records.reduce((a, r) => a + r.labels[0]!, 0) / n;
    const y = records.map((r) => r.labels[0]!);
    const s = records.map((r) => r.values[0]!);
    if (detail && probabilities) {
      reliability = reliabilityBins(y, s, { bins: options.calibrationBins ?? 10 });
    }
    const withNews2 = records.filter((r) => r.news2 !== undefined);
    if (detail && withNews2.length > 0) {
      news2 = news2Comparison(
        withNews2.map((r) => r.news2!),
        withNews2.map((r) => r.values[0]!),
        withNews2.map((r) => r.labels[0]!),
        {
          ...(options.bootstrap === undefined ? {} : { bootstrap: options.bootstrap }),
          ...(options.news2Thresholds === undefined ? {} : { thresholds: options.news2Thresholds }),
        },
      );
    }
  } else if (task.kind === "multilabel") {
    const prepared = prepareMultilabelAuroc(
      records.map((r) => r.labels),
      records.map((r) => r.values),
    );
    specs = [
      { key: "auroc_macro", name: "Macro AUROC", statistic: (w) => prepared.macro(w) },
      { key: "auroc_micro", name: "Micro AUROC", statistic: (w) => prepared.micro(w) },
    ];
    let known = 0;
    let positive = 0;
    for (const r of records) {
      for (const y of r.labels) {
        if (y !== -1) known++;
        if (y === 1) positive++;
      }
    }
    prevalence = known === 0 ? null : positive / known;
    if (detail) {
      const values = prepared.perLabel();
      perLabel = Object.fromEntries(task.labelColumns.map((name, j) => [name, toNull(values[j]!)]));
    }
  } else {
    specs = multiclassSpecs(task, records);
    classCounts = {};
    for (const r of records) {
      const c = r.labels[0]!;
      const name = task.classNames[c] ?? String(c);
      classCounts[name] = (classCounts[name] ?? 0) + 1;
    }
  }
  const metrics = specs.map((spec): MetricResult => {
    const ci = bootstrapCi(n, spec.statistic, options.bootstrap);
    return {
      key: spec.key,
      name: spec.name,
      value: toNull(ci.value),
      lower: ci.lower,
      upper: ci.upper,
      skipped: ci.skipped,
    };
  });
  return {
    task: task.code,
    title: task.title,
    kind: task.kind,
    n,
    prevalence,
    classCounts,
    probabilities,
    metrics,
    perLabelAuroc: perLabel,
    reliability,
    news2,
  };
}

function byTask(
  records: readonly CheckedRecord[],
  options: EvaluateOptions,
  detail: boolean,
): TaskReport[] {
  const wanted = options.tasks === undefined ? undefined : new Set(options.tasks);
  const out: TaskReport[] = [];
  for (const task of TASKS) {
    if (wanted !== undefined && !wanted.has(task.code)) continue;
    const mine = records.filter((r) => r.task.code === task.code);
    if (mine.length > 0) out.push(evaluateTask(task, mine, options, detail));
  }
  return out;
}

/**
 * Evaluates checked records: per-task metrics with intervals, then per-subgroup tables.
 *
 * @example AUROC and subgroups by modality
 * ```ts
 * import { evaluateRecords } from "./evaluate.ts";
 * import { checkRecord } from "./predictions.ts";
 * const records = [
 *   { task: "ihm", labels: 1, probs: 0.9, groups: { modality: "t" } },
 *   { task: "ihm", labels: 0, probs: 0.2, groups: { modality: "t+n" } },
 *   { task: "ihm", labels: 0, probs: 0.4, groups: { modality: "t" } },
 * ].map((r, i) => checkRecord(r, `record ${i}`));
 * const report = evaluateRecords(records, { by: ["modality"], bootstrap: { resamples: 20 } });
 * const ihm = report.tasks[0]!;
 * if (ihm.metrics[0]!.key !== "auroc" || ihm.metrics[0]!.value !== 1) throw new Error();
 * if (report.subgroups[0]!.groups.map((g) => g.value).join() !== "t,t+n") throw new Error();
 * ```
 */
export function evaluateRecords(
  records: readonly CheckedRecord[],
  options: EvaluateOptions = {},
): Omit<EvalReport, "source"> {
  const tasks = byTask(records, options, true);
  const subgroups = (options.by ?? []).map((column): SubgroupTable => {
    const groups = new Map<string, CheckedRecord[]>();
    for (const r of records) {
      const raw = r.groups[column];
      const value = raw === undefined || raw === null ? MISSING_GROUP : String(raw);
      let list = groups.get(value);
      if (list === undefined) groups.set(value, list = []);
      list.push(r);
    }
    const values = [...groups.keys()].sort();
    const reports = values.map((value) => ({
      value,
      n: groups.get(value)!.length,
      tasks: byTask(groups.get(value)!, options, false),
    }));
    return { column, groups: reports, summary: subgroupSummary(tasks, reports, groups) };
  });
  const bootstrap = options.bootstrap ?? {};
  return {
    bootstrap: {
      resamples: bootstrap.resamples ?? 1000,
      seed: bootstrap.seed ?? 0,
      level: bootstrap.level ?? 0.95,
    },
    tasks,
    subgroups,
  };
}

/**
 * Reads and checks every record of a source (failing on the first bad one, named by its
 * position) and evaluates them.
 *
 * @example Length of stay from an in-memory source
 * ```ts
 * import { evaluateSource } from "./evaluate.ts";
 * import { memoryEvalSource } from "./eval_source.ts";
 * const source = memoryEvalSource([
 *   { task: "los", labels: 2, probs: [0, 0, 1, 0, 0, 0, 0, 0, 0, 0] },
 *   { task: "los", labels: 1, probs: [0, 0, 1, 0, 0, 0, 0, 0, 0, 0] },
 * ]);
 * const report = await evaluateSource(source, { bootstrap: { resamples: 10 } });
 * if (report.tasks[0]!.metrics[1]!.value !== 0.5) throw new Error(); // micro F1
 * ```
 */
export async function evaluateSource(
  source: EvalSource,
  options: EvaluateOptions = {},
): Promise<EvalReport> {
  const records: CheckedRecord[] = [];
  for await (const record of source.records()) {
    records.push(checkRecord(record, `${source.description}, prediction ${records.length + 1}`));
  }
  return { source: source.description, ...evaluateRecords(records, options) };
}
